package sqlite

import (
	"context"
	"fmt"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

var (
	_ store.OutboxStore   = (*DB)(nil)
	_ store.HealthChecker = (*DB)(nil)
)

// CompleteUpload stores an uploaded task's results and records its
// idempotency key applied, in one transaction (sqlstore.Store.ApplyUpload),
// then folds the write-ahead log back into the database file.
func (s *DB) CompleteUpload(ctx context.Context, taskID int64, rep *results.Report, node, key string) error {
	if err := s.prepareResults(ctx); err != nil {
		return err
	}
	err := s.ApplyUpload(ctx, taskID, rep, node, key, func(ctx context.Context, c sqlstore.Conn) error {
		return s.completeTask(ctx, txOf(c), c.(sqlConn).conn, taskID, rep)
	})
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// Ready checks that the store answers and that its schema is this
// program's.
func (s *DB) Ready(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if v != store.SchemaVersion {
		return fmt.Errorf("store: schema version %d, this program's is %d", v, store.SchemaVersion)
	}
	return nil
}
