package server

import (
	"context"
	"slices"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

func (s *Server) assetItem(r results.Row, stdName string, wl whitelistIDs) api.ComplianceAssetPolicyItem {
	var wlID uint64
	if r.Ignored {
		wlID = wl.ofPair(r.ItemID, r.AssetID)
	}
	return api.NewAssetPolicyItem(r, s.ids.byID[r.StandardID], stdName, wlID)
}

func (s *Server) itemSummary(it store.ItemSummary, wl whitelistIDs) api.CompliancePolicyItemSummary {
	var wlID uint64
	if it.Whitelisted {
		wlID = wl.ofItem(it.ID)
	}
	return api.NewPolicyItemSummary(it, s.ids.byID[it.StandardID], wlID)
}

func initialize(s *Server, ctx context.Context, body []byte) (any, error) {
	if err := decode(body, &api.InitializeUserComplianceEnvironmentRequest{}); err != nil {
		return nil, err
	}
	if err := s.store.SyncCatalog(ctx, s.runner.Catalog()); err != nil {
		return nil, err
	}
	if err := s.store.EnsurePeriodTasks(ctx); err != nil {
		return nil, err
	}
	s.changed()
	return api.InitializeUserComplianceEnvironmentResponse{}, nil
}

func describeSummary(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeComplianceTaskAssetSummaryRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.AssetTypeSet) == 0 {
		return nil, errorf(api.MissingParameter, "AssetTypeSet is required")
	}
	var types []assets.Type
	for _, v := range req.AssetTypeSet {
		t, err := assetType(v)
		if err != nil {
			return nil, err
		}
		types = append(types, t)
	}
	sums, err := s.store.Summary(ctx, types)
	if err != nil {
		return nil, err
	}
	periods, err := s.store.PeriodTasks(ctx)
	if err != nil {
		return nil, err
	}
	status := "USER_NORMAL"
	if len(periods) == 0 {
		status = "USER_UNINIT"
	}
	rules := map[assets.Type]store.PeriodRule{}
	for _, p := range periods {
		rules[p.AssetType] = p.Rule
	}
	list := []api.ComplianceAssetSummary{}
	for _, sum := range sums {
		sum.LastCheckTime = api.Time(sum.LastCheckTime)
		row := api.ComplianceAssetSummary{AssetSummary: sum}
		if r, ok := rules[sum.AssetType]; ok {
			row.PeriodRule = &r
		}
		list = append(list, row)
	}
	return api.DescribeComplianceTaskAssetSummaryResponse{AssetSummaryList: list, Status: status}, nil
}

func describeAssets(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeComplianceAssetListRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	list, total, err := listPage(ctx, req.AssetTypeSet, req.Page, s.store.AssetList, api.NewAssetInfo)
	if err != nil {
		return nil, err
	}
	return api.DescribeComplianceAssetListResponse{AssetInfoList: list, TotalCount: total}, nil
}

func describeAssetDetail(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeComplianceAssetDetailInfoRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerAssetId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerAssetId is required")
	}
	a, err := s.store.Asset(ctx, req.CustomerAssetId)
	if err != nil {
		return nil, err
	}
	return api.NewAssetDetail(a), nil
}

func describeAssetItems(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeComplianceAssetPolicyItemListRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerAssetId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerAssetId is required")
	}
	var err error
	if req.Filters, err = s.translateStandardFilter(req.Filters); err != nil {
		return nil, err
	}
	q, err := pageQuery(req.Page)
	if err != nil {
		return nil, err
	}
	list, total, err := s.store.AssetItems(ctx, req.CustomerAssetId, q)
	if err != nil {
		return nil, err
	}
	out, err := s.assetItems(ctx, list)
	if err != nil {
		return nil, err
	}
	return api.DescribeComplianceAssetPolicyItemListResponse{AssetPolicyItemList: out, TotalCount: total}, nil
}

// assetItems converts a page of results, with the ids of the whitelist
// entries that ignore them.
func (s *Server) assetItems(ctx context.Context, list []results.Row) ([]api.ComplianceAssetPolicyItem, error) {
	wl, err := s.whitelistIDs(ctx, slices.ContainsFunc(list, func(r results.Row) bool { return r.Ignored }))
	if err != nil {
		return nil, err
	}
	out := make([]api.ComplianceAssetPolicyItem, 0, len(list))
	for _, r := range list {
		out = append(out, s.assetItem(r, s.standardName(r.StandardID), wl))
	}
	return out, nil
}

func describeItems(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeComplianceTaskPolicyItemSummaryListRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	var extra []store.Filter
	if req.AssetType != "" {
		t, err := assetType(req.AssetType)
		if err != nil {
			return nil, err
		}
		extra = append(extra, store.Filter{Name: "AssetType", Values: []string{string(t)}, ExactMatch: true})
	}
	var err error
	if req.Filters, err = s.translateStandardFilter(req.Filters); err != nil {
		return nil, err
	}
	q, err := pageQuery(req.Page, extra...)
	if err != nil {
		return nil, err
	}
	list, total, err := s.store.Items(ctx, q)
	if err != nil {
		return nil, err
	}
	wl, err := s.whitelistIDs(ctx, slices.ContainsFunc(list, func(it store.ItemSummary) bool { return it.Whitelisted }))
	if err != nil {
		return nil, err
	}
	out := make([]api.CompliancePolicyItemSummary, 0, len(list))
	for _, it := range list {
		out = append(out, s.itemSummary(it, wl))
	}
	tasks, _, err := s.store.Tasks(ctx, store.Query{Limit: 1, Filters: []store.Filter{{Name: "CheckStatus", Values: []string{string(checks.CheckFinished)}}}})
	if err != nil {
		return nil, err
	}
	var taskID int64
	if len(tasks) > 0 {
		taskID = tasks[0].ID
	}
	return api.DescribeComplianceTaskPolicyItemSummaryListResponse{PolicyItemSummaryList: out, TaskId: taskID, TotalCount: total}, nil
}

func describeItemSummary(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeCompliancePolicyItemAffectedSummaryRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerPolicyItemId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerPolicyItemId is required")
	}
	it, err := s.store.Item(ctx, req.CustomerPolicyItemId)
	if err != nil {
		return nil, err
	}
	wl, err := s.whitelistIDs(ctx, it.Whitelisted)
	if err != nil {
		return nil, err
	}
	return api.DescribeCompliancePolicyItemAffectedSummaryResponse{PolicyItemSummary: s.itemSummary(it, wl)}, nil
}

func describeItemAssets(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeCompliancePolicyItemAffectedAssetListRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerPolicyItemId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerPolicyItemId is required")
	}
	q, err := pageQuery(req.Page)
	if err != nil {
		return nil, err
	}
	list, total, err := s.store.ItemAssets(ctx, req.CustomerPolicyItemId, q)
	if err != nil {
		return nil, err
	}
	out, err := s.assetItems(ctx, list)
	if err != nil {
		return nil, err
	}
	return api.DescribeCompliancePolicyItemAffectedAssetListResponse{AffectedAssetList: out, TotalCount: total}, nil
}

func describeScanFailed(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeComplianceScanFailedAssetListRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	list, total, err := listPage(ctx, req.AssetTypeSet, req.Page, s.store.ScanFailed, func(f store.ScanFailedAsset) api.ComplianceScanFailedAsset {
		return api.ComplianceScanFailedAsset{ScanFailedAsset: f, CheckStatus: string(checks.CheckFailed)}
	})
	if err != nil {
		return nil, err
	}
	return api.DescribeComplianceScanFailedAssetListResponse{ScanFailedAssetList: list, TotalCount: total}, nil
}
