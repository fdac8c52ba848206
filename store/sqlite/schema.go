package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/baselinehq/baseline/store"
)

// rollupColumns aggregates latest rows; the current-asset condition is
// applied when reading, so removed assets keep their history.
const rollupColumns = `
	SUM(status = 2 AND result = 1),
	SUM(status = 2 AND result = 2 AND ignored = 0),
	SUM(status = 2 AND result = 2 AND ignored = 1),
	SUM(status = 2 AND result = 3),
	SUM(status = 2 AND result = 4),
	SUM(status = 3),
	MAX(checked_at)`

// migrateTo applies store.Migrations up to version n, each in its own
// transaction with the version bump (PRAGMA user_version records how many
// ran).
func migrateTo(ctx context.Context, db *sql.DB, sig *signatures, n int) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > store.SchemaVersion {
		return fmt.Errorf("schema version %d is newer than this program knows (%d): upgrade baseline", v, store.SchemaVersion)
	}
	for ; v < n; v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if v+1 == store.ResultsAppended {
			if err := appendResults(ctx, tx); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		if v+1 == store.SignaturesMoved {
			if err := moveSignatures(ctx, tx, sig); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, store.Migrations[v].SQLite); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return nil
}

// appendResults creates results_appended, the results table of migration
// store.ResultsAppended (a row id, rows in the order written), and moves
// the results into it one task at a time, inside the migration's
// transaction: the pages each task's rows leave are reused by the next
// task's, so that the file does not grow by a second copy of them.
func appendResults(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE results_appended (
	task_id    INTEGER NOT NULL,
	asset_id   INTEGER NOT NULL,
	item_id    INTEGER NOT NULL,
	status     INTEGER NOT NULL,
	result     INTEGER NOT NULL,
	checked_at INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	evidence   TEXT NOT NULL
)`); err != nil {
		return err
	}
	tasks, err := uint64s(ctx, tx, "SELECT DISTINCT task_id FROM results ORDER BY task_id")
	if err != nil {
		return err
	}
	for _, id := range tasks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO results_appended(task_id, asset_id, item_id, status, result, checked_at, reason, evidence)
			SELECT task_id, asset_id, item_id, status, result, checked_at, reason, evidence FROM results WHERE task_id = ? ORDER BY asset_id, item_id`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM results WHERE task_id = ?", id); err != nil {
			return err
		}
	}
	return nil
}
