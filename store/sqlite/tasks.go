package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// SyncCatalog records the standards and items; items no longer defined
// are kept (their results are history) but marked inactive. A standard's
// enabled switch, once set in the store, is kept.
func (s *DB) SyncCatalog(ctx context.Context, cat *checks.Catalog) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE items SET active = 0"); err != nil {
			return err
		}
		stdStmt, err := tx.PrepareContext(ctx, `INSERT INTO standards(id, name, version, description, origin, enabled) VALUES (?,?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET name=excluded.name, version=excluded.version, description=excluded.description, origin=excluded.origin`)
		if err != nil {
			return err
		}
		defer stdStmt.Close()
		itemStmt, err := tx.PrepareContext(ctx, `INSERT INTO items(id, base_id, standard_id, name, category, asset_type, risk, automated, scored, description, procedure, remediation, active)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1)
			ON CONFLICT(id) DO UPDATE SET base_id=excluded.base_id, standard_id=excluded.standard_id, name=excluded.name, category=excluded.category,
			asset_type=excluded.asset_type, risk=excluded.risk, automated=excluded.automated, scored=excluded.scored, description=excluded.description,
			procedure=excluded.procedure, remediation=excluded.remediation, active=1`)
		if err != nil {
			return err
		}
		defer itemStmt.Close()
		for _, st := range cat.Standards {
			if _, err := stdStmt.ExecContext(ctx, st.ID, st.Name, st.Version, st.Description, st.Origin, st.Enabled); err != nil {
				return err
			}
			for _, it := range st.Items {
				if _, err := itemStmt.ExecContext(ctx, it.ID, it.Number, st.ID, it.Title, it.Category, string(it.AssetType), string(it.Risk),
					it.Automated, it.Scored, it.Description, it.Procedure, it.Remediation); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// SetStandardEnabled switches a standard on or off.
func (s *DB) SetStandardEnabled(ctx context.Context, id string, enabled bool) error {
	res, err := s.db.ExecContext(ctx, "UPDATE standards SET enabled = ? WHERE id = ?", enabled, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: standard %q", store.ErrNotFound, id)
	}
	return nil
}

// DisabledStandards lists the standards switched off.
func (s *DB) DisabledStandards(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM standards WHERE enabled = 0 ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// BeginTask records a running task unless a running task's scope overlaps.
// The check and the insert share one write transaction, so two processes
// on the same store cannot both start the same scope.
func (s *DB) BeginTask(ctx context.Context, trigger store.Trigger, scope store.Scope) (store.Task, error) {
	if !trigger.Valid() {
		return store.Task{}, fmt.Errorf("%w: trigger %q is not one of %v", store.ErrInvalidParameter, trigger, store.Triggers)
	}
	if _, err := s.RecoverInterrupted(ctx); err != nil {
		return store.Task{}, err
	}
	var t store.Task
	err := s.tx(ctx, func(tx *sql.Tx) error {
		running, err := scanTasks(tx.QueryContext(ctx, taskSelect+" WHERE status = ?", sqlstore.StRunning))
		if err != nil {
			return err
		}
		for _, r := range running {
			if r.Scope.Overlaps(scope) {
				return fmt.Errorf("%w: task %d is already scanning %s (started %s)", store.ErrAlreadyScanning, r.ID, r.Scope, r.StartedAt.Format("2006-01-02 15:04:05"))
			}
		}
		sc, _ := json.Marshal(scope)
		now := s.now()
		res, err := tx.ExecContext(ctx, "INSERT INTO tasks(trigger, scope, status, started_at, pid, host) VALUES (?,?,?,?,?,?)",
			string(trigger), string(sc), sqlstore.StRunning, unix(now), s.pid, s.host)
		if err != nil {
			return err
		}
		id, _ := res.LastInsertId()
		t = store.Task{ID: id, Trigger: trigger, Scope: scope, Status: checks.CheckRunning, StartedAt: now.UTC()}
		return nil
	})
	return t, err
}

// Progress records a running task's progress.
func (s *DB) Progress(ctx context.Context, taskID int64, pct int) error {
	_, err := s.db.ExecContext(ctx, "UPDATE tasks SET progress = ? WHERE id = ? AND status = ?", pct, taskID, sqlstore.StRunning)
	return err
}

// FailTask ends a task without results.
func (s *DB) FailTask(ctx context.Context, taskID int64, reason string) error {
	_, err := s.db.ExecContext(ctx, "UPDATE tasks SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status = ?",
		sqlstore.StFailed, unix(s.now()), reason, taskID, sqlstore.StRunning)
	return err
}

// RecoverInterrupted marks as failed the running tasks whose owner process
// is gone (killed mid-scan): their results never landed, the previous ones
// stand.
func (s *DB) RecoverInterrupted(ctx context.Context) (int, error) {
	running, err := scanTasks(s.db.QueryContext(ctx, taskSelect+" WHERE status = ?", sqlstore.StRunning))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range running {
		var host string
		var pid int
		if err := s.db.QueryRowContext(ctx, "SELECT host, pid FROM tasks WHERE id = ?", t.ID).Scan(&host, &pid); err != nil {
			return n, err
		}
		if s.alive(host, pid) {
			continue
		}
		if _, err := s.db.ExecContext(ctx, "UPDATE tasks SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status = ?",
			sqlstore.StFailed, unix(s.now()), fmt.Sprintf("interrupted: process %d on %s ended before the task finished", pid, host), t.ID, sqlstore.StRunning); err != nil {
			return n, err
		}
		s.log.Warn("marked interrupted task failed", "task", t.ID, "pid", pid)
		n++
	}
	return n, nil
}

const taskSelect = "SELECT " + sqlstore.TaskColumns + " FROM tasks"

func scanTasks(rows *sql.Rows, err error) ([]store.Task, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Task
	for rows.Next() {
		t, err := sqlstore.ScanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Task returns one task.
func (s *DB) Task(ctx context.Context, id int64) (store.Task, error) {
	ts, err := scanTasks(s.db.QueryContext(ctx, taskSelect+" WHERE id = ?", id))
	if err != nil {
		return store.Task{}, err
	}
	if len(ts) == 0 {
		return store.Task{}, fmt.Errorf("%w: task %d", store.ErrNotFound, id)
	}
	return ts[0], nil
}

// Tasks lists tasks, newest first. Filters: Status, Trigger.
func (s *DB) Tasks(ctx context.Context, q store.Query) ([]store.Task, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	w, args, err := where(nil, nil, q.Filters, sqlstore.TaskColumnsFilter)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tasks"+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	ts, err := scanTasks(s.db.QueryContext(ctx, taskSelect+w+" ORDER BY id DESC LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...))
	return ts, total, err
}

var errNoRows = sql.ErrNoRows

func notFound(err error, what string) error {
	if errors.Is(err, errNoRows) {
		return fmt.Errorf("%w: %s", store.ErrNotFound, what)
	}
	return err
}
