package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

var (
	_ store.OutboxStore   = (*DB)(nil)
	_ store.HealthChecker = (*DB)(nil)
)

// StoreID is the store's random id, made by the migration that added it.
func (s *DB) StoreID(ctx context.Context) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = 'store_id'").Scan(&id)
	return id, err
}

// EnqueueOutbox appends e to the outbox, dropping the oldest entries when
// it holds limit already.
func (s *DB) EnqueueOutbox(ctx context.Context, e store.OutboxEntry, limit int) ([]store.OutboxEntry, error) {
	if e.Key == "" || len(e.Payload) == 0 {
		return nil, fmt.Errorf("%w: an outbox entry needs its idempotency key and its payload", store.ErrInvalidParameter)
	}
	if e.EnqueuedAt.IsZero() {
		e.EnqueuedAt = s.now()
	}
	var dropped []store.OutboxEntry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if limit > 0 {
			var err error
			if dropped, err = dropOldest(ctx, tx, limit-1); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox(task_id, upload_key, payload, enqueued_at, attempts, last_error, next_attempt)
			VALUES (?,?,?,?,?,?,?)`, e.TaskID, e.Key, e.Payload, unix(e.EnqueuedAt), e.Attempts, e.LastError, unix(e.NextAttempt))
		return err
	})
	if err != nil {
		return nil, err
	}
	return dropped, nil
}

// dropOldest removes the oldest entries beyond keep, counting them as
// dropped, and returns them (without their payloads).
func dropOldest(ctx context.Context, tx *sql.Tx, keep int) ([]store.OutboxEntry, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox ORDER BY id DESC LIMIT -1 OFFSET ?`, keep)
	if err != nil {
		return nil, err
	}
	var out []store.OutboxEntry
	for rows.Next() {
		e, err := scanOutbox(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		e.Payload = nil
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, e := range out {
		if err := deleteOutbox(ctx, tx, e.ID, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const outboxColumns = "id, task_id, upload_key, payload, enqueued_at, attempts, last_error, next_attempt"

func scanOutbox(row interface{ Scan(...any) error }) (store.OutboxEntry, error) {
	var e store.OutboxEntry
	var enq, next int64
	err := row.Scan(&e.ID, &e.TaskID, &e.Key, &e.Payload, &enq, &e.Attempts, &e.LastError, &next)
	e.EnqueuedAt, e.NextAttempt = fromUnix(enq), fromUnix(next)
	return e, err
}

// OutboxHead returns the oldest entry.
func (s *DB) OutboxHead(ctx context.Context) (store.OutboxEntry, bool, error) {
	e, err := scanOutbox(s.db.QueryRowContext(ctx, "SELECT "+outboxColumns+" FROM outbox ORDER BY id LIMIT 1"))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.OutboxEntry{}, false, nil
	case err != nil:
		return store.OutboxEntry{}, false, err
	}
	return e, true, nil
}

// AckOutbox removes an acknowledged entry.
func (s *DB) AckOutbox(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return deleteOutbox(ctx, tx, id, false) })
}

// DropOutbox removes an entry that will never be sent, counting it.
func (s *DB) DropOutbox(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return deleteOutbox(ctx, tx, id, true) })
}

// deleteOutbox removes an entry; a dropped one is counted.
func deleteOutbox(ctx context.Context, tx *sql.Tx, id int64, dropped bool) error {
	res, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: outbox entry %d", store.ErrNotFound, id)
	}
	if !dropped {
		return nil
	}
	_, err = tx.ExecContext(ctx, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'outbox_dropped'")
	return err
}

// RetryOutbox records a failed attempt of an entry.
func (s *DB) RetryOutbox(ctx context.Context, id int64, reason string, next time.Time) error {
	res, err := s.db.ExecContext(ctx, "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? WHERE id = ?",
		reason, unix(next), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: outbox entry %d", store.ErrNotFound, id)
	}
	return nil
}

// OutboxStats counts the waiting entries and the dropped ones.
func (s *DB) OutboxStats(ctx context.Context) (store.OutboxStats, error) {
	var st store.OutboxStats
	var oldest int64
	var dropped string
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(enqueued_at), 0),
		(SELECT value FROM meta WHERE name = 'outbox_dropped') FROM outbox`).Scan(&st.Depth, &oldest, &dropped)
	if err != nil {
		return st, err
	}
	st.Oldest = fromUnix(oldest)
	st.Dropped, err = strconv.ParseInt(dropped, 10, 64)
	return st, err
}

// CompleteUpload stores an uploaded task's results and records its
// idempotency key applied, in one transaction.
func (s *DB) CompleteUpload(ctx context.Context, taskID int64, rep *results.Report, node, key string) error {
	if node == "" || key == "" {
		return fmt.Errorf("%w: an applied upload is recorded by its node and its idempotency key", store.ErrInvalidParameter)
	}
	if err := sqlstore.CheckReportIDs(rep); err != nil {
		return err
	}
	if err := s.lapse(ctx); err != nil {
		return err
	}
	now := s.now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM applied_uploads WHERE applied_at < ?", unix(now.Add(-store.AppliedUploadRetention))); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM applied_uploads WHERE node_name = ? AND upload_key = ?", node, key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: node %q, key %q", store.ErrAlreadyApplied, node, key)
		}
		if err := s.completeTask(ctx, tx, taskID, rep); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO applied_uploads(node_name, upload_key, task_id, result_count, applied_at) VALUES (?,?,?,?,?)",
			node, key, taskID, len(rep.Results), unix(now))
		return err
	})
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// AppliedUpload returns the upload recorded under the node's key.
func (s *DB) AppliedUpload(ctx context.Context, node, key string) (store.AppliedUpload, bool, error) {
	u := store.AppliedUpload{Node: node, Key: key}
	var at int64
	err := s.db.QueryRowContext(ctx, "SELECT task_id, result_count, applied_at FROM applied_uploads WHERE node_name = ? AND upload_key = ?",
		node, key).Scan(&u.TaskID, &u.ResultCount, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.AppliedUpload{}, false, nil
	case err != nil:
		return store.AppliedUpload{}, false, err
	}
	u.AppliedAt = fromUnix(at)
	return u, true, nil
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
