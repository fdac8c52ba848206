package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
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
	tasks, err := sqlstore.SummaryTasks(ctx, s.DB, sums.Listed(types))
	if err != nil {
		return nil, err
	}
	return sums.Of(types, tasks), nil
}

// resultSelect reads one page of latest results (the page subquery) and
// only then their reasons and evidence. pageOrder puts them in the
// page's order (its rows numbered n).
const resultSelect = `SELECT i.id, i.base_id, i.name, i.category, i.standard_id, i.risk, a.id, a.name, a.type, a.node_name,
	l.status, l.result, l.ignored, ` + resultText + `, l.checked_at, l.task_id, i.remediation
	FROM (%s) pg JOIN latest l ON l.asset_id = pg.asset_id AND l.item_id = pg.item_id
	JOIN items i ON i.id = l.item_id JOIN assets a ON a.id = l.asset_id` + resultJoin

// itemResultSelect is resultSelect for one item's results (sqlstore.ScanItemRow):
// the item's columns are read once for the page (itemOf), not with each
// row.
const itemResultSelect = `SELECT a.id, a.name, a.type, a.node_name, l.status, l.result, l.ignored, ` + resultText + `, l.checked_at, l.task_id
	FROM (%s) pg JOIN latest l ON l.asset_id = pg.asset_id AND l.item_id = pg.item_id
	JOIN assets a ON a.id = l.asset_id` + resultJoin

// resultJoin joins a latest row (l) to its result (res) by the result's
// row id that the latest row keeps (migration 15): one search of the
// results table. The key is compared too: a row id that no longer names
// the row's result (a VACUUM renumbers the results) joins none, nor does
// a latest row written before the column was, and resultText then reads
// the result by its key.
const resultJoin = `
	LEFT JOIN results res ON res.rowid = l.result_row AND res.task_id = l.task_id AND res.asset_id = l.asset_id AND res.item_id = l.item_id`

// resultText is the reason and the evidence of resultJoin's result.
const resultText = `CASE WHEN res.rowid IS NULL THEN COALESCE((SELECT k.reason FROM results k WHERE k.task_id = l.task_id AND k.asset_id = l.asset_id AND k.item_id = l.item_id), '') ELSE res.reason END,
	CASE WHEN res.rowid IS NULL THEN COALESCE((SELECT k.evidence FROM results k WHERE k.task_id = l.task_id AND k.asset_id = l.asset_id AND k.item_id = l.item_id), '') ELSE res.evidence END`

// pageOrder follows resultSelect where its page numbers its rows.
const pageOrder = " ORDER BY pg.n"

// results reads one page of latest results matching cond on id, in
// order (sqlstore.Store.ResultPage).
func (s *DB) results(ctx context.Context, cond string, id uint64, order string, q store.Query) ([]results.Row, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if err := s.lapse(ctx); err != nil {
		return nil, 0, err
	}
	// The statements are kept prepared (dbConn), not compiled again at
	// each call.
	var (
		total int
		page  string
		args  []any
		err   error
	)
	// A page of one outcome of an item's results comes in no order, and
	// is put in the order of its assets' names here (a sort of its few
	// rows in Go costs less than SQLite's of their whole records).
	byName := false
	switch {
	case cond != sqlstore.ItemAssetsCond || !sqlstore.LatestOnly(q.Filters):
		total, page, args, err = s.resultPage(ctx, cond, id, order, q)
	case sqlstore.OneResult(q.Filters):
		total, page, args, err = s.resultRange(ctx, id, q)
		byName = true
	default:
		total, page, args, err = s.itemAssetsPage(ctx, id, q)
	}
	if err != nil {
		return nil, 0, err
	}
	sel, scan := fmt.Sprintf(resultSelect, page), sqlstore.ScanRow
	if cond == sqlstore.ItemAssetsCond {
		item, ok, err := s.itemOf(ctx, id)
		if err != nil || !ok {
			return nil, 0, err
		}
		sel = fmt.Sprintf(itemResultSelect, page)
		scan = func(sc sqlstore.Scanner) (results.Row, error) { return sqlstore.ScanItemRow(sc, item) }
	}
	if !byName {
		sel += pageOrder
	}
	out, err := s.rows(ctx, scan, min(q.Limit, total), sel, args)
	if err != nil {
		return nil, 0, err
	}
	if byName {
		slices.SortFunc(out, assetNameOrder)
	}
	return out, total, nil
}

