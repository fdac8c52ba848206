package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// bulkIndexRows is the task size from which a first ingest of its assets
// rebuilds the per-item index of the latest results rather than
// maintaining it row by row (a variable for tests).
var bulkIndexRows = 100_000

// latestItemIndex is the per-item index of the latest results (as
// migration 14 creates it).
const latestItemIndex = "CREATE INDEX latest_item ON latest(item_id, result, current_name, asset_id, status, ignored)"

// batchRows is how many rows one INSERT carries: fewer statements, far
// faster ingest, well under SQLite's parameter limit.
const batchRows = 200

// batch accumulates rows for multi-row INSERT statements.
type batch struct {
	ctx    context.Context
	tx     *sql.Tx
	prefix string // "INSERT INTO t(a,b) VALUES "
	suffix string // e.g. an ON CONFLICT clause
	cols   int
	args   []any
	stmt   *sql.Stmt // prepared full-size statement
	// stmts, when set, keeps the prepared statements of every size across
	// transactions (the results' batches: compiling a statement of a
	// thousand parameters costs as much as running it).
	stmts *stmtCache
}

func newBatch(ctx context.Context, tx *sql.Tx, prefix, suffix string, cols int) *batch {
	return &batch{ctx: ctx, tx: tx, prefix: prefix, suffix: suffix, cols: cols}
}

func (b *batch) sql(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", b.cols), ",") + ")"
	return b.prefix + strings.TrimSuffix(strings.Repeat(one+",", rows), ",") + " " + b.suffix
}

func (b *batch) add(vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) < batchRows*b.cols {
		return nil
	}
	if b.stmts != nil {
		return b.exec(batchRows)
	}
	if b.stmt == nil {
		st, err := b.tx.PrepareContext(b.ctx, b.sql(batchRows))
		if err != nil {
			return err
		}
		b.stmt = st
	}
	_, err := b.stmt.ExecContext(b.ctx, b.args...)
	b.args = b.args[:0]
	return err
}

// cachedSizes are the row counts of the cached statements: a remainder
// runs as a few of them.
var cachedSizes = []int{batchRows, 64, 16, 4, 1}

// exec runs the first rows of the batch with a cached statement.
func (b *batch) exec(rows int) error {
	st, err := b.stmts.get(b.ctx, b.sql(rows))
	if err != nil {
		return err
	}
	n := rows * b.cols
	_, err = b.tx.StmtContext(b.ctx, st).ExecContext(b.ctx, b.args[:n]...)
	b.args = b.args[:copy(b.args, b.args[n:])]
	return err
}

func (b *batch) flush() error {
	if b.stmt != nil {
		defer b.stmt.Close()
	}
	if len(b.args) == 0 {
		return nil
	}
	if b.stmts != nil {
		for _, size := range cachedSizes {
			for len(b.args) >= size*b.cols {
				if err := b.exec(size); err != nil {
					return err
				}
			}
		}
		return nil
	}
	_, err := b.tx.ExecContext(b.ctx, b.sql(len(b.args)/b.cols), b.args...)
	b.args = b.args[:0]
	return err
}

func loadIgnores(ctx context.Context, tx *sql.Tx) (sqlstore.IgnoreSet, error) {
	ig := sqlstore.NewIgnoreSet()
	rows, err := tx.QueryContext(ctx, `SELECT w.item_id, w.all_assets, wa.asset_id FROM whitelist w
		LEFT JOIN whitelist_assets wa ON wa.whitelist_id = w.id WHERE w.lapsed = 0`)
	if err != nil {
		return ig, err
	}
	defer rows.Close()
	for rows.Next() {
		var item uint64
		var all bool
		var asset sql.NullInt64
		if err := rows.Scan(&item, &all, &asset); err != nil {
			return ig, err
		}
		ig.Add(item, all, uint64(asset.Int64), asset.Valid)
	}
	return ig, rows.Err()
}

