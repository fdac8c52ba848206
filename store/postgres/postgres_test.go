package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A new database reaches the current schema version.
func TestOpenMigrates(t *testing.T) {
	db := open(t, pgtest.DSN(t))
	v, err := db.SchemaVersionOf(context.Background())
	if err != nil || v != store.SchemaVersion {
		t.Fatalf("version %d, want %d (%v)", v, store.SchemaVersion, err)
	}
}
