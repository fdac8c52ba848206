package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// rollupColumns aggregates latest rows; the current-asset condition is
// applied when reading, so removed assets keep their history.
const rollupColumns = `
	COUNT(*) FILTER (WHERE status = 2 AND result = 1),
	COUNT(*) FILTER (WHERE status = 2 AND result = 2 AND ignored = 0),
	COUNT(*) FILTER (WHERE status = 2 AND result = 2 AND ignored = 1),
	COUNT(*) FILTER (WHERE status = 2 AND result = 3),
	COUNT(*) FILTER (WHERE status = 2 AND result = 4),
	COUNT(*) FILTER (WHERE status = 3),
	MAX(checked_at)`

func loadIgnores(ctx context.Context, c conn) (sqlstore.IgnoreSet, error) {
	ig := sqlstore.NewIgnoreSet()
	rows, err := c.query(ctx, `SELECT w.item_id, w.all_assets = 1, wa.asset_id FROM whitelist w
		LEFT JOIN whitelist_assets wa ON wa.whitelist_id = w.id WHERE w.lapsed = 0`)
	if err != nil {
		return ig, err
	}
	defer rows.Close()
	for rows.Next() {
		var item uint64
		var all bool
		var asset *int64
		if err := rows.Scan(&item, &all, &asset); err != nil {
			return ig, err
		}
		var a uint64
		if asset != nil {
			a = uint64(*asset)
		}
		ig.Add(item, all, a, asset != nil)
	}
	return ig, rows.Err()
}

// CompleteTask stores a finished scan: its assets, the report's results
// (beside those AddResults wrote), every result of the task made the
// latest, scan failures and roll-ups, and marks the task finished, all in
// one transaction. A daemon killed before the commit leaves nothing of it
// visible (the recovery deletes what AddResults wrote).
func (s *DB) CompleteTask(ctx context.Context, taskID int64, rep *results.Report) error {
	if err := sqlstore.CheckReportIDs(rep); err != nil {
		return err
	}
	if err := s.lapse(ctx); err != nil {
		return err
	}
	if err := s.tx(ctx, func(c conn) error { return s.completeTask(ctx, c, taskID, rep) }); err != nil {
		return err
	}
	return s.analyzeAfter(ctx, taskID)
}

// AddResults writes a batch of a running task's results as its assets are
// judged, in a transaction of its own. No reader sees them: they become
// the latest, and the roll-ups count them, when CompleteTask completes the
// task; FailTask, or the recovery of a task whose daemon ended, deletes
// them. Only their keys stay in memory until then.
func (s *DB) AddResults(ctx context.Context, taskID int64, rs []results.Result) error {
	if len(rs) == 0 {
		return nil
	}
	if err := sqlstore.CheckResultIDs(rs); err != nil {
		return err
	}
	keys, err := s.stage(ctx, taskID, rs)
	if err != nil {
		return err
	}
	s.Staged().Add(taskID, keys)
	return nil
}

// stage writes results of a running task in a transaction of its own,
// which does not take the store's write lock (CompleteTask, holding it,
// has the report's results written so, beside its own work): the task's
// row, share-locked, stays running until it commits, so that a task
// ended meanwhile (whose results are deleted) gets none.
func (s *DB) stage(ctx context.Context, taskID int64, rs []results.Result) ([]sqlstore.ResultKey, error) {
	var keys []sqlstore.ResultKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c := conn{tx}
		var status int
		if err := c.queryRow(ctx, "SELECT status FROM tasks WHERE id = ? FOR SHARE", taskID).Scan(&status); err != nil {
			return sqlstore.NotFound(err, fmt.Sprintf("task %d", taskID))
		}
		if status != sqlstore.StRunning {
			return fmt.Errorf("task %d is %s, not running: its results are not stored", taskID, sqlstore.StatusOf(status))
		}
		var err error
		keys, err = insertResults(ctx, c, taskID, rs)
		return err
	})
	return keys, err
}