// CompleteTask stores a finished scan: its assets, the report's results
// (beside those AddResults wrote), every result of the task made the
// latest, scan failures and roll-ups, and marks the task finished, all in
// one transaction. A process killed before the commit leaves nothing of
// it visible (the recovery deletes what AddResults wrote).
func (s *DB) CompleteTask(ctx context.Context, taskID int64, rep *results.Report) error {
	if err := sqlstore.CheckReportIDs(rep); err != nil {
		return err
	}
	if err := s.lapse(ctx); err != nil {
		return err
	}
	if err := s.prepareResults(ctx); err != nil {
		return err
	}
	if err := s.connTx(ctx, func(tx *sql.Tx, conn *sql.Conn) error { return s.completeTask(ctx, tx, conn, taskID, rep) }); err != nil {
		return err
	}
	// Fold the write-ahead log back into the database so that a large task
	// does not leave a log as large as itself on disk.
	_, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

func (s *DB) completeTask(ctx context.Context, tx *sql.Tx, conn *sql.Conn, taskID int64, rep *results.Report) error {
	scopeJSON, trigger, err := sqlstore.Running(ctx, sqlConn{q: tx}, taskID)
	if err != nil {
		return err
	}
	var scope store.Scope
	_ = json.Unmarshal([]byte(scopeJSON), &scope)
	upload := store.Trigger(trigger) == store.TriggerUpload
	if upload {
		if err := checkUploadNodes(ctx, tx, scope.Node, rep); err != nil {
			return err
		}
	}
	now := unix(s.now())
	// Assets found again, and assets gone, change the counts of every item
	// they have latest results of.
	if err := fillTemp(ctx, tx, "report_assets", sqlstore.TouchedAssets(rep)); err != nil {
		return err
	}
	moved, err := uint64s(ctx, tx, "SELECT id FROM assets WHERE removed_at <> 0 AND id IN (SELECT id FROM temp.report_assets)")
	if err != nil {
		return err
	}
	if err := s.upsertAssets(ctx, tx, rep, scope.Node, now); err != nil {
		return err
	}
	var removed []uint64
	if scope.Full() {
		if removed, err = markRemoved(ctx, tx, rep, upload, scope.Node, now); err != nil {
			return err
		}
	}
	prior := sqlstore.NewPrior(moved, removed)
	moved = append(moved, removed...)
	ig, err := loadIgnores(ctx, tx)
	if err != nil {
		return err
	}
	if prior.Rows, err = latestOf(ctx, conn, tx, prior.Assets(rep)); err != nil {
		return err
	}
	keys, err := s.taskKeys(ctx, tx, taskID)
	if err != nil {
		return err
	}
	more, err := insertResults(ctx, conn, tx, s.stmts, taskID, rep.Results)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		keys = more // as CompleteTask's report brings them: no copy
	} else {
		keys = append(keys, more...)
	}
	if err := makeLatest(ctx, tx, taskID, keys, ig); err != nil {
		return err
	}
	items, err := itemsOf(ctx, tx, moved, sqlstore.TouchedItems(rep))
	if err != nil {
		return err
	}
	if err := keepRollups(ctx, tx, taskID, rep, keys, ig, items, prior); err != nil {
		return err
	}
	if err := s.recordFailures(ctx, tx, taskID, rep); err != nil {
		return err
	}
	_, types := sqlstore.Removal(rep)
	if err := rebuildTypeRollups(ctx, tx, sqlstore.CountedAssets(rep), types); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "UPDATE tasks SET status = ?, progress = 100, started_at = ?, finished_at = ?, result_count = ? WHERE id = ?",
		sqlstore.StFinished, unix(rep.StartedAt), unix(rep.FinishedAt), len(keys), taskID)
	return err
}

// AddResults writes a batch of a running task's results as its assets are
// judged, in a transaction of its own. No reader sees them: they become
// the latest, and the roll-ups count them, when CompleteTask completes the
// task; FailTask, or the recovery of a task whose process ended, deletes
// them. Only their keys stay in memory until then.
func (s *DB) AddResults(ctx context.Context, taskID int64, rs []results.Result) error {
	if len(rs) == 0 {
		return nil
	}
	if err := sqlstore.CheckResultIDs(rs); err != nil {
		return err
	}
	if err := s.prepareResults(ctx); err != nil {
		return err
	}
	var keys []sqlstore.ResultKey
	err := s.connTx(ctx, func(tx *sql.Tx, conn *sql.Conn) error {
		if _, _, err := sqlstore.Running(ctx, sqlConn{q: tx}, taskID); err != nil {
			return err
		}
		var err error
		keys, err = insertResults(ctx, conn, tx, s.stmts, taskID, rs)
		return err
	})
	if err != nil {
		return err
	}
	s.Staged().Add(taskID, keys)
	return nil
}

