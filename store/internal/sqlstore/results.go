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
