package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/baselinehq/baseline/store"
)

// List reads every row of a query with scan (nil for none).
func List[T any](ctx context.Context, c Conn, scan func(Scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Each reads every row of a query with scan.
func Each(ctx context.Context, c Conn, scan func(Scanner) error, q string, args ...any) error {
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// One is the single row of a list, or store.ErrNotFound naming what.
func One[T any](list []T, err error, what string) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if len(list) == 0 {
		return zero, fmt.Errorf("%w: %s", store.ErrNotFound, what)
	}
	return list[0], nil
}

func scanString(sc Scanner) (string, error) {
	var v string
	err := sc.Scan(&v)
	return v, err
}

// TaskSelect selects the columns ScanTask reads.
const TaskSelect = "SELECT " + TaskColumns + " FROM tasks"

// SetStandardEnabled switches a standard on or off.
func (s *Store) SetStandardEnabled(ctx context.Context, id string, enabled bool) error {
	n, err := s.DB.Exec(ctx, "UPDATE standards SET enabled = ? WHERE id = ?", enabled, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: standard %q", store.ErrNotFound, id)
	}
	return nil
}

// DisabledStandards lists the standards switched off.
func (s *Store) DisabledStandards(ctx context.Context) ([]string, error) {
	return List(ctx, s.DB, scanString, "SELECT id FROM standards WHERE enabled = 0 ORDER BY id")
}

// RunningOverlap refuses, inside c (the transaction that begins a task), a
// scope that overlaps a running task's.
func RunningOverlap(ctx context.Context, c Conn, scope store.Scope) error {
	running, err := List(ctx, c, ScanTask, TaskSelect+" WHERE status = ?", StRunning)
	if err != nil {
		return err
	}
	for _, r := range running {
		if r.Scope.Overlaps(scope) {
			return fmt.Errorf("%w: task %d is already scanning %s (started %s)", store.ErrAlreadyScanning, r.ID, r.Scope, r.StartedAt.Format("2006-01-02 15:04:05"))
		}
	}
	return nil
}

// Progress records a running task's progress.
func (s *Store) Progress(ctx context.Context, taskID int64, pct int) error {
	return s.rowWrite(ctx, func(c Conn) error {
		_, err := c.Exec(ctx, "UPDATE tasks SET progress = ? WHERE id = ? AND status = ?", pct, taskID, StRunning)
		return err
	})
}

// rowWrite runs a write of one row that needs no store-wide lock in a
// transaction of its own: RowTx where the backend has one, else Tx
// (whose transaction, on SQLite, takes the file's write lock when it
// begins, and waits for it, as an implicit one would not always do while
// a task's results are being written).
func (s *Store) rowWrite(ctx context.Context, f func(Conn) error) error {
	if s.RowTx != nil {
		return s.RowTx(ctx, f)
	}
	return s.Tx(ctx, f)
}

// FailTask ends a running task without results: those written for it
// are deleted.
func (s *Store) FailTask(ctx context.Context, taskID int64, reason string) error {
	s.staged.Take(taskID)
	return s.Tx(ctx, func(c Conn) error { return EndRunning(ctx, c, taskID, s.Now(), reason) })
}

// EndRunning marks a running task failed with the reason, inside the
// transaction c, and deletes the results written for it: no reader ever
// saw them, and none will.
func EndRunning(ctx context.Context, c Conn, taskID int64, at time.Time, reason string) error {
	n, err := c.Exec(ctx, "UPDATE tasks SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status = ?",
		StFailed, Unix(at), reason, taskID, StRunning)
	if err != nil || n == 0 {
		return err
	}
	_, err = c.Exec(ctx, "DELETE FROM results WHERE task_id = ?", taskID)
	return err
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, id int64) (store.Task, error) {
	ts, err := List(ctx, s.DB, ScanTask, TaskSelect+" WHERE id = ?", id)
	return One(ts, err, fmt.Sprintf("task %d", id))
}

// Tasks lists tasks, newest first. Filters: Status, Trigger.
func (s *Store) Tasks(ctx context.Context, q store.Query) ([]store.Task, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	w, args, err := s.Dialect.Where(nil, nil, q.Filters, TaskColumnsFilter)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*) FROM tasks"+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	ts, err := List(ctx, s.DB, ScanTask, TaskSelect+w+" ORDER BY id DESC LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	return ts, total, err
}
