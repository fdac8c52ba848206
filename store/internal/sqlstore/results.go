package sqlstore

import (
	"context"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// AssetItems lists one asset's latest item results. Filters: CheckResult,
// CheckStatus, RiskLevel, ItemType, StandardId, Name, Ignored.
func (s *Store) AssetItems(ctx context.Context, assetID uint64, q store.Query) ([]results.Row, int, error) {
	if err := store.CheckIDs("CustomerAssetId", assetID); err != nil {
		return nil, 0, err
	}
	return s.ResultPage(ctx, "l.asset_id = ?", assetID, "i.standard_id, i.id", q)
}

// ItemAssets lists one item's latest results on current assets (the
// affected assets). Filters: NodeName, CheckResult, AssetName, AssetType,
// Ignored, ClusterName.
func (s *Store) ItemAssets(ctx context.Context, itemID uint64, q store.Query) ([]results.Row, int, error) {
	if err := store.CheckIDs("CustomerPolicyItemId", itemID); err != nil {
		return nil, 0, err
	}
	return s.ResultPage(ctx, ItemAssetsCond, itemID, "a.name, a.id", q)
}

// ItemAssetsCond is the condition on ResultPage's id of an item's results
// on current assets (ItemAssets).
const ItemAssetsCond = "l.item_id = ? AND a.removed_at = 0"

// LatestOnly reports whether the filters name latest's own columns only
// (CheckResult, CheckStatus, Ignored).
func LatestOnly(filters []store.Filter) bool {
	for _, f := range filters {
		switch f.Name {
		case "CheckResult", "CheckStatus", "Ignored":
		default:
			return false
		}
	}
	return true
}

// OneResult reports whether the filters pin the result to one value: one
// CheckResult filter of one value.
func OneResult(filters []store.Filter) bool {
	n := 0
	for _, f := range filters {
		if f.Name == "CheckResult" {
			if len(f.Values) != 1 {
				return false
			}
			n++
		}
	}
	return n == 1
}
