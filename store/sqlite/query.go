package sqlite

import (
	"context"
	"database/sql"
	"fmt"

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
		if err := s.each(ctx, q.scan, q.sql); err != nil {
			return nil, err
		}
	}
	return sums.Of(types, tasks), nil
}

// each reads every row of a query with scan.
func (s *DB) each(ctx context.Context, scan func(sqlstore.Scanner) error, q string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
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

const assetSelect = `SELECT a.details, a.host_ip, COALESCE(r.passed, 0), COALESCE(r.failed, 0), COALESCE(r.ignored, 0), COALESCE(r.manual, 0),
	COALESCE(r.na, 0), COALESCE(r.check_failed, 0), COALESCE(r.last_check, 0), ` + sqlstore.ScanFailedExpr + `, ` + sqlstore.AssetResultExpr + `
	FROM assets a LEFT JOIN asset_rollup r ON r.asset_id = a.id LEFT JOIN asset_failures af ON af.asset_id = a.id`

// Assets lists current assets with their roll-ups. Filters: AssetType,
// AssetName, NodeName, HostIP, CustomerAssetId, CheckResult, ClusterName.
func (s *DB) Assets(ctx context.Context, q store.Query) ([]store.AssetInfo, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if err := s.lapse(ctx); err != nil {
		return nil, 0, err
	}
	w, args, err := where([]string{"a.removed_at = 0"}, nil, q.Filters, columns.Asset)
	if err != nil {
		return nil, 0, err
	}
	total, err := s.assetCount(ctx, q.Filters, w, args)
	if err != nil {
		return nil, 0, err
	}
	out, err := scanAssets(s.db.QueryContext(ctx, assetSelect+w+" ORDER BY a.type, a.name, a.id LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...))
	return out, total, err
}

// assetCount counts the current assets selected by filters (where w, args
// their condition): from the roll-ups per type when they allow it.
func (s *DB) assetCount(ctx context.Context, filters []store.Filter, w string, args []any) (int, error) {
	if sqlstore.CountOnly(filters) {
		counts := sqlstore.AssetCounts{}
		err := s.each(ctx, counts.ScanTypeCounts, sqlstore.TypeCounts)
		return counts.Count(filters), err
	}
	from := " FROM assets a"
	for _, f := range filters {
		if f.Name == "CheckResult" { // only the result needs the roll-ups to count
			from += " LEFT JOIN asset_rollup r ON r.asset_id = a.id LEFT JOIN asset_failures af ON af.asset_id = a.id"
			break
		}
	}
	var total int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*)"+from+w, args...).Scan(&total)
	return total, err
}

// Asset returns one asset (current or removed) with its roll-up.
func (s *DB) Asset(ctx context.Context, id uint64) (store.AssetInfo, error) {
	if err := store.CheckIDs("CustomerAssetId", id); err != nil {
		return store.AssetInfo{}, err
	}
	if err := s.lapse(ctx); err != nil {
		return store.AssetInfo{}, err
	}
	out, err := scanAssets(s.db.QueryContext(ctx, assetSelect+" WHERE a.id = ?", id))
	if err != nil {
		return store.AssetInfo{}, err
	}
	if len(out) == 0 {
		return store.AssetInfo{}, fmt.Errorf("%w: asset %d", store.ErrNotFound, id)
	}
	return out[0], nil
}

func scanAssets(rows *sql.Rows, err error) ([]store.AssetInfo, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AssetInfo
	for rows.Next() {
		a, err := sqlstore.ScanAsset(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// resultSelect reads one page of latest results (the page subquery) and
// only then their reasons and evidence.
const resultSelect = `SELECT i.id, i.base_id, i.name, i.category, i.standard_id, i.risk, a.id, a.name, a.type, a.node_name,
	l.status, l.result, l.ignored, COALESCE(res.reason, ''), COALESCE(res.evidence, ''), l.checked_at, l.task_id, i.remediation
	FROM (%s) pg JOIN latest l ON l.asset_id = pg.asset_id AND l.item_id = pg.item_id
	JOIN items i ON i.id = l.item_id JOIN assets a ON a.id = l.asset_id
	LEFT JOIN results res ON res.task_id = l.task_id AND res.asset_id = l.asset_id AND res.item_id = l.item_id
	ORDER BY pg.n`

// AssetItems lists one asset's latest item results. Filters: CheckResult,
// CheckStatus, RiskLevel, ItemType, StandardId, Name, Ignored.
func (s *DB) AssetItems(ctx context.Context, assetID uint64, q store.Query) ([]results.Row, int, error) {
	if err := store.CheckIDs("CustomerAssetId", assetID); err != nil {
		return nil, 0, err
	}
	return s.results(ctx, "l.asset_id = ?", assetID, "i.standard_id, i.id", q)
}

// ItemAssets lists one item's latest results on current assets (the
// affected assets). Filters: NodeName, CheckResult, AssetName, AssetType,
// Ignored, ClusterName.
func (s *DB) ItemAssets(ctx context.Context, itemID uint64, q store.Query) ([]results.Row, int, error) {
	if err := store.CheckIDs("CustomerPolicyItemId", itemID); err != nil {
		return nil, 0, err
	}
	return s.results(ctx, "l.item_id = ? AND a.removed_at = 0", itemID, "a.name, a.id", q)
}

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
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*)"+from+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	pageQuery := "SELECT l.asset_id, l.item_id, ROW_NUMBER() OVER (ORDER BY " + order + ") AS n" + from + w + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(resultSelect, pageQuery), append(args, q.Limit, q.Offset)...)
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

const itemSelect = `SELECT i.id, i.base_id, i.name, i.category, i.standard_id, st.name, i.risk, i.asset_type, i.automated, i.scored,
	COALESCE(r.passed, 0), COALESCE(r.failed, 0), COALESCE(r.ignored, 0), COALESCE(r.manual, 0), COALESCE(r.na, 0), COALESCE(r.check_failed, 0),
	COALESCE(r.last_check, 0), EXISTS (SELECT 1 FROM whitelist w WHERE w.item_id = i.id AND w.lapsed = 0),
	i.description, i.procedure, i.remediation
	FROM items i JOIN standards st ON st.id = i.standard_id LEFT JOIN item_rollup r ON r.item_id = i.id`

// Items lists the active items of enabled standards with their roll-ups.
// Filters: ItemType (category), StandardId, RiskLevel, AssetType, Name,
// CustomerPolicyItemId, BasePolicyItemId, CheckResult, and ClusterName:
// the Kubernetes items judged on that cluster or its nodes (the roll-up
// counts stay those of every asset).
func (s *DB) Items(ctx context.Context, q store.Query) ([]store.ItemSummary, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if err := s.lapse(ctx); err != nil {
		return nil, 0, err
	}
	w, args, err := where([]string{"i.active = 1", "st.enabled = 1"}, nil, q.Filters, columns.Item)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM items i JOIN standards st ON st.id = i.standard_id LEFT JOIN item_rollup r ON r.item_id = i.id"+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := scanItems(s.db.QueryContext(ctx, itemSelect+w+" ORDER BY i.standard_id, i.id LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...))
	return out, total, err
}

// Item returns one item with its roll-up.
func (s *DB) Item(ctx context.Context, id uint64) (store.ItemSummary, error) {
	if err := store.CheckIDs("CustomerPolicyItemId", id); err != nil {
		return store.ItemSummary{}, err
	}
	if err := s.lapse(ctx); err != nil {
		return store.ItemSummary{}, err
	}
	out, err := scanItems(s.db.QueryContext(ctx, itemSelect+" WHERE i.id = ?", id))
	if err != nil {
		return store.ItemSummary{}, err
	}
	if len(out) == 0 {
		return store.ItemSummary{}, fmt.Errorf("%w: item %d", store.ErrNotFound, id)
	}
	return out[0], nil
}

func scanItems(rows *sql.Rows, err error) ([]store.ItemSummary, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ItemSummary
	for rows.Next() {
		it, err := sqlstore.ScanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// ScanFailed lists current assets whose last scan failed, with the reason
// and a suggestion. Filters: AssetType, AssetName, NodeName.
func (s *DB) ScanFailed(ctx context.Context, q store.Query) ([]store.ScanFailedAsset, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	w, args, err := where([]string{"a.removed_at = 0"}, nil, q.Filters, sqlstore.FailedColumns)
	if err != nil {
		return nil, 0, err
	}
	from := " FROM asset_failures af JOIN assets a ON a.id = af.asset_id"
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*)"+from+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT a.id, a.type, a.name, a.node_name, af.reason, af.suggestion, af.check_time, af.task_id"+from+w+
		" ORDER BY af.check_time DESC, a.id LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []store.ScanFailedAsset
	for rows.Next() {
		f, err := sqlstore.ScanFailedAsset(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, f)
	}
	return out, total, rows.Err()
}