// taskKeys takes the keys of the results AddResults wrote for the task:
// from this handle's memory, or read back when another handle wrote them.
func (s *DB) taskKeys(ctx context.Context, tx *sql.Tx, taskID int64) ([]sqlstore.ResultKey, error) {
	if keys, ok := s.Staged().Take(taskID); ok {
		return keys, nil
	}
	return sqlstore.StagedKeys(ctx, sqlConn{q: tx}, taskID)
}

// upsertAssets records the report's assets as last recorded for node (the
// task's scope's NodeName). An asset whose name and node stay, and that
// was not removed, takes only its details and times, which no index
// holds, so that its entries in the assets' four indexes stay as they
// are; when some asset is new to that rule (renamed, moved or found
// again), every asset is written whole, and the latest rows of those
// renamed or found again take their name (current_name). The report's
// assets are in temp.report_assets.
func (s *DB) upsertAssets(ctx context.Context, tx *sql.Tx, rep *results.Report, node string, now int64) error {
	const keep = `ON CONFLICT(id) DO UPDATE SET ref=excluded.ref, host_ip=excluded.host_ip, details=excluded.details,
		last_seen=excluded.last_seen, scope_node=excluded.scope_node
		WHERE (assets.name, assets.node_name, assets.removed_at) IS (excluded.name, excluded.node_name, 0)`
	const whole = `ON CONFLICT(id) DO UPDATE SET name=excluded.name, ref=excluded.ref, node_name=excluded.node_name, host_ip=excluded.host_ip,
		details=excluded.details, last_seen=excluded.last_seen, removed_at=0, scope_node=excluded.scope_node`
	n, err := writeAssets(ctx, tx, rep, node, now, keep)
	if err != nil || n == int64(len(rep.Assets)) {
		return err
	}
	renamed, err := renamedAssets(ctx, tx, rep)
	if err != nil {
		return err
	}
	if _, err = writeAssets(ctx, tx, rep, node, now, whole); err != nil {
		return err
	}
	return nameLatest(ctx, tx, renamed)
}

// renamedAssets gives the report's assets already stored (in
// temp.report_assets) that it names otherwise, or that were removed.
func renamedAssets(ctx context.Context, tx *sql.Tx, rep *results.Report) ([]uint64, error) {
	names := make(map[uint64]string, len(rep.Assets))
	for _, a := range rep.Assets {
		names[a.ID] = a.Name
	}
	rows, err := tx.QueryContext(ctx, "SELECT id, name, removed_at FROM assets WHERE id IN (SELECT id FROM temp.report_assets)")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var renamed []uint64
	for rows.Next() {
		var id, removed int64 // as stored: a uint64 would be converted through text
		var name string
		if err := rows.Scan(&id, &name, &removed); err != nil {
			return nil, err
		}
		if to, ok := names[uint64(id)]; ok && (to != name || removed != 0) {
			renamed = append(renamed, uint64(id))
		}
	}
	return renamed, rows.Err()
}

