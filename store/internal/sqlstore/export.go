package sqlstore

import (
	"context"
	"fmt"
	"github.com/baselinehq/baseline/checks"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// ignoredNow is true for a result row (res) that a current ignore-list
// entry covers.
const ignoredNow = `EXISTS (SELECT 1 FROM whitelist w WHERE w.item_id = res.item_id AND w.lapsed = 0 AND (w.all_assets = 1
	OR EXISTS (SELECT 1 FROM whitelist_assets wa WHERE wa.whitelist_id = w.id AND wa.asset_id = res.asset_id)))`

// ResultRows streams results with their evidence: one task's, or the
// latest of current assets.
func (s *Store) ResultRows(ctx context.Context, q store.ResultQuery, fn func(results.Row) error) error {
	if err := s.Lapse(ctx); err != nil {
		return err
	}
	d := s.Dialect
	var from string
	var conds []string
	var args []any
	if q.TaskID == 0 {
		from = `FROM latest l JOIN results res ON res.task_id = l.task_id AND res.asset_id = l.asset_id AND res.item_id = l.item_id
			JOIN items i ON i.id = l.item_id JOIN assets a ON a.id = l.asset_id`
		conds = append(conds, "a.removed_at = 0")
	} else {
		t, err := s.Task(ctx, q.TaskID)
		if err != nil {
			return err
		}
		if t.Status == checks.CheckRunning {
			return nil // its results so far are not the task's until it completes
		}
		from = `FROM results res JOIN items i ON i.id = res.item_id JOIN assets a ON a.id = res.asset_id`
		conds = append(conds, "res.task_id = ?")
		args = append(args, q.TaskID)
	}
	if q.AssetType != "" {
		conds = append(conds, "a.type = ?")
		args = append(args, string(q.AssetType))
	}
	if len(q.AssetIDs) > 0 {
		conds = append(conds, "a.id "+d.InIDs)
		args = append(args, d.IDs(q.AssetIDs))
	}
	if len(q.ItemIDs) > 0 {
		conds = append(conds, "i.id "+d.InIDs)
		args = append(args, d.IDs(q.ItemIDs))
	}
	order := "a.type, a.name, a.id, i.standard_id, i.id"
	if q.ByItem {
		order = "i.standard_id, i.id, a.name, a.id"
	}
	evidence := "COALESCE(" + fmt.Sprintf(d.JSONText, "res.evidence") + ", '')"
	if q.NoEvidence {
		evidence = "''"
	}
	rows, err := s.DB.Query(ctx, `SELECT i.id, i.base_id, i.name, i.category, i.standard_id, i.risk, a.id, a.name, a.type, a.node_name,
		res.status, res.result, `+ignoredNow+`, res.reason, `+evidence+`, res.checked_at, res.task_id, i.remediation `+
		from+" WHERE "+strings.Join(conds, " AND ")+" ORDER BY "+order, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := ScanRow(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Trend gives the newest finished tasks' outcomes for an asset type,
// oldest first: per task, the assets it checked and those with a failure
// that is not ignored now.
func (s *Store) Trend(ctx context.Context, t assets.Type, n int) ([]store.TrendPoint, error) {
	tasks, err := List(ctx, s.DB, ScanTask, TaskSelect+" WHERE status = ? ORDER BY id DESC LIMIT 200", StFinished)
	if err != nil {
		return nil, err
	}
	return Trend(tasks, t, n, func(id int64) (results.Tally, error) { return s.taskTally(ctx, id, t) })
}

// failedNotIgnored is true for a result row (res) that failed without a
// current ignore-list entry covering it.
const failedNotIgnored = `(res.status = 2 AND res.result = 2 AND NOT ` + ignoredNow + `)`

// taskTally counts one task's assets of a type and those with a failure
// (or a check that could not run) that is not ignored now; for
// Kubernetes, also its items that passed (everywhere judged) and failed
// (somewhere, not ignored).
func (s *Store) taskTally(ctx context.Context, taskID int64, t assets.Type) (results.Tally, error) {
	var c results.Tally
	var failed int
	err := s.DB.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(f), 0) FROM (
		SELECT res.asset_id, MAX(CASE WHEN res.status = 3 OR `+failedNotIgnored+` THEN 1 ELSE 0 END) AS f
		FROM results res JOIN assets a ON a.id = res.asset_id WHERE res.task_id = ? AND a.type = ? GROUP BY res.asset_id) x`,
		taskID, string(t)).Scan(&c.Assets, &failed)
	c.PassedAssets = c.Assets - failed
	if err != nil || t != assets.K8s {
		return c, err
	}
	err = s.DB.QueryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN f = 0 AND p = 1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(f), 0) FROM (
		SELECT res.item_id, MAX(CASE WHEN `+failedNotIgnored+` THEN 1 ELSE 0 END) AS f,
			MAX(CASE WHEN res.status = 2 AND res.result = 1 THEN 1 ELSE 0 END) AS p
		FROM results res JOIN assets a ON a.id = res.asset_id WHERE res.task_id = ? AND a.type = ? GROUP BY res.item_id) x`,
		taskID, string(t)).Scan(&c.PassedItems, &c.FailedItems)
	return c, err
}

// TaskFailures lists a task's scan-failed assets, or the current ones.
func (s *Store) TaskFailures(ctx context.Context, taskID int64) ([]store.ScanFailedAsset, error) {
	if taskID != 0 {
		return List(ctx, s.DB, ScanFailedAsset, `SELECT a.id, a.type, a.name, a.node_name, f.reason, f.suggestion, f.check_time, f.task_id
			FROM task_failures f JOIN assets a ON a.id = f.asset_id WHERE f.task_id = ? ORDER BY a.type, a.name`, taskID)
	}
	return List(ctx, s.DB, ScanFailedAsset, `SELECT a.id, a.type, a.name, a.node_name, f.reason, f.suggestion, f.check_time, f.task_id
		FROM asset_failures f JOIN assets a ON a.id = f.asset_id WHERE a.removed_at = 0 ORDER BY a.type, a.name`)
}
