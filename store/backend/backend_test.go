package backend_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/store/backend"
	"github.com/baselinehq/baseline/store/postgres"
	"github.com/baselinehq/baseline/store/sqlite"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// No setting opens the SQLite store in the data directory; a PostgreSQL
// URL opens the PostgreSQL store; anything else is refused.
func TestOpenChoosesTheBackend(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	db, err := backend.Open(ctx, "", dir, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, ok := db.(*sqlite.DB); !ok {
		t.Errorf("no setting opened a %T, want the SQLite store", db)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Errorf("the SQLite store is not in the data directory: %v", err)
	}

	dsn := pgtest.DSN(t)
	db, err = backend.Open(ctx, dsn, t.TempDir(), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, ok := db.(*postgres.DB); !ok {
		t.Errorf("a postgres:// setting opened a %T, want the PostgreSQL store", db)
	}

	for _, bad := range []string{"/var/lib/baseline", "sqlite:///x.db", "mysql://root:pw@db/x"} {
		if _, err := backend.Open(ctx, bad, t.TempDir(), backend.Options{}); !errors.Is(err, backend.ErrSetting) || strings.Contains(err.Error(), "pw@") {
			t.Errorf("setting %q: %v, want ErrSetting without the setting", bad, err)
		}
	}
}

// Where the store is, for logs: the URL without its password, or the file.
func TestDescribe(t *testing.T) {
	if got := backend.Describe("postgres://u:secret@db/baseline", "/d"); strings.Contains(got, "secret") || !strings.Contains(got, "u:xxxxx@db") {
		t.Errorf("Describe(URL) = %q", got)
	}
	if got := backend.Describe("", "/var/lib/baseline"); got != "/var/lib/baseline/baseline.db" {
		t.Errorf("Describe(\"\") = %q", got)
	}
}
