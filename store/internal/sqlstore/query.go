package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/store"
)

// AssetSelect selects what ScanAsset reads, from an asset (a) with its
// roll-up (r) and its failure (af).
func (d Dialect) AssetSelect() string {
	return `SELECT ` + fmt.Sprintf(d.JSONText, "a.details") + `, a.host_ip, COALESCE(r.passed, 0), COALESCE(r.failed, 0), COALESCE(r.ignored, 0), COALESCE(r.manual, 0),
	COALESCE(r.na, 0), COALESCE(r.check_failed, 0), COALESCE(r.last_check, 0), ` + ScanFailedExpr + `, ` + AssetResultExpr + `
	FROM assets a LEFT JOIN asset_rollup r ON r.asset_id = a.id LEFT JOIN asset_failures af ON af.asset_id = a.id`
}

// AssetCount counts the current assets selected by filters (where w,
// args their condition): from the roll-ups per type when they allow it.
func (s *Store) AssetCount(ctx context.Context, filters []store.Filter, w string, args []any) (int, error) {
	if CountOnly(filters) {
		counts := AssetCounts{}
		err := Each(ctx, s.DB, counts.ScanTypeCounts, TypeCounts)
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
	err := s.DB.QueryRow(ctx, "SELECT COUNT(*)"+from+w, args...).Scan(&total)
	return total, err
}

// Assets lists current assets with their roll-ups. Filters: AssetType,
// AssetName, NodeName, HostIP, CustomerAssetId, CheckResult, ClusterName.
// The page's ids are chosen first, from the index of current assets in
// list order (the roll-up joins are read only when a filter needs them),
// and only the page's rows are then read whole: an offset deep in the
// list skips index entries, not assets with their roll-ups and details.
func (s *Store) Assets(ctx context.Context, q store.Query) ([]store.AssetInfo, int, error) {
	return s.assetPage(ctx, q, func(page func(cols string) string) string {
		return s.Dialect.AssetSelect() + " WHERE a.id IN (" + page("a.id") + ")" + assetOrder
	}, ScanAsset)
}

// AssetList lists current assets with their roll-ups as Assets does, with
// of each asset's details only what a list shows (store.AssetList). The
// page's rows are read from the index of current assets in list order,
// which holds the columns a list shows, with their roll-ups; of an asset's
// own row, only an image's tag and a host's instance id are read, in SQL
// from the stored details (which are not decoded whole), for the page's
// images and hosts only.
func (s *Store) AssetList(ctx context.Context, q store.Query) ([]store.AssetInfo, int, error) {
	list, total, err := s.assetPage(ctx, q, func(page func(cols string) string) string {
		return listedAssetSelect(page("a.id, a.type, a.name, a.ref, a.node_name, a.host_ip"))
	}, ScanListedAsset)
	if err != nil {
		return nil, 0, err
	}
	return list, total, s.listedDetails(ctx, list)
}

// listedDetails sets what a list shows of the details of the images and
// hosts in list: an image's tag, a host's instance id.
func (s *Store) listedDetails(ctx context.Context, list []store.AssetInfo) error {
	at := map[uint64]*store.AssetInfo{}
	var ids []uint64
	for i, a := range list {
		if a.Image != nil || a.Host != nil {
			at[a.ID] = &list[i]
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	member := func(obj, key string) string {
		return "COALESCE(" + fmt.Sprintf(s.Dialect.JSONMember, "a.details", obj, key) + ", '')"
	}
	return Each(ctx, s.DB, func(sc Scanner) error {
		var id uint64
		var shown string
		if err := sc.Scan(&id, &shown); err != nil {
			return err
		}
		if a := at[id]; a != nil && a.Image != nil {
			a.Image.Tag = shown
		} else if a != nil && a.Host != nil {
			a.Host.InstanceID = shown
		}
		return nil
	}, `SELECT a.id, CASE a.type WHEN '`+string(assets.Image)+`' THEN `+member("Image", "ImageTag")+` WHEN '`+string(assets.Host)+`' THEN `+member("Host", "InstanceId")+` ELSE '' END
	FROM assets a WHERE a.id `+s.Dialect.InIDs, s.Dialect.IDs(ids))
}

// assetOrder is the asset list's order.
const assetOrder = " ORDER BY a.type, a.name, a.id"

// assetPage reads a page of current assets: the query that sel gives,
// from the page's query of the columns it names, each row read by scan.
func (s *Store) assetPage(ctx context.Context, q store.Query, sel func(page func(cols string) string) string, scan func(Scanner) (store.AssetInfo, error)) ([]store.AssetInfo, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if err := s.Lapse(ctx); err != nil {
		return nil, 0, err
	}
	w, args, err := s.Dialect.Where([]string{"a.removed_at = 0"}, nil, q.Filters, s.Columns.Asset)
	if err != nil {
		return nil, 0, err
	}
	total, err := s.AssetCount(ctx, q.Filters, w, args)
	if err != nil {
		return nil, 0, err
	}
	from := " FROM assets a"
	if CountOnly(q.Filters) { // no filter that an index of its own would answer better
		from += s.Dialect.ListOrder
	}
	if slices.ContainsFunc(q.Filters, func(f store.Filter) bool { return f.Name == "CheckResult" }) {
		from += " LEFT JOIN asset_rollup r ON r.asset_id = a.id LEFT JOIN asset_failures af ON af.asset_id = a.id"
	}
	page := func(cols string) string { return "SELECT " + cols + from + w + assetOrder + " LIMIT ? OFFSET ?" }
	out, err := List(ctx, s.DB, scan, sel(page), append(args, q.Limit, q.Offset)...)
	return out, total, err
}

// listedAssetSelect selects what ScanListedAsset reads from a page (the
// query page, of an asset's id, type, name, ref, node name and host IP),
// in list order: the page's columns, the asset's roll-up (zeros when it
// has none) and whether it has a failure.
func listedAssetSelect(page string) string {
	return `SELECT pg.id, pg.type, pg.name, pg.ref, pg.node_name, pg.host_ip,
	COALESCE(r.passed, 0), COALESCE(r.failed, 0), COALESCE(r.ignored, 0), COALESCE(r.manual, 0),
	COALESCE(r.na, 0), COALESCE(r.check_failed, 0), COALESCE(r.last_check, 0), af.asset_id IS NOT NULL
	FROM (` + page + `) pg LEFT JOIN asset_rollup r ON r.asset_id = pg.id LEFT JOIN asset_failures af ON af.asset_id = pg.id
	ORDER BY pg.type, pg.name, pg.id`
}

// Asset returns one asset (current or removed) with its roll-up.
func (s *Store) Asset(ctx context.Context, id uint64) (store.AssetInfo, error) {
	if err := store.CheckIDs("CustomerAssetId", id); err != nil {
		return store.AssetInfo{}, err
	}
	if err := s.Lapse(ctx); err != nil {
		return store.AssetInfo{}, err
	}
	out, err := List(ctx, s.DB, ScanAsset, s.Dialect.AssetSelect()+" WHERE a.id = ?", id)
	return One(out, err, fmt.Sprintf("asset %d", id))
}

const itemSelect = `SELECT i.id, i.base_id, i.name, i.category, i.standard_id, st.name, i.risk, i.asset_type, i.automated = 1, i.scored = 1,
	COALESCE(r.passed, 0), COALESCE(r.failed, 0), COALESCE(r.ignored, 0), COALESCE(r.manual, 0), COALESCE(r.na, 0), COALESCE(r.check_failed, 0),
	COALESCE(r.last_check, 0), EXISTS (SELECT 1 FROM whitelist w WHERE w.item_id = i.id AND w.lapsed = 0),
	i.description, i.procedure, i.remediation
	FROM items i JOIN standards st ON st.id = i.standard_id LEFT JOIN item_rollup r ON r.item_id = i.id`

// Items lists the active items of enabled standards with their roll-ups.
// Filters: ItemType (category), StandardId, RiskLevel, AssetType, Name,
// CustomerPolicyItemId, BasePolicyItemId, CheckResult, and ClusterName:
// the Kubernetes items judged on that cluster or its nodes (the roll-up
// counts stay those of every asset).
func (s *Store) Items(ctx context.Context, q store.Query) ([]store.ItemSummary, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if err := s.Lapse(ctx); err != nil {
		return nil, 0, err
	}
	w, args, err := s.Dialect.Where([]string{"i.active = 1", "st.enabled = 1"}, nil, q.Filters, s.Columns.Item)
	if err != nil {
		return nil, 0, err
	}
	from := s.Dialect.ItemsFrom
	if from == "" {
		from = " FROM items i JOIN standards st ON st.id = i.standard_id"
	}
	from += " LEFT JOIN item_rollup r ON r.item_id = i.id"
	var total int
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*)"+from+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := List(ctx, s.DB, ScanItem, itemSelect+" WHERE i.id IN (SELECT i.id"+from+w+itemOrder+" LIMIT ? OFFSET ?)", append(args, q.Limit, q.Offset)...)
	slices.SortFunc(out, func(a, b store.ItemSummary) int {
		return cmp.Or(strings.Compare(a.StandardID, b.StandardID), cmp.Compare(a.ID, b.ID))
	})
	return out, total, err
}

// itemOrder is the item list's order. A page's items are chosen in it
// (from an index where the dialect names one), then read whole and put
// in it again: a sort of the whole rows, with their texts, would copy
// each of them.
const itemOrder = " ORDER BY i.standard_id, i.id"

// Item returns one item with its roll-up.
func (s *Store) Item(ctx context.Context, id uint64) (store.ItemSummary, error) {
	if err := store.CheckIDs("CustomerPolicyItemId", id); err != nil {
		return store.ItemSummary{}, err
	}
	if err := s.Lapse(ctx); err != nil {
		return store.ItemSummary{}, err
	}
	out, err := List(ctx, s.DB, ScanItem, itemSelect+" WHERE i.id = ?", id)
	return One(out, err, fmt.Sprintf("item %d", id))
}

// ScanFailed lists current assets whose last scan failed, with the reason
// and a suggestion. Filters: AssetType, AssetName, NodeName.
func (s *Store) ScanFailed(ctx context.Context, q store.Query) ([]store.ScanFailedAsset, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	w, args, err := s.Dialect.Where([]string{"a.removed_at = 0"}, nil, q.Filters, FailedColumns)
	if err != nil {
		return nil, 0, err
	}
	from := " FROM asset_failures af JOIN assets a ON a.id = af.asset_id"
	var total int
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*)"+from+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := List(ctx, s.DB, ScanFailedAsset, "SELECT a.id, a.type, a.name, a.node_name, af.reason, af.suggestion, af.check_time, af.task_id"+from+w+
		" ORDER BY af.check_time DESC, a.id LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	return out, total, err
}
