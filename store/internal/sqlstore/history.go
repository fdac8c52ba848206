package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
)

func scanInt64(sc Scanner) (int64, error) {
	var v int64
	err := sc.Scan(&v)
	return v, err
}

// Diff compares the results two finished tasks share, plus the pairs new
// in the later one: newly failed (failed now, not before) and fixed
// (failed before, passed now). With from and to zero, the last two
// finished tasks are compared.
func (s *Store) Diff(ctx context.Context, from, to int64) (store.Diff, error) {
	if from == 0 && to == 0 {
		last, err := List(ctx, s.DB, scanInt64, "SELECT id FROM tasks WHERE status = ? ORDER BY id DESC LIMIT 2", StFinished)
		if err != nil {
			return store.Diff{}, err
		}
		if len(last) < 2 {
			return store.Diff{}, fmt.Errorf("%w: a diff needs two finished tasks, the store has %d", store.ErrNotFound, len(last))
		}
		from, to = last[1], last[0]
	}
	for _, id := range []int64{from, to} {
		t, err := s.Task(ctx, id)
		if err != nil {
			return store.Diff{}, err
		}
		if t.Status != checks.CheckFinished {
			return store.Diff{}, fmt.Errorf("%w: task %d is %s, not finished", store.ErrInvalidParameter, id, t.Status)
		}
	}
	d := store.Diff{From: from, To: to, NewlyFailed: []store.Change{}, Fixed: []store.Change{}}
	rows, err := s.DB.Query(ctx, `SELECT b.item_id, i.base_id, i.name, b.asset_id, a.name, COALESCE(p.result, 0), b.result
		FROM results b JOIN items i ON i.id = b.item_id JOIN assets a ON a.id = b.asset_id
		LEFT JOIN results p ON p.task_id = ? AND p.asset_id = b.asset_id AND p.item_id = b.item_id
		WHERE b.task_id = ? AND ((b.result = ? AND COALESCE(p.result, 0) <> ?) OR (p.result = ? AND b.result = ?))
		ORDER BY a.name, i.standard_id, i.id`, from, to, ResFailed, ResFailed, ResFailed, ResPassed)
	if err != nil {
		return d, err
	}
	defer rows.Close()
	for rows.Next() {
		var c store.Change
		var before, after int
		if err := rows.Scan(&c.ItemID, &c.Number, &c.Name, &c.AssetID, &c.AssetName, &before, &after); err != nil {
			return d, err
		}
		c.Before, c.After = ResultOf(before), ResultOf(after)
		if after == ResFailed {
			d.NewlyFailed = append(d.NewlyFailed, c)
		} else {
			d.Fixed = append(d.Fixed, c)
		}
	}
	return d, rows.Err()
}

// Prune deletes the results of all but the newest keep ended tasks, except
// results that are still the latest of some (item, asset) pair; a task
// whose results are all gone is deleted too. It returns how many tasks
// were deleted.
//
// Each delete runs on its own, not in one transaction: inside a
// transaction SQLite keeps, for a delete of many rows, a statement journal
// of every page it changes in memory (megabytes for a host's task, at
// every scan once the retention is reached); on its own it needs none. A
// process that dies between them leaves an old task with part of its
// results, which the next prune finishes.
func (s *Store) Prune(ctx context.Context, keep int) (int, error) {
	if keep < 1 {
		return 0, fmt.Errorf("%w: keep must be at least 1 (got %d)", store.ErrInvalidParameter, keep)
	}
	// The tasks are chosen once: a task that ends meanwhile must not move
	// another past the retention between the deletes.
	old, err := List(ctx, s.DB, scanInt64, `SELECT id FROM tasks WHERE status <> 1 ORDER BY id DESC `+s.Dialect.Offset, keep)
	if err != nil || len(old) == 0 {
		return 0, err
	}
	deleted := 0
	for len(old) > 0 {
		chunk := old[:min(len(old), 500)]
		old = old[len(chunk):]
		n, err := s.pruneTasks(ctx, chunk)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// pruneTasks deletes the tasks' results that are not the latest, their
// scan failures, and those of the tasks that no latest result names.
func (s *Store) pruneTasks(ctx context.Context, tasks []int64) (int, error) {
	in := "(?" + strings.Repeat(",?", len(tasks)-1) + ")"
	ids := make([]any, len(tasks))
	for i, id := range tasks {
		ids[i] = id
	}
	if _, err := s.DB.Exec(ctx, `DELETE FROM results WHERE task_id IN `+in+` AND NOT EXISTS
		(SELECT 1 FROM latest l WHERE l.task_id = results.task_id AND l.asset_id = results.asset_id AND l.item_id = results.item_id)`, ids...); err != nil {
		return 0, err
	}
	if _, err := s.DB.Exec(ctx, `DELETE FROM task_failures WHERE task_id IN `+in, ids...); err != nil {
		return 0, err
	}
	n, err := s.DB.Exec(ctx, `DELETE FROM tasks WHERE id IN `+in+` AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.task_id = tasks.id)`, ids...)
	return int(n), err
}
