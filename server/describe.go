package server

import (
	"context"
	"slices"
	"time"

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
	if err := decode(body, &struct{}{}); err != nil {
		return nil, err
	}
	if err := s.store.SyncCatalog(ctx, s.runner.Catalog()); err != nil {
		return nil, err
	}
	if err := s.store.EnsurePeriodTasks(ctx); err != nil {
		return nil, err
	}
	s.changed()
	return struct{}{}, nil
}

func describeSummary(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		AssetTypeSet []string `json:"AssetTypeSet"`
	}
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
	type summary struct {
		store.AssetSummary
		PeriodRule *store.PeriodRule `json:"PeriodRule,omitempty"`
	}
	list := []summary{}
	for _, sum := range sums {
		sum.LastCheckTime = api.Time(sum.LastCheckTime)
		row := summary{AssetSummary: sum}
		if r, ok := rules[sum.AssetType]; ok {
			row.PeriodRule = &r
		}
		list = append(list, row)
	}
	return map[string]any{"Status": status, "AssetSummaryList": list}, nil
}

func describeAssets(s *Server, ctx context.Context, body []byte) (any, error) {
	return listPage(ctx, body, s.store.Assets, "AssetInfoList", api.NewAssetInfo)
}

func describeAssetDetail(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerAssetId uint64 `json:"CustomerAssetId"`
		AssetType       string `json:"AssetType"`
	}
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
	detail := map[string]any{
		"CustomerAssetId": a.ID, "AssetType": a.Type, "AssetName": a.Name, "NodeName": a.NodeName, "HostName": a.NodeName,
		"HostIP": a.HostIP, "CheckStatus": a.CheckStatus, "PassedPolicyItemCount": a.PassedPolicyItemCount,
		"FailedPolicyItemCount": a.FailedPolicyItemCount, "LastCheckTime": api.Time(a.LastCheckTime), "CheckResult": a.CheckResult,
		"AssetStatus": "", "AssetCreateTime": "",
	}
	out := map[string]any{"AssetDetailInfo": detail}
	switch {
	case a.Container != nil:
		detail["AssetStatus"] = a.Container.State
		if !a.Container.CreateTime.IsZero() {
			detail["AssetCreateTime"] = a.Container.CreateTime.UTC().Format(time.DateTime)
		}
		out["ContainerDetailInfo"] = map[string]any{"ContainerId": a.Container.ContainerID, "PodName": a.Container.PodName}
	case a.Image != nil:
		out["ImageDetailInfo"] = map[string]any{"ImageId": a.Image.ImageID, "ImageName": a.Image.Name, "ImageTag": a.Image.Tag, "Repository": a.Image.Repository}
	case a.Host != nil:
		out["HostDetailInfo"] = map[string]any{"DockerVersion": a.Host.DockerVersion, "K8SVersion": a.Host.K8sVersion, "ContainerdVersion": a.Host.ContainerdVersion}
	case a.Cluster != nil:
		out["K8SDetailInfo"] = map[string]any{"ClusterName": a.Cluster.ClusterName, "ClusterVersion": a.Cluster.Version}
	}
	return out, nil
}

func describeAssetItems(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerAssetId uint64 `json:"CustomerAssetId"`
		AssetType       string `json:"AssetType"`
		page
	}
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
	q, err := req.query()
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
	return map[string]any{"TotalCount": total, "AssetPolicyItemList": out}, nil
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
	var req struct {
		AssetType string `json:"AssetType"`
		page
	}
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
	q, err := req.query(extra...)
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
	return map[string]any{"TaskId": taskID, "TotalCount": total, "PolicyItemSummaryList": out}, nil
}

func describeItemSummary(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerPolicyItemId uint64 `json:"CustomerPolicyItemId"`
	}
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
	return map[string]any{"PolicyItemSummary": s.itemSummary(it, wl)}, nil
}

func describeItemAssets(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerPolicyItemId uint64 `json:"CustomerPolicyItemId"`
		page
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerPolicyItemId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerPolicyItemId is required")
	}
	q, err := req.query()
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
	return map[string]any{"TotalCount": total, "AffectedAssetList": out}, nil
}

// scanFailed is a ComplianceScanFailedAsset as listed.
type scanFailed struct {
	store.ScanFailedAsset
	CheckStatus string `json:"CheckStatus"`
}

func describeScanFailed(s *Server, ctx context.Context, body []byte) (any, error) {
	return listPage(ctx, body, s.store.ScanFailed, "ScanFailedAssetList", func(f store.ScanFailedAsset) scanFailed {
		return scanFailed{ScanFailedAsset: f, CheckStatus: string(checks.CheckFailed)}
	})
}
