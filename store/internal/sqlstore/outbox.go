package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// StoreID is the database's random id, made by the migration that added
// it: every process sharing the database has the same one.
func (s *Store) StoreID(ctx context.Context) (string, error) {
	var id string
	err := s.DB.QueryRow(ctx, "SELECT value FROM meta WHERE name = 'store_id'").Scan(&id)
	return id, err
}

// EnqueueOutbox appends e to the outbox, dropping the oldest entries when
// it holds limit already.
func (s *Store) EnqueueOutbox(ctx context.Context, e store.OutboxEntry, limit int) ([]store.OutboxEntry, error) {
	if e.Key == "" || len(e.Payload) == 0 {
		return nil, fmt.Errorf("%w: an outbox entry needs its idempotency key and its payload", store.ErrInvalidParameter)
	}
	if e.EnqueuedAt.IsZero() {
		e.EnqueuedAt = s.Now()
	}
	var dropped []store.OutboxEntry
	err := s.Tx(ctx, func(c Conn) error {
		if limit > 0 {
			var err error
			if dropped, err = s.dropOldest(ctx, c, limit-1); err != nil {
				return err
			}
		}
		_, err := c.Exec(ctx, `INSERT INTO outbox(task_id, upload_key, payload, enqueued_at, attempts, last_error, next_attempt)
			VALUES (?,?,?,?,?,?,?)`, e.TaskID, e.Key, e.Payload, Unix(e.EnqueuedAt), e.Attempts, e.LastError, Unix(e.NextAttempt))
		return err
	})
	if err != nil {
		return nil, err
	}
	return dropped, nil
}

// dropOldest removes the oldest entries beyond keep, counting them as
// dropped, and returns them (without their payloads).
func (s *Store) dropOldest(ctx context.Context, c Conn, keep int) ([]store.OutboxEntry, error) {
	out, err := List(ctx, c, scanOutbox, `SELECT `+outboxColumns+` FROM outbox ORDER BY id DESC `+s.Dialect.Offset, keep)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Payload = nil
		if err := deleteOutbox(ctx, c, out[i].ID, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const outboxColumns = "id, task_id, upload_key, payload, enqueued_at, attempts, last_error, next_attempt"

func scanOutbox(row Scanner) (store.OutboxEntry, error) {
	var e store.OutboxEntry
	var enq, next int64
	err := row.Scan(&e.ID, &e.TaskID, &e.Key, &e.Payload, &enq, &e.Attempts, &e.LastError, &next)
	e.EnqueuedAt, e.NextAttempt = FromUnix(enq), FromUnix(next)
	return e, err
}

// OutboxHead returns the oldest entry.
func (s *Store) OutboxHead(ctx context.Context) (store.OutboxEntry, bool, error) {
	e, err := scanOutbox(s.DB.QueryRow(ctx, "SELECT "+outboxColumns+" FROM outbox ORDER BY id LIMIT 1"))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.OutboxEntry{}, false, nil
	case err != nil:
		return store.OutboxEntry{}, false, err
	}
	return e, true, nil
}

// AckOutbox removes an acknowledged entry.
func (s *Store) AckOutbox(ctx context.Context, id int64) error {
	return s.Tx(ctx, func(c Conn) error { return deleteOutbox(ctx, c, id, false) })
}

// DropOutbox removes an entry that will never be sent, counting it.
func (s *Store) DropOutbox(ctx context.Context, id int64) error {
	return s.Tx(ctx, func(c Conn) error { return deleteOutbox(ctx, c, id, true) })
}

// deleteOutbox removes an entry; a dropped one is counted.
func deleteOutbox(ctx context.Context, c Conn, id int64, dropped bool) error {
	n, err := c.Exec(ctx, "DELETE FROM outbox WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: outbox entry %d", store.ErrNotFound, id)
	}
	if !dropped {
		return nil
	}
	_, err = c.Exec(ctx, "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE name = 'outbox_dropped'")
	return err
}

// RetryOutbox records a failed attempt of an entry.
func (s *Store) RetryOutbox(ctx context.Context, id int64, reason string, next time.Time) error {
	n, err := s.DB.Exec(ctx, "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? WHERE id = ?",
		reason, Unix(next), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: outbox entry %d", store.ErrNotFound, id)
	}
	return nil
}

// OutboxStats counts the waiting entries and the dropped ones.
func (s *Store) OutboxStats(ctx context.Context) (store.OutboxStats, error) {
	var st store.OutboxStats
	var oldest int64
	var dropped string
	err := s.DB.QueryRow(ctx, `SELECT COUNT(*), COALESCE(MIN(enqueued_at), 0),
		(SELECT value FROM meta WHERE name = 'outbox_dropped') FROM outbox`).Scan(&st.Depth, &oldest, &dropped)
	if err != nil {
		return st, err
	}
	st.Oldest = FromUnix(oldest)
	st.Dropped, err = strconv.ParseInt(dropped, 10, 64)
	return st, err
}

// ApplyUpload stores an uploaded task's results and records its
// idempotency key applied, in one transaction (under the write lock, so
// that two processes given the same upload record it once); complete
// stores the results inside it.
func (s *Store) ApplyUpload(ctx context.Context, taskID int64, rep *results.Report, node, key string,
	complete func(context.Context, Conn) error) error {
	if node == "" || key == "" {
		return fmt.Errorf("%w: an applied upload is recorded by its node and its idempotency key", store.ErrInvalidParameter)
	}
	if err := CheckReportIDs(rep); err != nil {
		return err
	}
	if err := s.Lapse(ctx); err != nil {
		return err
	}
	now := s.Now()
	return s.Tx(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, "DELETE FROM applied_uploads WHERE applied_at < ?", Unix(now.Add(-store.AppliedUploadRetention))); err != nil {
			return err
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT COUNT(*) FROM applied_uploads WHERE node_name = ? AND upload_key = ?", node, key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: node %q, key %q", store.ErrAlreadyApplied, node, key)
		}
		if err := complete(ctx, c); err != nil {
			return err
		}
		_, err := c.Exec(ctx, "INSERT INTO applied_uploads(node_name, upload_key, task_id, result_count, applied_at) VALUES (?,?,?,?,?)",
			node, key, taskID, len(rep.Results), Unix(now))
		return err
	})
}

// AppliedUpload returns the upload recorded under the node's key.
func (s *Store) AppliedUpload(ctx context.Context, node, key string) (store.AppliedUpload, bool, error) {
	u := store.AppliedUpload{Node: node, Key: key}
	var at int64
	err := s.DB.QueryRow(ctx, "SELECT task_id, result_count, applied_at FROM applied_uploads WHERE node_name = ? AND upload_key = ?",
		node, key).Scan(&u.TaskID, &u.ResultCount, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.AppliedUpload{}, false, nil
	case err != nil:
		return store.AppliedUpload{}, false, err
	}
	u.AppliedAt = FromUnix(at)
	return u, true, nil
}