// writeResults writes results of the task on another connection while
// the caller's makes the latest rows from their keys (the server works on
// both at once), and returns keys with theirs added, and wait, which
// waits until they are written (the task completes only then).
func (s *DB) writeResults(ctx context.Context, taskID int64, rs []results.Result, keys []sqlstore.ResultKey) ([]sqlstore.ResultKey, func() error) {
	written := make(chan error, 1)
	if len(rs) == 0 {
		written <- nil
	} else {
		for i := range rs {
			keys = append(keys, sqlstore.KeyOf(&rs[i]))
		}
		go func() {
			_, err := s.stage(ctx, taskID, rs)
			written <- err
		}()
	}
	var once sync.Once
	var err error
	return keys, func() error {
		once.Do(func() { err = <-written })
		return err
	}
}

// taskKeys takes the keys of the results AddResults wrote for the task:
// from this handle's memory, or read back when another handle wrote them.
func (s *DB) taskKeys(ctx context.Context, c conn, taskID int64) ([]sqlstore.ResultKey, error) {
	if keys, ok := s.Staged().Take(taskID); ok {
		return keys, nil
	}
	return sqlstore.StagedKeys(ctx, c, taskID)
}

// analyzeAfter analyzes the tables a large task changed: enough to
// mislead the planner until autovacuum analyzes them.
func (s *DB) analyzeAfter(ctx context.Context, taskID int64) error {
	var n int
	if err := s.db().queryRow(ctx, "SELECT result_count FROM tasks WHERE id = ?", taskID).Scan(&n); err != nil || n < analyzeRows {
		return nil
	}
	// A large task changes the tables' statistics enough to mislead the
	// planner until autovacuum analyzes them: analyze them now.
	_, err := s.pool.Exec(ctx, "ANALYZE assets, latest, results, asset_rollup, item_rollup, type_rollup, asset_failures")
	return err
}

// analyzeRows is the task size from which an ingest analyzes the tables
// it changed.
const analyzeRows = 100_000

func (s *DB) completeTask(ctx context.Context, c conn, taskID int64, rep *results.Report) error {
	scopeJSON, trigger, err := sqlstore.Running(ctx, c, taskID)
	if err != nil {
		return err
	}
	var scope store.Scope
	_ = json.Unmarshal([]byte(scopeJSON), &scope)
	upload := store.Trigger(trigger) == store.TriggerUpload
	if upload {
		if err := checkUploadNodes(ctx, c, scope.Node, rep); err != nil {
			return err
		}
	}
	now := unix(s.now())
	// Assets found again, and assets gone, change the counts of every item
	// they have latest results of.
	moved, err := collect[int64](ctx, c, "SELECT id FROM assets WHERE removed_at <> 0 AND id = ANY(?)", ids(sqlstore.TouchedAssets(rep)))
	if err != nil {
		return err
	}
	renamed, err := renamedAssets(ctx, c, rep)
	if err != nil {
		return err
	}
	if err := upsertAssets(ctx, c, rep, scope.Node, now); err != nil {
		return err
	}
	if len(renamed) > 0 {
		// Their latest rows take their names (current_name).
		if _, err := c.exec(ctx, "UPDATE latest l SET current_name = a.name FROM assets a WHERE a.id = l.asset_id AND l.asset_id = ANY(?)", renamed); err != nil {
			return err
		}
	}
	var removed []int64
	if scope.Full() {
		if removed, err = markRemoved(ctx, c, rep, upload, scope.Node, now); err != nil {
			return err
		}
	}
	prior := sqlstore.NewPrior(uint64s(moved), uint64s(removed))
	moved = append(moved, removed...)
	ig, err := loadIgnores(ctx, c)
	if err != nil {
		return err
	}
	if prior.Rows, err = latestOf(ctx, c, prior.Assets(rep)); err != nil {
		return err
	}
	keys, err := s.taskKeys(ctx, c, taskID)
	if err != nil {
		return err
	}
	keys, wait := s.writeResults(ctx, taskID, rep.Results, keys)
	defer func() { _ = wait() }()
	if err := makeLatest(ctx, c, taskID, keys, ig); err != nil {
		return err
	}
	items := sqlstore.TouchedItems(rep)
	if len(moved) > 0 {
		more, err := collect[uint64](ctx, c, "SELECT DISTINCT item_id FROM latest WHERE asset_id = ANY(?)", moved)
		if err != nil {
			return err
		}
		items = append(items, more...)
	}
	if err := keepRollups(ctx, c, taskID, rep, keys, ig, items, prior); err != nil {
		return err
	}
	if err := recordFailures(ctx, c, taskID, rep); err != nil {
		return err
	}
	_, types := sqlstore.Removal(rep)
	if err := rebuildTypeRollups(ctx, c, sqlstore.CountedAssets(rep), types); err != nil {
		return err
	}
	if err := wait(); err != nil {
		return err
	}
	_, err = c.exec(ctx, "UPDATE tasks SET status = ?, progress = 100, started_at = ?, finished_at = ?, result_count = ? WHERE id = ?",
		sqlstore.StFinished, unix(rep.StartedAt), unix(rep.FinishedAt), len(keys), taskID)
	return err
}

