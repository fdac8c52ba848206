package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
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
