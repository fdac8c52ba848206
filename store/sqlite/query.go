package sqlite

import (
	"context"
	"fmt"
	"slices"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// Summary gives ComplianceAssetSummary per asset type (all types when
// none are given) from the kept roll-ups.
func (s *DB) Summary(ctx context.Context, types []assets.Type) ([]store.AssetSummary, error) {
	if err := s.lapse(ctx); err != nil {
		return nil, err
	}
	tasks, err := sqlstore.List(ctx, s.DB, sqlstore.ScanTask, sqlstore.TaskSelect+" ORDER BY id DESC LIMIT 500")
	if err != nil {
		return nil, err
	}
	sums := sqlstore.NewSummaries()
	for _, q := range []struct {
		sql  string
		scan func(sqlstore.Scanner) error
	}{
		{sqlstore.SummaryTypes, sums.ScanType},
		{sqlstore.SummaryItems, sums.ScanItems},
		{sqlstore.SummaryIgnoredEverywhere, sums.ScanIgnoredEverywhere},
	} {
		if err := sqlstore.Each(ctx, s.DB, q.scan, q.sql); err != nil {
			return nil, err
		}
	}
	return sums.Of(types, tasks), nil
}

// resultSelect reads one page of latest results (the page subquery) and
// only then their reasons and evidence.
const resultSelect = `SELECT i.id, i.base_id, i.name, i.category, i.standard_id, i.risk, a.id, a.name, a.type, a.node_name,
	l.status, l.result, l.ignored, COALESCE(res.reason, ''), COALESCE(res.evidence, ''), l.checked_at, l.task_id, i.remediation
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
	w, args, err := where([]string{cond}, []any{id}, q.Filters, columns.Result)
	if err != nil {
		return nil, 0, err
	}
	// The asset columns that rows are filtered and ordered by are read
	// from an index, not from each asset's row (planned without
	// statistics, SQLite would take the row).
	const from = " FROM latest l JOIN items i ON i.id = l.item_id JOIN assets a INDEXED BY assets_live ON a.id = l.asset_id"
	// Both statements are kept prepared (dbConn), not compiled again at
	// each call.
	total, err := s.resultCount(ctx, cond, id, from+w, args, q.Filters)
	if err != nil {
		return nil, 0, err
	}
	pageQuery := "SELECT l.asset_id, l.item_id, ROW_NUMBER() OVER (ORDER BY " + order + ") AS n" + from + w + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	rows, err := s.DB.Query(ctx, fmt.Sprintf(resultSelect, pageQuery), append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []results.Row
	for rows.Next() {
		r, err := sqlstore.ScanRow(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// latestFilters are the result filters on the columns of latest alone.
var latestFilters = map[string]bool{"CheckResult": true, "CheckStatus": true, "Ignored": true}

// resultCount counts the latest results of a page (from, its FROM and
// WHERE clauses, args their arguments). An item's results on current
// assets, filtered by latest's own columns only, are counted from the
// index of latest per item, less those of removed assets: no asset is
// looked up for each of the item's results.
func (s *DB) resultCount(ctx context.Context, cond string, id uint64, from string, args []any, filters []store.Filter) (int, error) {
	var total int
	if cond != sqlstore.ItemAssetsCond || slices.ContainsFunc(filters, func(f store.Filter) bool { return !latestFilters[f.Name] }) {
		err := s.DB.QueryRow(ctx, "SELECT COUNT(*)"+from, args...).Scan(&total)
		return total, err
	}
	w, wargs, err := where([]string{"l.item_id = ?"}, []any{id}, filters, columns.Result)
	if err != nil {
		return 0, err
	}
	// The removed assets are few; their results of the item are read by
	// key, the assets first.
	removed := " FROM assets a INDEXED BY assets_current CROSS JOIN latest l ON l.asset_id = a.id JOIN items i ON i.id = l.item_id" +
		w + " AND (a.removed_at > 0 OR a.removed_at < 0)"
	err = s.DB.QueryRow(ctx, "SELECT (SELECT COUNT(*) FROM latest l JOIN items i ON i.id = l.item_id"+w+") - (SELECT COUNT(*)"+removed+")",
		append(wargs, wargs...)...).Scan(&total)
	return total, err
}
