package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

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
//
// An old task that keeps latest results (a node's last upload, on a
// daemon that fleets upload to) stays past the retention, its results
// all the latest. Only a newer task of its node can take its latest
// results over, so this handle examines such a task again only once a
// newer task of its node has ended (pruneMemo), and every old task at
// least once every pruneSweep tasks: a prune after an upload does the
// work of that node, not of the whole fleet.
func (s *Store) Prune(ctx context.Context, keep int) (int, error) {
	if keep < 1 {
		return 0, fmt.Errorf("%w: keep must be at least 1 (got %d)", store.ErrInvalidParameter, keep)
	}
	// The tasks are chosen once: a task that ends meanwhile must not move
	// another past the retention between the deletes.
	all, err := List(ctx, s.DB, scanTaskNode, `SELECT id, scope, status FROM tasks ORDER BY id DESC`)
	if err != nil {
		return 0, err
	}
	var ended []taskNode
	var running []int64
	for _, t := range all {
		if t.running {
			running = append(running, t.id)
		} else {
			ended = append(ended, t)
		}
	}
	if len(ended) <= keep {
		return 0, nil
	}
	old, seen, swept := s.pruned.candidates(ended, keep, running)
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
	s.pruned.done(seen, swept)
	return deleted, nil
}

// taskNode is a task's id, its scope's node, and whether it runs.
type taskNode struct {
	id      int64
	node    string
	running bool
}

func scanTaskNode(sc Scanner) (taskNode, error) {
	var t taskNode
	var scope string
	var status int
	if err := sc.Scan(&t.id, &scope, &status); err != nil {
		return t, err
	}
	t.running = status == StRunning
	var parsed store.Scope
	_ = json.Unmarshal([]byte(scope), &parsed) // an unreadable scope: no node, examined as any other
	t.node = parsed.Node
	return t, nil
}

// pruneSweep is how many tasks may end between two prunes of every old
// task (a task of another node could have taken over some latest results:
// an asset reported by two nodes).
const pruneSweep = 1024

// pruneMemo remembers, for each old task a prune examined, the newest task
// that could have changed which of its results are the latest then: the
// task need not be examined again until a newer task of its node ends.
type pruneMemo struct {
	mu    sync.Mutex
	asOf  map[int64]int64 // task → the newest task it was examined after
	swept int64           // the newest ended task at the last prune of every old task
}

// candidates returns the old tasks (those of ended past the newest keep,
// newest first) to examine; running are the tasks still running, which
// may end after tasks newer than them. seen and swept are what done
// records once they are pruned. Prunes that overlap each record their
// own view: an older one only makes the next prune examine more.
func (m *pruneMemo) candidates(ended []taskNode, keep int, running []int64) (out []int64, seen map[int64]int64, swept int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// A prune has seen what every task up to mark did: the newest ended
	// task, or the one before the oldest running one.
	mark := ended[0].id
	for _, id := range running {
		mark = min(mark, id-1)
	}
	newest := map[string]int64{}
	for _, t := range ended {
		newest[t.node] = max(newest[t.node], t.id)
	}
	full := m.asOf == nil || mark-m.swept >= pruneSweep
	seen, swept = make(map[int64]int64, len(ended)-keep), m.swept
	if full {
		swept = mark
	}
	for _, t := range ended[keep:] {
		at, ok := m.asOf[t.id]
		if full || !ok || newest[t.node] > at {
			out = append(out, t.id)
			at = mark
		}
		seen[t.id] = at
	}
	return out, seen, swept
}

// done records what a prune examined, once it has pruned it all.
func (m *pruneMemo) done(seen map[int64]int64, swept int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asOf, m.swept = seen, swept
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
	// A latest result is always one of its task's results, which the
	// first delete keeps: a task whose results are all gone is named by
	// no latest result (a search of the results' key, not of every latest
	// row for each task).
	n, err := s.DB.Exec(ctx, `DELETE FROM tasks WHERE id IN `+in+` AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_id = tasks.id)`, ids...)
	return int(n), err
}
