package server

import (
	"context"
	"sort"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/store"
)

// whitelistIDs maps what the active whitelist entries cover to the
// entries' ids, so that a WhitelistId is the id of an entry that a client
// can remove (DeleteCompliancePolicyItemFromWhitelist), not a flag.
type whitelistIDs struct {
	pair map[[2]uint64]uint64 // (item, asset) → entry listing the asset
	all  map[uint64]uint64    // item → entry covering every asset
	any  map[uint64]uint64    // item → any entry of the item
}

// whitelistIDs reads the whitelist when needed (some result is ignored).
func (s *Server) whitelistIDs(ctx context.Context, needed bool) (whitelistIDs, error) {
	wl := whitelistIDs{pair: map[[2]uint64]uint64{}, all: map[uint64]uint64{}, any: map[uint64]uint64{}}
	if !needed {
		return wl, nil
	}
	entries, err := s.entriesFor(ctx)
	if err != nil {
		return wl, err
	}
	for _, e := range entries {
		if e.Lapsed {
			continue
		}
		id := uint64(e.ID)
		setOnce(wl.any, e.ItemID, id)
		if e.AllAssets {
			setOnce(wl.all, e.ItemID, id)
		}
		for _, a := range e.AssetIDs {
			setOnce(wl.pair, [2]uint64{e.ItemID, a}, id)
		}
	}
	return wl, nil
}

func setOnce[K comparable](m map[K]uint64, k K, v uint64) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func (wl whitelistIDs) ofPair(item, asset uint64) uint64 {
	if id, ok := wl.pair[[2]uint64{item, asset}]; ok {
		return id
	}
	return wl.ofItem(item)
}

func (wl whitelistIDs) ofItem(item uint64) uint64 {
	if id, ok := wl.all[item]; ok {
		return id
	}
	return wl.any[item]
}

func describeWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeComplianceWhitelistItemListRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	q, err := typedQuery(req.AssetTypeSet, req.Page)
	if err != nil {
		return nil, err
	}
	list, total, err := s.store.Whitelist(ctx, q)
	if err != nil {
		return nil, err
	}
	if req.Order == "asc" && (q.Offset > 0 || len(list) < total) {
		// The store lists newest first: an oldest-first page is the
		// newest-first page counted from the other end (sorted below).
		end := total - q.Offset
		if end <= 0 {
			list = nil
		} else {
			start := max(0, end-q.Limit)
			q.Offset, q.Limit = start, end-start
			if list, total, err = s.store.Whitelist(ctx, q); err != nil {
				return nil, err
			}
		}
	}
	out := make([]api.ComplianceWhitelistItem, 0, len(list))
	for _, e := range list {
		out = append(out, api.ComplianceWhitelistItem{WhitelistEntry: e, StandardNum: s.ids.byID[e.StandardID], AffectedAssetCount: e.AssetCount})
	}
	if req.Order == "asc" {
		sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	}
	return api.DescribeComplianceWhitelistItemListResponse{TotalCount: total, WhitelistItemSet: out}, nil
}

// whitelistRequest makes the store's request of the items on the assets
// (all: on every asset) with a whitelist request's options.
func whitelistRequest(w api.WhitelistOptions, items, assetIDs []uint64, all bool) (store.WhitelistRequest, error) {
	req := store.WhitelistRequest{Items: items, Assets: assetIDs, All: all, Reason: w.Reason, CreatedBy: w.Operator}
	if req.CreatedBy == "" {
		req.CreatedBy = "api"
	}
	if w.ExpireTime != "" {
		t, err := time.Parse(time.DateTime, w.ExpireTime)
		if err != nil {
			return req, errorf(api.InvalidParameterValue, "ExpireTime %q is not YYYY-MM-DD HH:MM:SS (UTC)", w.ExpireTime)
		}
		req.ExpiresAt = t
	}
	return req, nil
}

func addItemToWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.AddCompliancePolicyItemToWhitelistRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := requireIDs("CustomerPolicyItemIdSet", req.CustomerPolicyItemIdSet); err != nil {
		return nil, err
	}
	wr, err := whitelistRequest(req.WhitelistOptions, req.CustomerPolicyItemIdSet, nil, true)
	if err != nil {
		return nil, err
	}
	_, err = s.store.AddWhitelist(ctx, wr)
	return api.AddCompliancePolicyItemToWhitelistResponse{}, err
}

func addAssetItemsToWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.AddComplianceAssetPolicySetToWhitelistRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.AssetPolicySetList) == 0 {
		return nil, errorf(api.MissingParameter, "AssetPolicySetList is required")
	}
	for i, set := range req.AssetPolicySetList {
		if set.CustomerAssetItemId == 0 {
			return nil, errorf(api.MissingParameter, "AssetPolicySetList[%d].CustomerAssetItemId is required", i)
		}
		items := set.CustomerPolicyItemIdSet
		if len(items) == 0 { // every item of the asset's type
			a, err := s.store.Asset(ctx, set.CustomerAssetItemId)
			if err != nil {
				return nil, err
			}
			for _, it := range s.runner.Catalog().Items() {
				if it.AssetType == a.Type {
					items = append(items, it.ID)
				}
			}
		}
		wr, err := whitelistRequest(req.WhitelistOptions, items, []uint64{set.CustomerAssetItemId}, false)
		if err != nil {
			return nil, err
		}
		if _, err := s.store.AddWhitelist(ctx, wr); err != nil {
			return nil, err
		}
	}
	return api.AddComplianceAssetPolicySetToWhitelistResponse{}, nil
}

func addItemAssetsToWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.AddCompliancePolicyAssetSetToWhitelistRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerPolicyItemId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerPolicyItemId is required")
	}
	wr, err := whitelistRequest(req.WhitelistOptions, []uint64{req.CustomerPolicyItemId}, req.CustomerAssetItemIdSet, len(req.CustomerAssetItemIdSet) == 0)
	if err != nil {
		return nil, err
	}
	_, err = s.store.AddWhitelist(ctx, wr)
	return api.AddCompliancePolicyAssetSetToWhitelistResponse{}, err
}

func deleteWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DeleteCompliancePolicyItemFromWhitelistRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.WhitelistIdSet) == 0 {
		return nil, errorf(api.MissingParameter, "WhitelistIdSet is required")
	}
	return api.DeleteCompliancePolicyItemFromWhitelistResponse{}, s.store.RemoveWhitelist(ctx, req.WhitelistIdSet)
}

// entriesFor lists every entry of the whitelist.
func (s *Server) entriesFor(ctx context.Context) ([]store.WhitelistEntry, error) {
	return store.All(ctx, s.store.Whitelist)
}

func deleteAssetItemsFromWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DeleteComplianceAssetPolicySetFromWhitelistRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.AssetItemId == 0 {
		return nil, errorf(api.MissingParameter, "AssetItemId is required")
	}
	items := req.CustomerPolicyItemIdSet
	if len(items) == 0 { // every item ignored on that asset
		entries, err := s.entriesFor(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			for _, a := range e.AssetIDs {
				if a == req.AssetItemId {
					items = append(items, e.ItemID)
				}
			}
		}
	}
	return api.DeleteComplianceAssetPolicySetFromWhitelistResponse{}, s.store.RemoveWhitelistAssets(ctx, items, []uint64{req.AssetItemId})
}

func deleteItemAssetsFromWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DeleteCompliancePolicyAssetSetFromWhitelistRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.PolicyAssetSetList) == 0 {
		return nil, errorf(api.MissingParameter, "PolicyAssetSetList is required")
	}
	for i, set := range req.PolicyAssetSetList {
		if set.CustomerPolicyItemId == 0 {
			return nil, errorf(api.MissingParameter, "PolicyAssetSetList[%d].CustomerPolicyItemId is required", i)
		}
		if len(set.CustomerAssetItemIdSet) > 0 {
			if err := s.store.RemoveWhitelistAssets(ctx, []uint64{set.CustomerPolicyItemId}, set.CustomerAssetItemIdSet); err != nil {
				return nil, err
			}
			continue
		}
		entries, err := s.entriesFor(ctx)
		if err != nil {
			return nil, err
		}
		var ids []int64
		for _, e := range entries {
			if e.ItemID == set.CustomerPolicyItemId {
				ids = append(ids, e.ID)
			}
		}
		if len(ids) == 0 {
			return nil, errorf(api.ResourceNotFound, "item %d is not in the whitelist", set.CustomerPolicyItemId)
		}
		if err := s.store.RemoveWhitelist(ctx, ids); err != nil {
			return nil, err
		}
	}
	return api.DeleteCompliancePolicyAssetSetFromWhitelistResponse{}, nil
}