// nameLatest gives the latest rows of the assets their assets' names as
// stored (current_name), once the assets are written.
func nameLatest(ctx context.Context, tx *sql.Tx, ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := fillTemp(ctx, tx, "named_assets", ids); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE latest SET current_name = (SELECT a.name FROM assets a WHERE a.id = latest.asset_id)
		WHERE asset_id IN (SELECT id FROM temp.named_assets)`)
	return err
}

// writeAssets writes the report's assets with the conflict clause given,
// and returns how many rows it inserted or updated.
func writeAssets(ctx context.Context, tx *sql.Tx, rep *results.Report, node string, now int64, conflict string) (int64, error) {
	var before, after int64
	if err := tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
		return 0, err
	}
	b := newBatch(ctx, tx, "INSERT INTO assets(id, type, name, ref, node_name, host_ip, details, first_seen, last_seen, scope_node) VALUES ", conflict, 10)
	hostIP := sqlstore.HostIP(rep)
	for _, a := range rep.Assets {
		details, err := json.Marshal(a)
		if err != nil {
			return 0, err
		}
		if err := b.add(a.ID, string(a.Type), a.Name, a.Ref, a.NodeName, hostIP, string(details), now, now, node); err != nil {
			return 0, err
		}
	}
	if err := b.flush(); err != nil {
		return 0, err
	}
	err := tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&after)
	return after - before, err
}

// markRemoved marks as removed the assets of the scanned types on this
// node that a full scan no longer found (a deleted container or image),
// and returns their ids. An upload (upload true) removes only assets last
// recorded for its own scope's node (or before nodes were kept), whatever
// host it names.
func markRemoved(ctx context.Context, tx *sql.Tx, rep *results.Report, upload bool, scopeNode string, now int64) ([]uint64, error) {
	node, types := sqlstore.Removal(rep)
	if node == "" {
		return nil, nil
	}
	if err := fillTemp(ctx, tx, "seen_assets", sqlstore.TouchedAssets(rep)); err != nil {
		return nil, err
	}
	owner, args := "", []any{}
	if upload {
		owner, args = " AND scope_node IN ('', ?)", []any{scopeNode}
	}
	var removed []uint64
	for _, t := range types {
		ids, err := uint64s(ctx, tx, `UPDATE assets SET removed_at = ? WHERE type = ? AND node_name = ? AND removed_at = 0
			AND id NOT IN (SELECT id FROM temp.seen_assets)`+owner+" RETURNING id", append([]any{now, string(t), node}, args...)...)
		if err != nil {
			return nil, err
		}
		removed = append(removed, ids...)
	}
	if len(removed) == 0 {
		return nil, nil
	}
	// A removed asset's results are no item's affected assets.
	if err := fillTemp(ctx, tx, "gone_assets", removed); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE latest SET current_name = NULL WHERE asset_id IN (SELECT id FROM temp.gone_assets)"); err != nil {
		return nil, err
	}
	return removed, nil
}

// itemsOf adds to items those that the assets have latest results of.
func itemsOf(ctx context.Context, tx *sql.Tx, assetIDs, items []uint64) ([]uint64, error) {
	if len(assetIDs) == 0 {
		return items, nil
	}
	if err := fillTemp(ctx, tx, "removed_assets", assetIDs); err != nil {
		return nil, err
	}
	more, err := uint64s(ctx, tx, "SELECT DISTINCT item_id FROM latest WHERE asset_id IN (SELECT id FROM temp.removed_assets)")
	if err != nil {
		return nil, err
	}
	return append(append([]uint64(nil), items...), more...), nil
}

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// uint64s reads a query's single column of ids.
func uint64s(ctx context.Context, db querier, q string, args ...any) ([]uint64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var v int64 // as stored: a uint64 would be converted through text
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, uint64(v))
	}
	return out, rows.Err()
}

// resultsBatch is the batch that writes results rows. A row refused
// (a second result for a pair) rolls back the whole transaction, which
// its caller then abandons anyway: with SQLite's default, the statement
// alone would be undone, which made SQLite copy every page each statement
// changed into a statement journal in memory first (about 1 MB at a
// scan's peak).
func resultsBatch(ctx context.Context, tx *sql.Tx) *batch {
	return newBatch(ctx, tx, "INSERT OR ROLLBACK INTO results(task_id, asset_id, item_id, status, result, reason, evidence, checked_at) VALUES ", "", resultCols)
}

// prepareResults prepares the statements that write results rows, before
// a write transaction begins: preparing one inside it would wait for a
// second connection of the pool, which may be held by a request waiting
// for that transaction's lock (each then waits out the busy timeout).
func (s *DB) prepareResults(ctx context.Context) error {
	b := resultsBatch(ctx, nil)
	for _, size := range cachedSizes {
		if _, err := s.stmts.get(ctx, b.sql(size)); err != nil {
			return err
		}
	}
	return nil
}

// insertResults writes results of the task, in (asset, item) order, and
// returns their keys. With the transaction's connection (conn, see
// DB.connTx), its full batches run through the driver's own statement
// (rawResults), the rest through the cached ones.
func insertResults(ctx context.Context, conn *sql.Conn, tx *sql.Tx, stmts *stmtCache, taskID int64, rs []results.Result) ([]sqlstore.ResultKey, error) {
	order := sqlstore.SortResults(rs)
	keys := make([]sqlstore.ResultKey, 0, len(rs))
	if n := len(order) / batchRows * batchRows; conn != nil && n >= rawMinRows {
		err := conn.Raw(func(dc any) error {
			var err error
			keys, err = rawResults(ctx, dc, taskID, rs, order[:n], keys)
			return err
		})
		if err != nil {
			return nil, err
		}
		order = order[n:]
	}
	res := resultsBatch(ctx, tx)
	res.stmts = stmts
	res.args = make([]any, 0, min(len(order), batchRows)*res.cols)
	buf, ends := make([]byte, 0, 32<<10), make([]int, 0, batchRows)
	for len(order) > 0 {
		chunk := order[:min(batchRows, len(order))]
		order = order[len(chunk):]
		var err error
		buf, ends, err = eachResult(buf, ends, rs, chunk, func(r *results.Result, key sqlstore.ResultKey, evidence string) error {
			keys = append(keys, key)
			return res.add(taskID, int64(r.AssetID), int64(r.ItemID), int64(key.Status), int64(key.Result),
				r.Reason, evidence, key.CheckedAt)
		})
		if err != nil {
			return nil, err
		}
	}
	return keys, res.flush()
}

// makeLatest makes the task's results the latest of their (item, asset)
// pairs inside SQLite (far faster than a second pass of bound rows), and
// marks the ignored ones. A new pair takes its asset's name while the
// asset is current (upsertAssets names the pairs of assets renamed or
// found again, markRemoved unnames those of assets removed), and each
// pair the row id of its result (migration 15). A pair whose outcome did
// not change takes only the task, the check time and that row id, which
// no index holds: its entry in the per-item index stays as it is;
// the pairs whose outcome changed are updated whole by a second
// statement, run only when some are left.
func makeLatest(ctx context.Context, tx *sql.Tx, taskID int64, keys []sqlstore.ResultKey, ig sqlstore.IgnoreSet) error {
	fresh, err := noLatestOf(ctx, tx, keys)
	if err != nil {
		return err
	}
	// The names of the keys' current assets, read once, in a table small
	// enough that looking one up for each new row costs little.
	for _, q := range []string{
		"CREATE TEMP TABLE IF NOT EXISTS key_names(id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
		"DELETE FROM temp.key_names",
		"INSERT INTO temp.key_names SELECT id, name FROM assets WHERE removed_at = 0 AND id IN (SELECT id FROM temp.key_assets)",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	// For a large task of new pairs, rebuilding the per-item index after
	// the insert (one sort) beats maintaining it row by row. Over pairs
	// already there it does not: an outcome that stays leaves its index
	// entry as it is, and only those that change are moved (a fleet's
	// second task of 1.5 million results: 12 s with the rebuild, 9.3 s
	// without).
	rebuild := fresh && len(keys) >= bulkIndexRows
	if rebuild {
		if _, err := tx.ExecContext(ctx, "DROP INDEX latest_item"); err != nil {
			return err
		}
	}
	// A refused row rolls back the whole transaction (OR ROLLBACK), which
	// the caller abandons anyway, so that SQLite keeps no statement journal
	// of the pages these statements change (as resultsBatch).
	insert := `INSERT OR ROLLBACK INTO latest(asset_id, item_id, task_id, status, result, ignored, checked_at, current_name, result_row)
		SELECT r.asset_id, r.item_id, r.task_id, r.status, r.result, 0, r.checked_at, a.name, r.rowid
		FROM results r LEFT JOIN temp.key_names a ON a.id = r.asset_id WHERE r.task_id = ?`
	if !fresh { // else nothing to replace
		insert += ` ON CONFLICT(asset_id, item_id) DO UPDATE SET task_id = excluded.task_id, checked_at = excluded.checked_at, result_row = excluded.result_row
			WHERE latest.status = excluded.status AND latest.result = excluded.result AND latest.ignored = 0`
	}
	res, err := tx.ExecContext(ctx, insert, taskID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n < int64(len(keys)) {
		if _, err := tx.ExecContext(ctx, `UPDATE OR ROLLBACK latest SET task_id = r.task_id, status = r.status, result = r.result, ignored = 0,
			checked_at = r.checked_at, result_row = r.rowid FROM results r WHERE r.task_id = ? AND latest.asset_id = r.asset_id AND latest.item_id = r.item_id
			AND latest.task_id <> r.task_id`, taskID); err != nil {
			return err
		}
	}
	if rebuild {
		if _, err := tx.ExecContext(ctx, latestItemIndex); err != nil {
			return err
		}
	}
	items := ig.Items()
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, "UPDATE latest SET ignored = "+ignoredExpr+" WHERE task_id = ? AND item_id = ?", taskID, it); err != nil {
			return err
		}
	}
	return nil
}

// noLatestOf reports whether no asset that the keys name has latest
// results yet (its first task, or a new fleet's), and leaves those
// assets in temp.key_assets.
func noLatestOf(ctx context.Context, tx *sql.Tx, keys []sqlstore.ResultKey) (bool, error) {
	var list []uint64
	for i := range keys {
		if i == 0 || keys[i].Asset != keys[i-1].Asset {
			list = append(list, keys[i].Asset)
		}
	}
	if err := fillTemp(ctx, tx, "key_assets", list); err != nil {
		return false, err
	}
	var some bool
	err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM latest WHERE asset_id IN (SELECT id FROM temp.key_assets))").Scan(&some)
	return !some, err
}

// recordFailures keeps the task's scan failures, and per asset the latest:
// an asset whose latest checks all ran is no longer scan-failed. It runs
// after the roll-ups are rebuilt.
func (s *DB) recordFailures(ctx context.Context, tx *sql.Tx, taskID int64, rep *results.Report) error {
	failed := map[uint64]bool{}
	for _, f := range rep.Failures {
		failed[f.AssetID] = true
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO task_failures(task_id, asset_id, reason, suggestion, check_time) VALUES (?,?,?,?,?)",
			taskID, f.AssetID, f.Reason, f.Suggestion, unix(f.CheckTime)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO asset_failures(asset_id, task_id, reason, suggestion, check_time) VALUES (?,?,?,?,?)",
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
	if err := fillTemp(ctx, tx, "ok_assets", ok); err != nil {
		return err
	}
	// An asset stays scan-failed while some latest check on it could not be
	// carried out (a partial recheck does not clear an older failure).
	_, err := tx.ExecContext(ctx, `DELETE FROM asset_failures WHERE asset_id IN (SELECT id FROM temp.ok_assets)
		AND asset_id NOT IN (SELECT asset_id FROM asset_rollup WHERE check_failed > 0)`)
	return err
}

// fillTemp (re)fills a temporary id table.
func fillTemp(ctx context.Context, tx *sql.Tx, name string, ids []uint64) error {
	if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+name+"(id INTEGER PRIMARY KEY)"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM temp."+name); err != nil {
		return err
	}
	b := newBatch(ctx, tx, "INSERT OR IGNORE INTO temp."+name+"(id) VALUES ", "", 1)
	for _, id := range ids {
		if err := b.add(id); err != nil {
			return err
		}
	}
	return b.flush()
}

// latestOf reads the latest rows of the assets, before an ingest
// replaces some of them, in their key's order (asset, item: the table's
// own, so SQLite does not sort), which sqlstore.ItemChanges walks beside
// the ingest's sorted keys. It reads them through the driver's own rows
// on conn, the transaction's connection (queryInts).
func latestOf(ctx context.Context, conn *sql.Conn, tx *sql.Tx, assetIDs []uint64) ([]sqlstore.LatestRow, error) {
	if err := fillTemp(ctx, tx, "prior_assets", assetIDs); err != nil {
		return nil, err
	}
	var out []sqlstore.LatestRow
	err := queryInts(ctx, conn, `SELECT asset_id, item_id, status, result, ignored, checked_at FROM latest
		WHERE asset_id IN (SELECT id FROM temp.prior_assets) ORDER BY asset_id, item_id`, 6, func(v []int64) {
		if len(out) == cap(out) {
			// Doubled: append grows a large slice by a quarter, which for
			// the 1.5 million rows of a fleet copied five times as much.
			out = slices.Grow(out, max(len(out), 1024))
		}
		out = append(out, sqlstore.LatestRow{Asset: uint64(v[0]), Item: uint64(v[1]), Status: int(v[2]), Result: int(v[3]),
			Ignored: v[4] != 0, CheckedAt: v[5]})
	})
	return out, err
}

// keepRollups brings the roll-ups of the report's assets and of the items
// given up to date after its results became the latest. An asset's: the
// report's results counted in Go, plus, from the table, its latest rows of
// other tasks that the report did not replace. An item's: its stored
// roll-up changed by the rows the report replaces or removes and those it
// adds (sqlstore.ItemChanges), without reading the other assets' rows.
func keepRollups(ctx context.Context, tx *sql.Tx, taskID int64, rep *results.Report, keys []sqlstore.ResultKey, ig sqlstore.IgnoreSet,
	itemIDs []uint64, prior sqlstore.Prior) error {
	perAsset, perItem, ok := sqlstore.ReportTallies(rep, keys, ig)
	if !ok {
		return rebuildRollups(ctx, tx, sqlstore.TouchedAssets(rep), itemIDs)
	}
	if err := fillTemp(ctx, tx, "roll_assets", sqlstore.TouchedAssets(rep)); err != nil {
		return err
	}
	// Assets without latest rows before this task have none of others.
	if len(prior.Rows) > 0 {
		if err := addOthers(ctx, tx, perAsset, "SELECT asset_id,"+rollupColumns+
			", COUNT(*) FROM latest WHERE asset_id IN (SELECT id FROM temp.roll_assets) AND task_id <> ? GROUP BY asset_id", taskID); err != nil {
			return err
		}
	}
	if err := writeRollups(ctx, tx, "asset_rollup", "asset_id", "roll_assets", perAsset); err != nil {
		return err
	}
	return changeItemRollups(ctx, tx, sqlstore.ItemChanges(keys, perItem, prior))
}

// changeItemRollups applies the changes to the stored item roll-ups, and
// recomputes from the latest results those of the items whose stored
// roll-up does not tell the new one.
func changeItemRollups(ctx context.Context, tx *sql.Tx, changes map[uint64]*sqlstore.ItemChange) error {
	ids := make([]uint64, 0, len(changes))
	for id := range changes {
		ids = append(ids, id)
	}
	if err := fillTemp(ctx, tx, "roll_items", ids); err != nil {
		return err
	}
	stored := make(map[uint64]*sqlstore.Tally, len(changes))
	rows, err := tx.QueryContext(ctx, `SELECT item_id, passed, failed, ignored, manual, na, check_failed, last_check FROM item_rollup
		WHERE item_id IN (SELECT id FROM temp.roll_items)`)
	if err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uint64
		var t sqlstore.Tally
		if err := rows.Scan(&id, &t.Passed, &t.Failed, &t.Ignored, &t.Manual, &t.NA, &t.CheckFailed, &t.LastCheck); err != nil {
			return fmt.Errorf("roll-ups: %w", err)
		}
		stored[id] = &t
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	rows.Close()
	next := make(map[uint64]*sqlstore.Tally, len(changes))
	var recount []uint64
	for id, c := range changes {
		t, ok := c.Apply(stored[id])
		if !ok {
			recount = append(recount, id)
			continue
		}
		next[id] = &t
	}
	if err := writeRollups(ctx, tx, "item_rollup", "item_id", "roll_items", next); err != nil {
		return err
	}
	if len(recount) == 0 {
		return nil
	}
	if err := fillTemp(ctx, tx, "roll_items", recount); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, itemRollupInsert); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	return nil
}

// itemRollupInsert recomputes the roll-ups of the items in roll_items (once
// their rows are deleted). Item roll-ups count only current assets.
const itemRollupInsert = "INSERT INTO item_rollup SELECT item_id," + rollupColumns + " FROM latest WHERE item_id IN (SELECT id FROM temp.roll_items)" +
	" AND asset_id IN (SELECT id FROM assets WHERE removed_at = 0) GROUP BY item_id"

// addOthers adds to the tallies the roll-up columns and row counts that
// the query gives per id.
func addOthers(ctx context.Context, tx *sql.Tx, tallies map[uint64]*sqlstore.Tally, q string, args ...any) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uint64
		var o sqlstore.Tally
		if err := rows.Scan(&id, &o.Passed, &o.Failed, &o.Ignored, &o.Manual, &o.NA, &o.CheckFailed, &o.LastCheck, &o.Rows); err != nil {
			return fmt.Errorf("roll-ups: %w", err)
		}
		if t := tallies[id]; t != nil {
			t.Merge(o)
		}
	}
	return rows.Err()
}

// writeRollups replaces the roll-up rows of the ids in the temporary
// table with the tallies that counted some row.
func writeRollups(ctx context.Context, tx *sql.Tx, table, key, temp string, tallies map[uint64]*sqlstore.Tally) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE "+key+" IN (SELECT id FROM temp."+temp+")"); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	ids := make([]uint64, 0, len(tallies))
	for id, t := range tallies {
		if t.Rows > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	b := newBatch(ctx, tx, "INSERT INTO "+table+"("+key+", passed, failed, ignored, manual, na, check_failed, last_check) VALUES ", "", 8)
	for _, id := range ids {
		t := tallies[id]
		if err := b.add(id, t.Passed, t.Failed, t.Ignored, t.Manual, t.NA, t.CheckFailed, t.LastCheck); err != nil {
			return fmt.Errorf("roll-ups: %w", err)
		}
	}
	return b.flush()
}

// rebuildRollups recomputes the roll-ups of the given assets and items from
// their latest results.
func rebuildRollups(ctx context.Context, tx *sql.Tx, assetIDs, itemIDs []uint64) error {
	if err := fillTemp(ctx, tx, "roll_assets", assetIDs); err != nil {
		return err
	}
	if err := fillTemp(ctx, tx, "roll_items", itemIDs); err != nil {
		return err
	}
	for _, q := range []string{
		"DELETE FROM asset_rollup WHERE asset_id IN (SELECT id FROM temp.roll_assets)",
		"INSERT INTO asset_rollup SELECT asset_id," + rollupColumns + " FROM latest WHERE asset_id IN (SELECT id FROM temp.roll_assets) GROUP BY asset_id",
		"DELETE FROM item_rollup WHERE item_id IN (SELECT id FROM temp.roll_items)",
		itemRollupInsert,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("roll-ups: %w", err)
		}
	}
	return nil
}

// rebuildTypeRollups recomputes the roll-ups of the asset types given and
// of the types of the given assets, after the roll-ups of their assets
// and their scan failures are up to date.
func rebuildTypeRollups(ctx context.Context, tx *sql.Tx, assetIDs []uint64, types []assets.Type) error {
	if err := fillTemp(ctx, tx, "type_assets", assetIDs); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT type FROM assets WHERE id IN (SELECT id FROM temp.type_assets)")
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for _, t := range types {
		set[string(t)] = true
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		set[t] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for t := range set {
		if _, err := tx.ExecContext(ctx, "DELETE FROM type_rollup WHERE asset_type = ?", t); err != nil {
			return fmt.Errorf("roll-ups: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO type_rollup "+sqlstore.TypeRollupSelect+" AND a.type = ? GROUP BY a.type", t); err != nil {
			return fmt.Errorf("roll-ups: %w", err)
		}
	}
	return nil
}
