package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baselinehq/baseline/store"
)

// A signature recorded in the store's file before the signatures had a
// file of their own is moved there by the migration that drops the table:
// its replay is still refused, and the store's file no longer holds it.
func TestSignaturesMoveToTheirFile(t *testing.T) {
	if !strings.Contains(store.Migrations[store.SignaturesMoved-1].SQLite, "DROP TABLE IF EXISTS signatures") {
		t.Fatalf("migration %d does not drop the signatures table: %q", store.SignaturesMoved, store.Migrations[store.SignaturesMoved-1].SQLite)
	}
	ctx := context.Background()
	dir := t.TempDir()
	old, err := Open(ctx, dir, Options{SchemaVersion: store.SignaturesMoved - 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Millisecond)
	u := store.SignatureUse{Signature: "recorded-before", Action: "DescribeComplianceAssetList", At: now, Until: now.Add(5 * time.Minute)}
	if _, err := old.db.ExecContext(ctx, `INSERT INTO signatures(signature, action, used_at, expires_at) VALUES (?, ?, ?, ?)`,
		u.Signature, u.Action, u.At.UnixMilli(), u.Until.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	again := u
	again.At = now.Add(time.Second)
	first, seen, err := db.UseSignature(ctx, again)
	if err != nil || !seen || first.Signature != u.Signature || !first.At.Equal(u.At) {
		t.Errorf("the replay after the move: first use %+v, seen %v, %v; want the recorded use, seen", first, seen, err)
	}
	var n int
	err = db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'signatures'`).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("the store's file still has a signatures table (%d, %v)", n, err)
	}
	// A second process on the same store sees the signatures file too.
	other, err := sql.Open("sqlite", "file:"+SignaturesPath(filepath.Join(dir, FileName)))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.QueryRowContext(ctx, `SELECT COUNT(*) FROM signatures WHERE signature = ?`, u.Signature).Scan(&n); err != nil || n != 1 {
		t.Errorf("signatures file: %d rows of %q, %v", n, u.Signature, err)
	}
}

// Stores that use a new signatures' file for the first time at the same
// moment (two daemons' first requests) all record their signatures: the
// one whose connection finds the file being set up by another waits for
// it, instead of failing the use (which the replay guard would then keep
// in its memory only, accepting a replay through the other daemon). Of
// one signature used through each of them, exactly one use is the first.
func TestSignaturesFileCreatedConcurrently(t *testing.T) {
	ctx := context.Background()
	const stores, rounds = 4, 40
	now := time.Now().Truncate(time.Millisecond)
	for round := range rounds {
		dir := t.TempDir()
		dbs := make([]*DB, stores)
		for i := range dbs {
			db, err := Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			dbs[i] = db
		}
		var wg sync.WaitGroup
		var firsts atomic.Int32
		errs := make(chan error, stores)
		start := make(chan struct{})
		for _, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				u := store.SignatureUse{Signature: "shared", Action: "CreateComplianceTask", At: now, Until: now.Add(5 * time.Minute)}
				_, seen, err := db.UseSignature(ctx, u)
				if err != nil {
					errs <- err
					return
				}
				if !seen {
					firsts.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: a store's first use of the signatures' file failed: %v", round, err)
		}
		if n := firsts.Load(); n != 1 {
			t.Errorf("round %d: %d of %d stores recorded the signature as its first use, want 1", round, n, stores)
		}
		if t.Failed() {
			return
		}
	}
}