// rows reads the rows of a query (about n) with scan.
func (s *DB) rows(ctx context.Context, scan func(sqlstore.Scanner) (results.Row, error), n int, q string, args []any) ([]results.Row, error) {
	rows, err := s.DB.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []results.Row // nil for an empty page
	if n > 0 {
		out = make([]results.Row, 0, n)
	}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// itemOf reads the item's columns of its result rows (sqlstore.ScanItemRow);
// false when there is no such item.
func (s *DB) itemOf(ctx context.Context, id uint64) (results.Row, bool, error) {
	r := results.Row{ItemID: id}
	var risk string
	err := s.DB.QueryRow(ctx, "SELECT base_id, name, category, standard_id, risk, remediation FROM items WHERE id = ?", id).
		Scan(&r.Number, &r.Title, &r.Category, &r.StandardID, &risk, &r.Remediation)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	r.Risk = checks.Risk(risk)
	return r, err == nil, err
}

// assetNameOrder is the order of an item's affected assets: their names
// (compared byte by byte, as SQLite's BINARY collation does), then their
// ids (at most store.MaxID: SQLite's signed order is theirs).
func assetNameOrder(a, b results.Row) int {
	return cmp.Or(strings.Compare(a.AssetName, b.AssetName), cmp.Compare(a.AssetID, b.AssetID))
}

// resultsFrom joins latest results (l) to their items (i) and assets (a).
// The asset columns that rows are filtered and ordered by are read from an
// index, not from each asset's row (planned without statistics, SQLite
// would take the row).
const resultsFrom = " FROM latest l JOIN items i ON i.id = l.item_id JOIN assets a INDEXED BY assets_live ON a.id = l.asset_id"

// resultPage counts the latest results matching cond on id and gives the
// query of their page in order (of the asset and item ids, numbered in
// order as n) with its arguments.
func (s *DB) resultPage(ctx context.Context, cond string, id uint64, order string, q store.Query) (total int, page string, args []any, err error) {
	w, args, err := where([]string{cond}, []any{id}, q.Filters, columns.Result)
	if err != nil {
		return 0, "", nil, err
	}
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*)"+resultsFrom+w, args...).Scan(&total); err != nil {
		return 0, "", nil, err
	}
	page = "SELECT l.asset_id, l.item_id, ROW_NUMBER() OVER (ORDER BY " + order + ") AS n" + resultsFrom + w + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	return total, page, append(args, q.Limit, q.Offset), nil
}

// itemAssetsPage is resultPage for an item's results on current assets
// (sqlstore.ItemAssetsCond) in their assets' name order, filtered by
// latest's own columns only, but not to one outcome (resultRange). They
// are counted from the per-item index of the latest results, less those
// of removed assets (few, read by key), without looking up the asset of
// each. A page that ends early enough in the name order, where fewer
// current assets come before its end than the item has results (about
// (offset + limit) x current assets / total), walks the current assets
// in name order, each tested against the item's results read once from
// that index; a page further on sorts the item's results by their
// assets' names.
func (s *DB) itemAssetsPage(ctx context.Context, id uint64, q store.Query) (total int, page string, args []any, err error) {
	w, args, err := where([]string{"l.item_id = ?"}, []any{id}, q.Filters, columns.Result)
	if err != nil {
		return 0, "", nil, err
	}
	matching := " FROM latest l JOIN items i ON i.id = l.item_id" + w
	removed := " FROM assets a INDEXED BY assets_current CROSS JOIN latest l ON l.asset_id = a.id JOIN items i ON i.id = l.item_id" +
		w + " AND (a.removed_at > 0 OR a.removed_at < 0)"
	var current int
	if err := s.DB.QueryRow(ctx, "SELECT (SELECT COUNT(*)"+matching+") - (SELECT COUNT(*)"+removed+"), (SELECT COALESCE(SUM(assets), 0) FROM type_rollup)",
		slices.Concat(args, args)...).Scan(&total, &current); err != nil {
		return 0, "", nil, err
	}
	if total > 0 && (q.Offset+q.Limit)*current/total < total {
		page = "SELECT a.id AS asset_id, ? AS item_id, ROW_NUMBER() OVER (ORDER BY a.name, a.id) AS n FROM assets a INDEXED BY assets_names WHERE a.removed_at = 0 AND a.id IN (SELECT l.asset_id" +
			matching + ") ORDER BY a.name, a.id LIMIT ? OFFSET ?"
		return total, page, slices.Concat([]any{id}, args, []any{q.Limit, q.Offset}), nil
	}
	page = "SELECT l.asset_id, l.item_id, ROW_NUMBER() OVER (ORDER BY a.name, a.id) AS n" + resultsFrom + w + " AND a.removed_at = 0 ORDER BY a.name, a.id LIMIT ? OFFSET ?"
	return total, page, append(args, q.Limit, q.Offset), nil
}

// resultRange is resultPage for an item's results on current assets
// (sqlstore.ItemAssetsCond) filtered by latest's own columns, to one
// outcome (CheckResult of one value). They are a range of the per-item
// index of the latest results (item, result, current_name, asset id) in
// their assets' name order: the latest rows of a current asset carry its
// name (current_name, NULL otherwise). They are counted, and their page
// taken, in that range, the other filters tested on its entries, without
// reading any asset. The page's rows are not numbered: the caller puts
// them in order.
func (s *DB) resultRange(ctx context.Context, id uint64, q store.Query) (total int, page string, args []any, err error) {
	w, args, err := where([]string{"l.item_id = ?"}, []any{id}, q.Filters, columns.Result)
	if err != nil {
		return 0, "", nil, err
	}
	from := " FROM latest l INDEXED BY latest_item JOIN items i ON i.id = l.item_id" + w + " AND l.current_name >= ''"
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*)"+from, args...).Scan(&total); err != nil {
		return 0, "", nil, err
	}
	page = "SELECT l.asset_id, l.item_id" + from + " ORDER BY l.current_name, l.asset_id LIMIT ? OFFSET ?"
	return total, page, append(args, q.Limit, q.Offset), nil
}
