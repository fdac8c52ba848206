package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/storetest"
)

// The outbox contract on a fresh SQLite store.
func TestOutboxContract(t *testing.T) {
	f := newFixture(t)
	storetest.Outbox(t, f.db, f.cat)
}

// A store is ready while open with every migration applied, and not
// once closed.
func TestReady(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.db.Ready(ctx); err != nil {
		t.Fatalf("an open store is not ready: %v", err)
	}
	if _, err := f.db.db.ExecContext(ctx, "PRAGMA user_version = 7"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Ready(ctx); err == nil {
		t.Error("a store at an older schema version is ready")
	}
	f.db.Close()
	if err := f.db.Ready(ctx); err == nil {
		t.Error("a closed store is ready")
	}
}

// A store at the previous schema version (7, before the outbox) migrates,
// keeps its data, and gets a store id of its own.
func TestMigrationToOutbox(t *testing.T) {
	ctx := context.Background()
	ids := map[string]bool{}
	for range 2 {
		path := t.TempDir() + "/v7.db"
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if err := migrateTo(ctx, db, 7); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO image_files VALUES ('sha256:1', '{}', 1000, 2000)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		up, err := OpenFile(ctx, path, Options{})
		if err != nil {
			t.Fatalf("migrating from version 7: %v", err)
		}
		var n int
		if err := up.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM image_files").Scan(&n); err != nil || n != 1 {
			t.Errorf("image files after the migration: %d, %v", n, err)
		}
		id, err := up.StoreID(ctx)
		if err != nil || len(id) != 32 {
			t.Errorf("store id after the migration: %q, %v", id, err)
		}
		ids[id] = true
		if err := up.Ready(ctx); err != nil {
			t.Error(err)
		}
		up.Close()
	}
	if len(ids) != 2 {
		t.Errorf("two stores share their id: %v", ids)
	}
}

// BenchmarkOutbox measures a node's outbox: one task written (a 16 KiB
// payload, about a compressed node scan), read as the head and
// acknowledged; and one written into a full outbox of 1,000, which drops
// the oldest.
func BenchmarkOutbox(b *testing.B) {
	payload := make([]byte, 16<<10)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	ctx := context.Background()
	b.Run("EnqueueHeadAck", func(b *testing.B) {
		f := newFixture(b)
		var task int64
		for b.Loop() {
			task++
			if _, err := f.db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000); err != nil {
				b.Fatal(err)
			}
			e, ok, err := f.db.OutboxHead(ctx)
			if err != nil || !ok {
				b.Fatal(err)
			}
			if err := f.db.AckOutbox(ctx, e.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EnqueueIntoAFullOutbox", func(b *testing.B) {
		f := newFixture(b)
		var task int64
		for range 1000 {
			task++
			if _, err := f.db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			task++
			dropped, err := f.db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000)
			if err != nil || len(dropped) != 1 {
				b.Fatal(dropped, err)
			}
		}
	})
}
