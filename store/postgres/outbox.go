package postgres

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
// idempotency key applied, in one transaction under the write lock
// (sqlstore.Store.ApplyUpload), then refreshes the planner's statistics.
func (s *DB) CompleteUpload(ctx context.Context, taskID int64, rep *results.Report, node, key string) error {
	err := s.ApplyUpload(ctx, taskID, rep, node, key, func(ctx context.Context, c sqlstore.Conn) error {
		return s.completeTask(ctx, c.(conn), taskID, rep)
	})
	if err != nil {
		return err
	}
	return s.analyzeAfter(ctx, taskID)
}

// Ready checks that the database answers and that its schema is this
// program's.
func (s *DB) Ready(ctx context.Context) error {
	v, err := s.SchemaVersionOf(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if v != store.SchemaVersion {
		return fmt.Errorf("store: schema version %d, this program's is %d", v, store.SchemaVersion)
	}
	return nil
}
