package storetest_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the database/sql driver, to build older schemas

	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
	"github.com/baselinehq/baseline/store/sqlite"
	"github.com/baselinehq/baseline/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// place is one new, empty store of a backend.
type place struct {
	// connect opens a handle on the store at schema version v (0: the
	// current one), closed when the test ends.
	connect func(t *testing.T, now func() time.Time, v int) (store.Store, error)
	// exec runs statements on the store's database directly.
	exec func(t *testing.T, sql string)
	// version reads the schema version; setVersion is the statement that
	// sets it (one %d).
	version    func(t *testing.T) int
	setVersion string
	// count counts a table's rows.
	count func(t *testing.T, table string) int
	// query reads a query's rows, each as its columns' values printed.
	query func(t *testing.T, sql string) []string
	// unnameLatest takes a store's latest rows back to before they kept
	// their asset's name (migration 14: no current_name, the per-item
	// index as migration 13 left it; nor, in SQLite, their result's row
	// id, migration 15); nameLatest gives the latest rows of a store from
	// before those migrations the columns that this build's ingest writes.
	unnameLatest, nameLatest string
	// rowResults gives a store from before results were appended
	// (migration 11) a results table with row ids, which this build's
	// ingest reads (migration 15), keeping its rows; unrowResults takes
	// the table back to that migration's older form.
	rowResults, unrowResults string
}

// printRow prints a row's values, given as pointers.
func printRow(vals []any) string {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = *(v.(*any))
	}
	return fmt.Sprint(out...)
}

// pointers are n pointers to values of any type, to scan a row into.
func pointers(n int) []any {
	vals := make([]any, n)
	for i := range vals {
		vals[i] = new(any)
	}
	return vals
}

// open opens a handle on the store at schema version v (0: the current
// one), closed when the test ends.
func (p *place) open(t *testing.T, now func() time.Time, v int) store.Store {
	t.Helper()
	db, err := p.connect(t, now, v)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// backend makes places of one kind of store.
type backend struct {
	name  string
	place func(t *testing.T) *place
}

// backends are every store backend: each contract test runs on each.
var backends = []backend{{"sqlite", sqlitePlace}, {"postgres", postgresPlace}}

func sqlitePlace(t *testing.T) *place {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	raw := func(t *testing.T) *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	return &place{
		connect: func(t *testing.T, now func() time.Time, v int) (store.Store, error) {
			db, err := sqlite.OpenFile(context.Background(), path, sqlite.Options{Now: now, SchemaVersion: v})
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() { db.Close() })
			return db, nil
		},
		exec: func(t *testing.T, q string) {
			db := raw(t)
			defer db.Close()
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		version: func(t *testing.T) int {
			db := raw(t)
			defer db.Close()
			var v int
			if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		},
		setVersion: "PRAGMA user_version = %d",
		unnameLatest: `DROP INDEX latest_item;
ALTER TABLE latest DROP COLUMN current_name;
ALTER TABLE latest DROP COLUMN result_row;
CREATE INDEX latest_item ON latest(item_id, result, status, ignored);`,
		nameLatest:   "ALTER TABLE latest ADD COLUMN current_name TEXT; ALTER TABLE latest ADD COLUMN result_row INTEGER",
		rowResults:   sqliteResults(""),
		unrowResults: sqliteResults(" WITHOUT ROWID"),
		query: func(t *testing.T, q string) []string {
			db := raw(t)
			defer db.Close()
			rows, err := db.Query(q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var out []string
			for rows.Next() {
				vals := pointers(len(cols))
				if err := rows.Scan(vals...); err != nil {
					t.Fatal(err)
				}
				out = append(out, printRow(vals))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		},
		count: func(t *testing.T, table string) int {
			db := raw(t)
			var v int
			if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if table == "signatures" && v >= store.SignaturesMoved {
				// In the signatures' own file since that migration.
				db.Close()
				var err error
				if db, err = sql.Open("sqlite", "file:"+sqlite.SignaturesPath(path)); err != nil {
					t.Fatal(err)
				}
			}
			defer db.Close()
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		},
	}
}

// sqliteResults makes SQLite's results table again as migration 1 wrote
// it, with the options given after its definition, keeping its rows.
func sqliteResults(options string) string {
	return `ALTER TABLE results RENAME TO results_kept;
CREATE TABLE results (
	task_id    INTEGER NOT NULL,
	asset_id   INTEGER NOT NULL,
	item_id    INTEGER NOT NULL,
	status     INTEGER NOT NULL,
	result     INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	evidence   TEXT NOT NULL,
	checked_at INTEGER NOT NULL,
	PRIMARY KEY (task_id, asset_id, item_id)
)` + options + `;
INSERT INTO results SELECT task_id, asset_id, item_id, status, result, reason, evidence, checked_at FROM results_kept;
DROP TABLE results_kept;`
}

func postgresPlace(t *testing.T) *place {
	dsn := pgtest.DSN(t)
	raw := func(t *testing.T) *pgx.Conn {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return &place{
		connect: func(t *testing.T, now func() time.Time, v int) (store.Store, error) {
			db, err := postgres.Open(context.Background(), dsn, postgres.Options{Now: now, SchemaVersion: v})
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() { db.Close() })
			return db, nil
		},
		exec: func(t *testing.T, q string) {
			c := raw(t)
			defer c.Close(context.Background())
			if _, err := c.Exec(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		version: func(t *testing.T) int {
			c := raw(t)
			defer c.Close(context.Background())
			var v int
			if err := c.QueryRow(context.Background(), "SELECT version FROM schema_version").Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		},
		setVersion: "UPDATE schema_version SET version = %d",
		unnameLatest: `DROP INDEX latest_item;
ALTER TABLE latest DROP COLUMN current_name;
CREATE INDEX latest_item ON latest(item_id, result, status, ignored, checked_at) INCLUDE (asset_id, task_id);`,
		nameLatest:   `ALTER TABLE latest ADD COLUMN current_name TEXT COLLATE "C"`,
		rowResults:   "SELECT 1",
		unrowResults: "SELECT 1",
		query: func(t *testing.T, q string) []string {
			c := raw(t)
			defer c.Close(context.Background())
			rows, err := c.Query(context.Background(), q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprint(vals...))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		},
		count: func(t *testing.T, table string) int {
			c := raw(t)
			defer c.Close(context.Background())
			var n int
			if err := c.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		},
	}
}

// fixture is a contract test's store with the test catalog, and its place.
type fixture struct {
	*storetest.Fixture
	place *place
}

// reopen opens another handle on the fixture's store.
func (f *fixture) reopen(t *testing.T) store.Store { return f.place.open(t, f.Clock.Now, 0) }

// each runs a contract test on every backend, each on a store of its own.
func each(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			p := b.place(t)
			c := storetest.NewClock()
			f := &fixture{Fixture: storetest.New(t, p.open(t, c.Now, 0), c), place: p}
			test(t, f)
		})
	}
}

// eachPlace runs a test on an empty place of every backend.
func eachPlace(t *testing.T, test func(t *testing.T, p *place)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.place(t)) })
	}
}
