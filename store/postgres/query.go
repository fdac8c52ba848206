package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// dialect is how PostgreSQL writes what the SQL backends share: ILIKE
// ignores case in fuzzy filters, as SQLite's LIKE does.
var dialect = sqlstore.Dialect{
	ClusterName: "(%s.details->'Cluster'->>'ClusterName')", Concat: "string_agg(%s, ' ')", Like: "ILIKE",
	InIDs: "= ANY(?)", IDs: func(list []uint64) any { return ids(list) },
	Offset: "OFFSET ?", Ignored: ignoredExpr,
	JSONText: "%s::text", JSONMember: "(%s->'%s'->>'%s')",
}

// columns are the filter columns of each list.
var columns = sqlstore.ColumnsOf(dialect)

// where builds " WHERE ..." from fixed conditions and the query's filters.
var where = dialect.Where

// Summary gives ComplianceAssetSummary per asset type (all types when
// none are given) from the kept roll-ups.
func (s *DB) Summary(ctx context.Context, types []assets.Type) ([]store.AssetSummary, error) {
	if err := s.lapse(ctx); err != nil {
		return nil, err
	}
	sums := sqlstore.NewSummaries()
	b := &pgx.Batch{}
	for _, q := range []struct {
		sql  string
		scan func(sqlstore.Scanner) error
	}{
		{sqlstore.SummaryTypes, sums.ScanType},
		{sqlstore.SummaryItems, sums.ScanItems},
		{sqlstore.SummaryIgnoredEverywhere, sums.ScanIgnoredEverywhere},
	} {
		b.Queue(q.sql).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				if err := q.scan(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	tasks, err := sqlstore.SummaryTasks(ctx, s.DB, sums.Listed(types))
	if err != nil {
		return nil, err
	}
	return sums.Of(types, tasks), nil
}

// resultSelect reads one page of latest results (the page subquery, which
// counts every row it selects: total) and only then their reasons and
// evidence.
const resultSelect = `SELECT i.id, i.base_id, i.name, i.category, i.standard_id, i.risk, a.id, a.name, a.type, a.node_name,
	l.status, l.result, l.ignored = 1, COALESCE(res.reason, ''), COALESCE(res.evidence::text, ''), l.checked_at, l.task_id, i.remediation, pg.total
	FROM (%s) pg JOIN latest l ON l.asset_id = pg.asset_id AND l.item_id = pg.item_id
	JOIN items i ON i.id = l.item_id JOIN assets a ON a.id = l.asset_id
	LEFT JOIN results res ON res.task_id = l.task_id AND res.asset_id = l.asset_id AND res.item_id = l.item_id
	ORDER BY pg.n`

// results reads one page of latest results matching cond on id, in
// order (sqlstore.Store.ResultPage).
func (s *DB) results(ctx context.Context, cond string, id uint64, order string, q store.Query) ([]results.Row, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if err := s.lapse(ctx); err != nil {
		return nil, 0, err
	}
	if cond == sqlstore.ItemAssetsCond && sqlstore.LatestOnly(q.Filters) && sqlstore.OneResult(q.Filters) {
		return s.resultRange(ctx, id, q)
	}
	w, args, err := where([]string{cond}, []any{id}, q.Filters, columns.Result)
	if err != nil {
		return nil, 0, err
	}
	const from = " FROM latest l JOIN items i ON i.id = l.item_id JOIN assets a ON a.id = l.asset_id"
	pageQuery := "SELECT l.asset_id, l.item_id, ROW_NUMBER() OVER (ORDER BY " + order + ") AS n, COUNT(*) OVER () AS total" + from + w +
		" ORDER BY " + order + " LIMIT ? OFFSET ?"
	var total int
	out, err := sqlstore.List(ctx, s.DB, func(sc sqlstore.Scanner) (results.Row, error) { return sqlstore.ScanRowTotal(sc, &total) },
		fmt.Sprintf(resultSelect, pageQuery), append(args, q.Limit, q.Offset)...)
	if err != nil || len(out) > 0 || q.Offset == 0 {
		return out, total, err
	}
	// A page past the end: count on its own.
	err = s.db().queryRow(ctx, "SELECT COUNT(*)"+from+w, args...).Scan(&total)
	return out, total, err
}

// resultRange is results for an item's results on current assets
// (sqlstore.ItemAssetsCond) filtered by latest's own columns, to one
// outcome (CheckResult of one value). They are a range of the per-item
// index of the latest results (item, result, current_name, asset id) in
// their assets' name order: the latest rows of a current asset carry its
// name (current_name, NULL otherwise). They are counted in that range,
// and their page taken from it, without reading any asset to choose it.
func (s *DB) resultRange(ctx context.Context, id uint64, q store.Query) ([]results.Row, int, error) {
	w, args, err := where([]string{"l.item_id = ?", "l.current_name IS NOT NULL"}, []any{id}, q.Filters, columns.Result)
	if err != nil {
		return nil, 0, err
	}
	from := " FROM latest l JOIN items i ON i.id = l.item_id" + w
	var total int
	if err := s.db().queryRow(ctx, "SELECT COUNT(*)"+from, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	pageQuery := "SELECT l.asset_id, l.item_id, ROW_NUMBER() OVER (ORDER BY l.current_name, l.asset_id) AS n, 0 AS total" + from +
		" ORDER BY l.current_name, l.asset_id LIMIT ? OFFSET ?"
	var zero int
	out, err := sqlstore.List(ctx, s.DB, func(sc sqlstore.Scanner) (results.Row, error) { return sqlstore.ScanRowTotal(sc, &zero) },
		fmt.Sprintf(resultSelect, pageQuery), append(args, q.Limit, q.Offset)...)
	return out, total, err
}
