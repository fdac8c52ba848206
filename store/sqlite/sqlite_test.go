package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// The store's contract (every role, on every backend) is tested in
// store/storetest; these tests are the SQLite store's own: its files, its
// process-based task recovery, its write-ahead log, its cache bound.

// fixture is a store in a data directory with the test catalog.
type fixture struct {
	*Fixture
	db  *DB
	dir string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	c := NewClock()
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &fixture{Fixture: New(t, db, c), db: db, dir: dir}
}

// A task whose process died is marked failed at the next start, and the
// results before it stand.
func TestInterruptedTaskMarkedFailed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.Standard(t)
	task, err := f.db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	f.db.alive = func(string, int) bool { return false } // its process is gone
	n, err := f.db.RecoverInterrupted(ctx)
	if err != nil || n != 1 {
		t.Fatalf("recovered %d, %v", n, err)
	}
	got, _ := f.db.Task(ctx, task.ID)
	if got.Status != checks.CheckFailed || !strings.Contains(got.Error, "interrupted") {
		t.Errorf("task = %+v", got)
	}
	if s := Summary(t, f.db, assets.Container); s.FailedAssetCount != 1 || s.PassedAssetCount != 1 {
		t.Errorf("previous results lost: %+v", s)
	}
	if err := f.db.CompleteTask(ctx, task.ID, f.BuildReport(map[uint64][]string{CtrA: {P, P, P, M}})); err == nil {
		t.Error("results of an interrupted task were accepted")
	}
}

// Reads are not held up by a write in progress (a fleet-size ingest takes
// seconds): the write-ahead log serves readers the last committed state.
func TestReadsDuringAWrite(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.Standard(t)
	readDone := make(chan error, 1)
	err := f.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE assets SET name = 'renamed' WHERE id = ?", CtrA); err != nil {
			return err
		}
		go func() {
			a, err := f.db.Asset(ctx, CtrA)
			if err == nil && a.Name != "a" {
				err = fmt.Errorf("read saw the uncommitted name %q", a.Name)
			}
			readDone <- err
		}()
		select {
		case err := <-readDone:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("a read waited for the write to finish")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every connection's page cache is the size the options ask for: the
// daemon's default, or a one-shot command's smaller one.
func TestCacheSizePerConnection(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ ask, want int }{{0, DefaultCacheKiB}, {2048, 2048}} {
		db, err := Open(ctx, t.TempDir(), Options{CacheKiB: tc.ask})
		if err != nil {
			t.Fatal(err)
		}
		// Hold connections so that the pool opens several.
		var conns []*sql.Conn
		for range Readers {
			c, err := db.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			var kib int
			if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&kib); err != nil {
				t.Fatal(err)
			}
			if kib != -tc.want {
				t.Errorf("CacheKiB %d: connection %d has cache_size %d, want %d", tc.ask, len(conns), kib, -tc.want)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		db.Close()
	}
}

// Recording an unchanged catalog, as every scan does at its start, writes
// nothing: not a page of the write-ahead log.
func TestUnchangedCatalogWritesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cat := testhost.Builtin(t)
	if err := db.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if err := db.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName+"-wal"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 0 {
		t.Errorf("recording the unchanged catalog wrote %d bytes of log", fi.Size())
	}
}