// upsertAssets records the report's assets as last recorded for node (the
// task's scope's NodeName).
func upsertAssets(ctx context.Context, c conn, rep *results.Report, node string, now int64) error {
	hostIP := sqlstore.HostIP(rep)
	b := &pgx.Batch{}
	q := rebind(`INSERT INTO assets(id, type, name, ref, node_name, host_ip, details, first_seen, last_seen, scope_node) VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET name=excluded.name, ref=excluded.ref, node_name=excluded.node_name, host_ip=excluded.host_ip,
		details=excluded.details, last_seen=excluded.last_seen, removed_at=0, scope_node=excluded.scope_node`)
	for _, a := range rep.Assets {
		details, err := json.Marshal(a)
		if err != nil {
			return err
		}
		b.Queue(q, storable([]any{a.ID, string(a.Type), a.Name, a.Ref, a.NodeName, hostIP, cleanJSON(string(details)), now, now, node})...)
	}
	return c.q.(pgx.Tx).SendBatch(ctx, b).Close()
}

// renamedAssets gives the report's assets already stored that it names
// otherwise, or that were removed.
func renamedAssets(ctx context.Context, c conn, rep *results.Report) ([]int64, error) {
	names := make(map[int64]string, len(rep.Assets))
	for _, a := range rep.Assets {
		names[int64(a.ID)] = cleanText(a.Name) // as stored
	}
	rows, err := c.query(ctx, "SELECT id, name, removed_at FROM assets WHERE id = ANY(?)", ids(sqlstore.TouchedAssets(rep)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var renamed []int64
	for rows.Next() {
		var id, removed int64
		var name string
		if err := rows.Scan(&id, &name, &removed); err != nil {
			return nil, err
		}
		if to, ok := names[id]; ok && (to != name || removed != 0) {
			renamed = append(renamed, id)
		}
	}
	return renamed, rows.Err()
}

// markRemoved marks as removed the assets of the scanned types on this
// node that a full scan no longer found (a deleted container or image),
// and returns their ids. An upload (upload true) removes only assets last
// recorded for its own scope's node (or before nodes were kept), whatever
// host it names.
func markRemoved(ctx context.Context, c conn, rep *results.Report, upload bool, scopeNode string, now int64) ([]int64, error) {
	node, types := sqlstore.Removal(rep)
	if node == "" {
		return nil, nil
	}
	seen := ids(sqlstore.TouchedAssets(rep))
	owner, args := "", []any{}
	if upload {
		owner, args = " AND scope_node IN ('', ?)", []any{scopeNode}
	}
	var removed []int64
	for _, t := range types {
		got, err := collect[int64](ctx, c, `UPDATE assets SET removed_at = ? WHERE type = ? AND node_name = ? AND removed_at = 0
			AND id <> ALL(?)`+owner+" RETURNING id", append([]any{now, string(t), node, seen}, args...)...)
		if err != nil {
			return nil, err
		}
		removed = append(removed, got...)
	}
	if len(removed) > 0 {
		// A removed asset's results are no item's affected assets.
		if _, err := c.exec(ctx, "UPDATE latest SET current_name = NULL WHERE asset_id = ANY(?)", removed); err != nil {
			return nil, err
		}
	}
	return removed, nil
}

// collect reads a query's single column.
func collect[T any](ctx context.Context, c conn, sql string, args ...any) ([]T, error) {
	rows, err := c.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[T])
}

// resultRows feeds results of a task to COPY in key order, one row at a
// time, and keeps their keys.
func resultRows(taskID int64, rs []results.Result, keys *[]sqlstore.ResultKey) pgx.CopyFromSource {
	order := sqlstore.SortResults(rs)
	next := 0
	// COPY encodes each row before it asks for the next: one evidence
	// buffer serves every row.
	var buf []byte
	return pgx.CopyFromFunc(func() ([]any, error) {
		if next == len(order) {
			return nil, nil
		}
		r := &rs[order[next]]
		next++
		key := sqlstore.KeyOf(r)
		*keys = append(*keys, key)
		var evidence any
		if len(r.Evidence) > 0 {
			buf = sqlstore.AppendEvidence(buf[:0], r.Evidence)
			evidence = cleanJSONBytes(buf)
		}
		return []any{taskID, int64(r.AssetID), int64(r.ItemID), int16(key.Status), int16(key.Result),
			cleanText(r.Reason), evidence, key.CheckedAt}, nil
	})
}

// cleanJSONBytes is cleanJSON for a document being encoded.
func cleanJSONBytes(doc []byte) []byte {
	if !bytes.Contains(doc, []byte(`\u0000`)) {
		return doc
	}
	return []byte(cleanJSON(string(doc)))
}

// ignoredExpr is 1 for a latest row ignored by an active entry, else 0.
const ignoredExpr = `(CASE WHEN EXISTS (SELECT 1 FROM whitelist w WHERE w.item_id = latest.item_id AND w.lapsed = 0 AND w.all_assets = 1)
	OR EXISTS (SELECT 1 FROM whitelist w JOIN whitelist_assets wa ON wa.whitelist_id = w.id
		WHERE w.item_id = latest.item_id AND w.lapsed = 0 AND wa.asset_id = latest.asset_id) THEN 1 ELSE 0 END)`

// insertResults copies results of the task in and returns their keys.
func insertResults(ctx context.Context, c conn, taskID int64, rs []results.Result) ([]sqlstore.ResultKey, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	keys := make([]sqlstore.ResultKey, 0, len(rs))
	_, err := c.q.(pgx.Tx).CopyFrom(ctx, pgx.Identifier{"results"},
		[]string{"task_id", "asset_id", "item_id", "status", "result", "reason", "evidence", "checked_at"}, resultRows(taskID, rs, &keys))
	return keys, err
}

// makeLatest makes the task's results the latest of their (item, asset)
// pairs, copied in from their keys (with the ignored flag of the active
// ignore list, and the name of their asset while it is current): straight
// into the table when none of their assets has latest rows yet, else
// through a temporary table, upserted in one statement.
func makeLatest(ctx context.Context, c conn, taskID int64, keys []sqlstore.ResultKey, ig sqlstore.IgnoreSet) (err error) {
	fresh, err := noLatestOf(ctx, c, keys)
	if err != nil {
		return err
	}
	// In key order, the rows append to the primary key's index.
	slices.SortFunc(keys, sqlstore.ResultKey.Compare)
	names, err := currentNames(ctx, c, keys)
	if err != nil {
		return err
	}
	tx := c.q.(pgx.Tx)
	cols := []string{"asset_id", "item_id", "task_id", "status", "result", "ignored", "checked_at", "current_name"}
	table := "latest"
	if !fresh {
		table = "task_latest"
		if _, err := c.exec(ctx, `CREATE TEMP TABLE task_latest (asset_id BIGINT, item_id BIGINT, task_id BIGINT, status SMALLINT,
			result SMALLINT, ignored SMALLINT, checked_at BIGINT, current_name TEXT) ON COMMIT DROP`); err != nil {
			return err
		}
	}
	if fresh && len(keys) >= bulkIndexRows {
		// Building the latest rows' secondary indexes once, sorted, beats
		// maintaining them row by row; readers of the latest rows wait
		// for this transaction meanwhile (a fleet's first task).
		if _, err := c.exec(ctx, "DROP INDEX latest_item; DROP INDEX latest_task"); err != nil {
			return err
		}
		defer func() {
			if err == nil {
				err = rebuildLatestIndexes(ctx, c)
			}
		}()
	}
	next := 0
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if next == len(keys) {
			return nil, nil
		}
		k := &keys[next]
		next++
		var ignored int16
		if ig.Ignored(k.Item, k.Asset) {
			ignored = 1
		}
		return []any{int64(k.Asset), int64(k.Item), taskID, int16(k.Status), int16(k.Result), ignored, k.CheckedAt, names[k.Asset]}, nil
	})); err != nil {
		return err
	}
	if fresh {
		return nil
	}
	_, err = c.exec(ctx, `INSERT INTO latest(asset_id, item_id, task_id, status, result, ignored, checked_at, current_name)
		SELECT asset_id, item_id, task_id, status, result, ignored, checked_at, current_name FROM task_latest ORDER BY asset_id, item_id
		ON CONFLICT(asset_id, item_id) DO UPDATE SET task_id = excluded.task_id, status = excluded.status, result = excluded.result,
		ignored = excluded.ignored, checked_at = excluded.checked_at, current_name = excluded.current_name`)
	return err
}

