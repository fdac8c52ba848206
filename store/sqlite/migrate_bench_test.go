package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// rawExec runs statements on the SQLite file at path, outside the store.
func rawExec(b *testing.B, path, q string) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		b.Fatalf("%s: %v", q, err)
	}
}

// oldResults makes the results table again as the schema before results
// were appended has it, with the options given after its definition,
// keeping its rows.
func oldResults(options string) string {
	return `CREATE TABLE results_old (
	task_id INTEGER NOT NULL, asset_id INTEGER NOT NULL, item_id INTEGER NOT NULL, status INTEGER NOT NULL,
	result INTEGER NOT NULL, reason TEXT NOT NULL, evidence TEXT NOT NULL, checked_at INTEGER NOT NULL,
	PRIMARY KEY (task_id, asset_id, item_id))` + options + `;
INSERT INTO results_old SELECT task_id, asset_id, item_id, status, result, reason, evidence, checked_at FROM results;
DROP TABLE results;
ALTER TABLE results_old RENAME TO results;`
}

// BenchmarkMigrateFleet opens, with this version, a store written at the
// schema before results were appended (version 10) that holds one full
// fleet task of 1.5 million results: the first start of this version on
// a fleet's store, which appends the results (migration 11) and names the
// latest rows (migration 14). The ingest at the older schema is not
// timed.
func BenchmarkMigrateFleet(b *testing.B) {
	fd := getFleetData(b)
	ctx := context.Background()
	var before, after float64
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		db, err := sqlite.Open(ctx, dir, sqlite.Options{SchemaVersion: store.ResultsAppended - 1})
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(dir, sqlite.FileName)
		// This build's ingest writes the latest rows' names (migration
		// 14) and their results' row ids (migration 15): the columns are
		// there while it writes, and taken away after, with the per-item
		// index as the older schema has it.
		// It also reads the results' row ids, which the older results
		// table, without them, is given while it writes.
		rawExec(b, path, "ALTER TABLE latest ADD COLUMN current_name TEXT; ALTER TABLE latest ADD COLUMN result_row INTEGER")
		rawExec(b, path, oldResults(""))
		if err := ingestFleet(ctx, db, fd); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		rawExec(b, path, "DROP INDEX latest_item; ALTER TABLE latest DROP COLUMN current_name; ALTER TABLE latest DROP COLUMN result_row; CREATE INDEX latest_item ON latest(item_id, result, status, ignored)")
		rawExec(b, path, oldResults(" WITHOUT ROWID")+"VACUUM;") // as the file was, without the pages of the table replaced
		before = fileMB(path)
		b.StartTimer()
		start := time.Now()
		db, err = sqlite.Open(ctx, dir, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		n, err := db.Summary(ctx, nil)
		if err != nil || len(n) == 0 {
			b.Fatalf("summary after the migration: %v, %v", n, err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		after = fileMB(path) + fileMB(path+"-wal")
		b.Logf("migrated %d results from version %d to %d in %s; file %.0f MB before, %.0f MB after",
			len(fd.Report.Results), store.ResultsAppended-1, store.SchemaVersion, took.Round(time.Millisecond), before, after)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/migration")
	b.ReportMetric(before, "MB-before")
	b.ReportMetric(after, "MB-after")
}