// currentNames reads the names of the keys' current assets (nil for an
// asset removed or unknown: NULL).
func currentNames(ctx context.Context, c conn, keys []sqlstore.ResultKey) (map[uint64]any, error) {
	var list []uint64
	for i := range keys {
		if i == 0 || keys[i].Asset != keys[i-1].Asset {
			list = append(list, keys[i].Asset)
		}
	}
	rows, err := c.query(ctx, "SELECT id, name FROM assets WHERE removed_at = 0 AND id = ANY(?)", ids(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := make(map[uint64]any, len(list))
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		names[uint64(id)] = name
	}
	return names, rows.Err()
}

// bulkIndexRows is the task size from which a first ingest of its assets
// builds the latest rows' secondary indexes anew.
var bulkIndexRows = 100_000

// rebuildLatestIndexes builds the latest rows' secondary indexes (as the
// migrations leave them).
func rebuildLatestIndexes(ctx context.Context, c conn) error {
	for _, q := range []string{
		"SET LOCAL maintenance_work_mem = '256MB'",
		"CREATE INDEX latest_item ON latest(item_id, result, current_name, asset_id) INCLUDE (status, ignored, checked_at, task_id)",
		"CREATE INDEX latest_task ON latest(task_id)",
	} {
		if _, err := c.exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// noLatestOf reports whether no asset that the report's results name has
// latest results yet (its first task, or a new fleet's).
func noLatestOf(ctx context.Context, c conn, keys []sqlstore.ResultKey) (bool, error) {
	seen := map[uint64]bool{}
	var list []uint64
	for i := range keys {
		if a := keys[i].Asset; !seen[a] {
			seen[a] = true
			list = append(list, a)
		}
	}
	var some bool
	err := c.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM latest WHERE asset_id = ANY(?))", ids(list)).Scan(&some)
	return !some, err
}

// recordFailures keeps the task's scan failures, and per asset the latest:
// an asset whose latest checks all ran is no longer scan-failed. It runs
// after the roll-ups are rebuilt.
func recordFailures(ctx context.Context, c conn, taskID int64, rep *results.Report) error {
	failed := map[uint64]bool{}
	for _, f := range rep.Failures {
		failed[f.AssetID] = true
		if _, err := c.exec(ctx, `INSERT INTO task_failures(task_id, asset_id, reason, suggestion, check_time) VALUES (?,?,?,?,?)
			ON CONFLICT(task_id, asset_id) DO UPDATE SET reason = excluded.reason, suggestion = excluded.suggestion, check_time = excluded.check_time`,
			taskID, f.AssetID, f.Reason, f.Suggestion, unix(f.CheckTime)); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO asset_failures(asset_id, task_id, reason, suggestion, check_time) VALUES (?,?,?,?,?)
			ON CONFLICT(asset_id) DO UPDATE SET task_id = excluded.task_id, reason = excluded.reason, suggestion = excluded.suggestion, check_time = excluded.check_time`,
			f.AssetID, taskID, f.Reason, f.Suggestion, unix(f.CheckTime)); err != nil {
			return err
		}
	}
	var ok []uint64
	for _, a := range rep.Assets {
		if !failed[a.ID] {
			ok = append(ok, a.ID)
		}
	}
	// An asset stays scan-failed while some latest check on it could not be
	// carried out (a partial recheck does not clear an older failure).
	_, err := c.exec(ctx, `DELETE FROM asset_failures WHERE asset_id = ANY(?)
		AND asset_id NOT IN (SELECT asset_id FROM asset_rollup WHERE check_failed > 0)`, ids(ok))
	return err
}

// uint64s converts ids read as int64.
func uint64s(list []int64) []uint64 {
	out := make([]uint64, len(list))
	for i, v := range list {
		out[i] = uint64(v)
	}
	return out
}

// latestOf reads the latest rows of the assets, before an ingest
// replaces some of them.
func latestOf(ctx context.Context, c conn, assetIDs []uint64) ([]sqlstore.LatestRow, error) {
	rows, err := c.query(ctx, "SELECT asset_id, item_id, status, result, ignored, checked_at FROM latest WHERE asset_id = ANY(?)", ids(assetIDs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqlstore.LatestRow
	for rows.Next() {
		var asset, item, at int64
		var status, result, ignored int16
		if err := rows.Scan(&asset, &item, &status, &result, &ignored, &at); err != nil {
			return nil, err
		}
		out = append(out, sqlstore.LatestRow{Asset: uint64(asset), Item: uint64(item), Status: int(status), Result: int(result), Ignored: ignored != 0, CheckedAt: at})
	}
	return out, rows.Err()
}

// keepRollups brings the roll-ups of the report's assets and of the items
// given up to date after its results became the latest. An asset's: the
// report's results counted in Go, plus, from the table, its latest rows of
// other tasks that the report did not replace. An item's: its stored
// roll-up changed by the rows the report replaces or removes and those it
// adds (sqlstore.ItemChanges), without reading the other assets' rows.
func keepRollups(ctx context.Context, c conn, taskID int64, rep *results.Report, keys []sqlstore.ResultKey, ig sqlstore.IgnoreSet,
	itemIDs []uint64, prior sqlstore.Prior) error {
	perAsset, perItem, ok := sqlstore.ReportTallies(rep, keys, ig)
	if !ok {
		return rebuildRollups(ctx, c, sqlstore.TouchedAssets(rep), itemIDs)
	}
	as := ids(sqlstore.TouchedAssets(rep))
	// Reading the rows of other tasks costs a pass over the table even
	// when there are none (task_id <> ? has no index range): ask the
	// per-task index first.
	var others bool
	if err := c.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM latest WHERE task_id < ?) OR EXISTS (SELECT 1 FROM latest WHERE task_id > ?)",
		taskID, taskID).Scan(&others); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	if others {
		if err := addOthers(ctx, c, perAsset, "SELECT asset_id,"+rollupColumns+
			", COUNT(*) FROM latest WHERE asset_id = ANY(?) AND task_id <> ? GROUP BY asset_id", as, taskID); err != nil {
			return err
		}
	}
	if err := writeRollups(ctx, c, "asset_rollup", "asset_id", as, perAsset); err != nil {
		return err
	}
	return changeItemRollups(ctx, c, sqlstore.ItemChanges(keys, perItem, prior))
}

// changeItemRollups applies the changes to the stored item roll-ups, and
// recomputes from the latest results those of the items whose stored
// roll-up does not tell the new one.
func changeItemRollups(ctx context.Context, c conn, changes map[uint64]*sqlstore.ItemChange) error {
	is := make([]int64, 0, len(changes))
	for id := range changes {
		is = append(is, int64(id))
	}
	stored := make(map[uint64]*sqlstore.Tally, len(changes))
	rows, err := c.query(ctx, "SELECT item_id, passed, failed, ignored, manual, na, check_failed, last_check FROM item_rollup WHERE item_id = ANY(?)", is)
	if err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	for rows.Next() {
		var id int64
		var t sqlstore.Tally
		if err := rows.Scan(&id, &t.Passed, &t.Failed, &t.Ignored, &t.Manual, &t.NA, &t.CheckFailed, &t.LastCheck); err != nil {
			rows.Close()
			return fmt.Errorf("roll-ups: %w", err)
		}
		stored[uint64(id)] = &t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	next := make(map[uint64]*sqlstore.Tally, len(changes))
	var recount []int64
	for id, ch := range changes {
		t, ok := ch.Apply(stored[id])
		if !ok {
			recount = append(recount, int64(id))
			continue
		}
		next[id] = &t
	}
	if err := writeRollups(ctx, c, "item_rollup", "item_id", is, next); err != nil {
		return err
	}
	if len(recount) == 0 {
		return nil
	}
	if _, err := c.exec(ctx, itemRollupInsert, recount); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	return nil
}

// itemRollupInsert recomputes the roll-ups of the items given (once their
// rows are deleted). Item roll-ups count only current assets.
const itemRollupInsert = "INSERT INTO item_rollup SELECT item_id," + rollupColumns + " FROM latest WHERE item_id = ANY(?)" +
	" AND asset_id IN (SELECT id FROM assets WHERE removed_at = 0) GROUP BY item_id"

// addOthers adds to the tallies the roll-up columns and row counts that
// the query gives per id.
func addOthers(ctx context.Context, c conn, tallies map[uint64]*sqlstore.Tally, q string, args ...any) error {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var o sqlstore.Tally
		if err := rows.Scan(&id, &o.Passed, &o.Failed, &o.Ignored, &o.Manual, &o.NA, &o.CheckFailed, &o.LastCheck, &o.Rows); err != nil {
			return fmt.Errorf("roll-ups: %w", err)
		}
		if t := tallies[uint64(id)]; t != nil {
			t.Merge(o)
		}
	}
	return rows.Err()
}

// writeRollups replaces the roll-up rows of the ids with the tallies that
// counted some row, in one statement of arrays.
func writeRollups(ctx context.Context, c conn, table, key string, keys []int64, tallies map[uint64]*sqlstore.Tally) error {
	if _, err := c.exec(ctx, "DELETE FROM "+table+" WHERE "+key+" = ANY(?)", keys); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	var cols [8][]int64
	done := make(map[int64]bool, len(keys))
	for _, id := range keys {
		t := tallies[uint64(id)]
		if t == nil || t.Rows == 0 || done[id] {
			continue
		}
		done[id] = true
		for i, v := range []int64{id, t.Passed, t.Failed, t.Ignored, t.Manual, t.NA, t.CheckFailed, t.LastCheck} {
			cols[i] = append(cols[i], v)
		}
	}
	if len(cols[0]) == 0 {
		return nil
	}
	if _, err := c.exec(ctx, "INSERT INTO "+table+"("+key+", passed, failed, ignored, manual, na, check_failed, last_check)"+
		" SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])",
		cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7]); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	return nil
}

// rebuildRollups recomputes the roll-ups of the given assets and items from
// their latest results.
func rebuildRollups(ctx context.Context, c conn, assetIDs, itemIDs []uint64) error {
	as, is := ids(assetIDs), ids(itemIDs)
	for _, q := range []struct {
		sql string
		arg []int64
	}{
		{"DELETE FROM asset_rollup WHERE asset_id = ANY(?)", as},
		{"INSERT INTO asset_rollup SELECT asset_id," + rollupColumns + " FROM latest WHERE asset_id = ANY(?) GROUP BY asset_id", as},
		{"DELETE FROM item_rollup WHERE item_id = ANY(?)", is},
		{itemRollupInsert, is},
	} {
		if _, err := c.exec(ctx, q.sql, q.arg); err != nil {
			return fmt.Errorf("roll-ups: %w", err)
		}
	}
	return nil
}

// rebuildTypeRollups recomputes the roll-ups of the asset types given and
// of the types of the given assets, after the roll-ups of their assets
// and their scan failures are up to date.
func rebuildTypeRollups(ctx context.Context, c conn, assetIDs []uint64, types []assets.Type) error {
	ts := make([]string, 0, len(types))
	for _, t := range types {
		ts = append(ts, string(t))
	}
	ts, err := collect[string](ctx, c, "SELECT type FROM assets WHERE id = ANY(?) UNION SELECT unnest(?::text[])", ids(assetIDs), ts)
	if err != nil {
		return err
	}
	if _, err := c.exec(ctx, "DELETE FROM type_rollup WHERE asset_type = ANY(?)", ts); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	if _, err := c.exec(ctx, "INSERT INTO type_rollup "+sqlstore.TypeRollupSelect+" AND a.type = ANY(?) GROUP BY a.type", ts); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	return nil
}
