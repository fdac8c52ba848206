// Package remote implements the store's queries, ignore lists and period
// tasks over the compliance API of a baseline daemon, so that one CLI
// serves both a local store and a fleet's server. Task bookkeeping and
// exports stay with the daemon: the store roles they need are not
// implemented here.
package remote

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// Store offers the store's roles that the API serves: results and their
// roll-ups, the ignore list and the period tasks (and rechecks, through
// Scan).
type Store struct {
	c *client.Client
}

var (
	_ store.ResultReader   = (*Store)(nil)
	_ store.WhitelistStore = (*Store)(nil)
	_ store.PeriodStore    = (*Store)(nil)
)

// New returns a store that calls the daemon through c.
func New(c *client.Client) *Store { return &Store{c: c} }

// Client is the API client.
func (s *Store) Client() *client.Client { return s.c }

// page is a list request's paging and filters.
func page(q store.Query) api.Page {
	return api.Page{Offset: q.Offset, Limit: q.Limit, Filters: q.Filters}
}

// rows converts the entries of a list response.
func rows[W, T any](list []W, conv func(W) T) []T {
	out := make([]T, 0, len(list))
	for _, w := range list {
		out = append(out, conv(w))
	}
	return out
}

// localTime turns the API's "never" back into empty.
func localTime(s string) string {
	if s == "0000-00-00 00:00:00" {
		return ""
	}
	return s
}

// Summary calls DescribeComplianceTaskAssetSummary.
func (s *Store) Summary(ctx context.Context, types []assets.Type) ([]store.AssetSummary, error) {
	if len(types) == 0 {
		types = assets.Types
	}
	req := api.DescribeComplianceTaskAssetSummaryRequest{AssetTypeSet: make([]string, 0, len(types))}
	for _, t := range types {
		req.AssetTypeSet = append(req.AssetTypeSet, string(t))
	}
	var out api.DescribeComplianceTaskAssetSummaryResponse
	if err := s.c.Call(ctx, api.DescribeComplianceTaskAssetSummary, req, &out); err != nil {
		return nil, err
	}
	return rows(out.AssetSummaryList, func(sum api.ComplianceAssetSummary) store.AssetSummary {
		sum.LastCheckTime = localTime(sum.LastCheckTime)
		return sum.AssetSummary
	}), nil
}

func assetInfo(a api.ComplianceAssetInfo) store.AssetInfo {
	return store.AssetInfo{
		Asset:  assets.Asset{ID: a.CustomerAssetId, Type: assets.Type(a.AssetType), Name: a.AssetName, NodeName: a.NodeName},
		HostIP: a.HostIP, CheckStatus: checks.CheckStatus(a.CheckStatus), CheckResult: checks.CheckResult(a.CheckResult),
		PassedPolicyItemCount: a.PassedPolicyItemCount, FailedPolicyItemCount: a.FailedPolicyItemCount, IgnoredCount: a.IgnoredCount,
		LastCheckTime: localTime(a.LastCheckTime), ScanFailed: a.CheckStatus == string(checks.CheckFailed),
	}
}

// Assets calls DescribeComplianceAssetList.
func (s *Store) Assets(ctx context.Context, q store.Query) ([]store.AssetInfo, int, error) {
	var out api.DescribeComplianceAssetListResponse
	if err := s.c.Call(ctx, api.DescribeComplianceAssetList, api.DescribeComplianceAssetListRequest{Page: page(q)}, &out); err != nil {
		return nil, 0, err
	}
	return rows(out.AssetInfoList, assetInfo), out.TotalCount, nil
}

// AssetList calls DescribeComplianceAssetList, as Assets does.
func (s *Store) AssetList(ctx context.Context, q store.Query) ([]store.AssetInfo, int, error) {
	return s.Assets(ctx, q)
}

// Asset calls DescribeComplianceAssetDetailInfo.
func (s *Store) Asset(ctx context.Context, id uint64) (store.AssetInfo, error) {
	var out api.DescribeComplianceAssetDetailInfoResponse
	if err := s.c.Call(ctx, api.DescribeComplianceAssetDetailInfo, api.DescribeComplianceAssetDetailInfoRequest{CustomerAssetId: id}, &out); err != nil {
		return store.AssetInfo{}, err
	}
	d := out.AssetDetailInfo
	return assetInfo(api.ComplianceAssetInfo{CustomerAssetId: d.CustomerAssetId, AssetType: d.AssetType, AssetName: d.AssetName,
		HostIP: d.HostIP, NodeName: d.NodeName, CheckStatus: d.CheckStatus, PassedPolicyItemCount: d.PassedPolicyItemCount,
		FailedPolicyItemCount: d.FailedPolicyItemCount, LastCheckTime: d.LastCheckTime, CheckResult: d.CheckResult}), nil
}

func assetItem(r api.ComplianceAssetPolicyItem) results.Row {
	return results.Row{ItemID: r.CustomerPolicyItemId, Number: r.BenchmarkNumber, Title: r.Name, Category: r.Category,
		StandardID: r.BenchmarkStandardKey, Risk: checks.Risk(r.RiskLevel), AssetID: r.CustomerAssetId, AssetName: r.AssetName,
		AssetType: assets.Type(r.AssetType), NodeName: r.NodeName, Status: checks.CheckStatus(r.CheckStatus),
		Result: checks.CheckResult(r.CheckResult), Ignored: r.WhitelistId != 0, Reason: r.Reason, Evidence: r.Evidence,
		CheckedAt: localTime(r.LastCheckTime), TaskID: r.TaskId, Remediation: r.FixSuggestion}
}

// AssetItems calls DescribeComplianceAssetPolicyItemList.
func (s *Store) AssetItems(ctx context.Context, assetID uint64, q store.Query) ([]results.Row, int, error) {
	req := api.DescribeComplianceAssetPolicyItemListRequest{CustomerAssetId: assetID, Page: page(q)}
	var out api.DescribeComplianceAssetPolicyItemListResponse
	if err := s.c.Call(ctx, api.DescribeComplianceAssetPolicyItemList, req, &out); err != nil {
		return nil, 0, err
	}
	return rows(out.AssetPolicyItemList, assetItem), out.TotalCount, nil
}

// ItemAssets calls DescribeCompliancePolicyItemAffectedAssetList.
func (s *Store) ItemAssets(ctx context.Context, itemID uint64, q store.Query) ([]results.Row, int, error) {
	req := api.DescribeCompliancePolicyItemAffectedAssetListRequest{CustomerPolicyItemId: itemID, Page: page(q)}
	var out api.DescribeCompliancePolicyItemAffectedAssetListResponse
	if err := s.c.Call(ctx, api.DescribeCompliancePolicyItemAffectedAssetList, req, &out); err != nil {
		return nil, 0, err
	}
	return rows(out.AffectedAssetList, assetItem), out.TotalCount, nil
}

func itemSummary(it api.CompliancePolicyItemSummary) store.ItemSummary {
	return store.ItemSummary{ID: it.CustomerPolicyItemId, Number: it.BenchmarkNumber, Name: it.Name, Category: it.Category,
		StandardID: it.BenchmarkStandardKey, StandardName: it.BenchmarkStandardName, Risk: checks.Risk(it.RiskLevel),
		AssetType: assets.Type(it.AssetType), PassedAssetCount: it.PassedAssetCount, FailedAssetCount: it.FailedAssetCount,
		IgnoredAssetCount: it.IgnoredAssetCount, CheckResult: checks.CheckResult(it.CheckResult), LastCheckTime: localTime(it.LastCheckTime),
		Whitelisted: it.WhitelistId != 0, Description: it.Description, Procedure: it.AuditProcedure, Remediation: it.FixSuggestion}
}

// Items calls DescribeComplianceTaskPolicyItemSummaryList.
func (s *Store) Items(ctx context.Context, q store.Query) ([]store.ItemSummary, int, error) {
	var out api.DescribeComplianceTaskPolicyItemSummaryListResponse
	if err := s.c.Call(ctx, api.DescribeComplianceTaskPolicyItemSummaryList, api.DescribeComplianceTaskPolicyItemSummaryListRequest{Page: page(q)}, &out); err != nil {
		return nil, 0, err
	}
	return rows(out.PolicyItemSummaryList, itemSummary), out.TotalCount, nil
}

// Item calls DescribeCompliancePolicyItemAffectedSummary.
func (s *Store) Item(ctx context.Context, id uint64) (store.ItemSummary, error) {
	var out api.DescribeCompliancePolicyItemAffectedSummaryResponse
	if err := s.c.Call(ctx, api.DescribeCompliancePolicyItemAffectedSummary, api.DescribeCompliancePolicyItemAffectedSummaryRequest{CustomerPolicyItemId: id}, &out); err != nil {
		return store.ItemSummary{}, err
	}
	return itemSummary(out.PolicyItemSummary), nil
}

// ScanFailed calls DescribeComplianceScanFailedAssetList.
func (s *Store) ScanFailed(ctx context.Context, q store.Query) ([]store.ScanFailedAsset, int, error) {
	var out api.DescribeComplianceScanFailedAssetListResponse
	if err := s.c.Call(ctx, api.DescribeComplianceScanFailedAssetList, api.DescribeComplianceScanFailedAssetListRequest{Page: page(q)}, &out); err != nil {
		return nil, 0, err
	}
	return rows(out.ScanFailedAssetList, func(f api.ComplianceScanFailedAsset) store.ScanFailedAsset { return f.ScanFailedAsset }), out.TotalCount, nil
}

// AddWhitelist calls AddCompliancePolicyItemToWhitelist (every asset) or
// AddCompliancePolicyAssetSetToWhitelist (per item, on the assets).
func (s *Store) AddWhitelist(ctx context.Context, req store.WhitelistRequest) ([]store.WhitelistEntry, error) {
	opts := api.WhitelistOptions{Reason: req.Reason, Operator: req.CreatedBy}
	if !req.ExpiresAt.IsZero() {
		opts.ExpireTime = req.ExpiresAt.UTC().Format(time.DateTime)
	}
	if req.All {
		add := api.AddCompliancePolicyItemToWhitelistRequest{CustomerPolicyItemIdSet: req.Items, WhitelistOptions: opts}
		if err := s.c.Call(ctx, api.AddCompliancePolicyItemToWhitelist, add, &api.AddCompliancePolicyItemToWhitelistResponse{}); err != nil {
			return nil, err
		}
	} else {
		for _, it := range req.Items {
			add := api.AddCompliancePolicyAssetSetToWhitelistRequest{CustomerPolicyItemId: it, CustomerAssetItemIdSet: req.Assets, WhitelistOptions: opts}
			if err := s.c.Call(ctx, api.AddCompliancePolicyAssetSetToWhitelist, add, &api.AddCompliancePolicyAssetSetToWhitelistResponse{}); err != nil {
				return nil, err
			}
		}
	}
	var entries []store.WhitelistEntry
	for _, it := range req.Items {
		list, _, err := s.Whitelist(ctx, store.Query{Limit: store.MaxLimit, Filters: []store.Filter{{Name: "CustomerPolicyItemId", Values: []string{strconv.FormatUint(it, 10)}, ExactMatch: true}}})
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if e.AllAssets == req.All && !e.Lapsed {
				entries = append(entries, e)
			}
		}
	}
	return entries, nil
}

// RemoveWhitelist calls DeleteCompliancePolicyItemFromWhitelist.
func (s *Store) RemoveWhitelist(ctx context.Context, ids []int64) error {
	return s.c.Call(ctx, api.DeleteCompliancePolicyItemFromWhitelist, api.DeleteCompliancePolicyItemFromWhitelistRequest{WhitelistIdSet: ids},
		&api.DeleteCompliancePolicyItemFromWhitelistResponse{})
}

// RemoveWhitelistAssets calls DeleteCompliancePolicyAssetSetFromWhitelist.
func (s *Store) RemoveWhitelistAssets(ctx context.Context, items, assetIDs []uint64) error {
	var req api.DeleteCompliancePolicyAssetSetFromWhitelistRequest
	for _, it := range items {
		req.PolicyAssetSetList = append(req.PolicyAssetSetList, api.CompliancePolicyAssetSetItem{CustomerPolicyItemId: it, CustomerAssetItemIdSet: assetIDs})
	}
	return s.c.Call(ctx, api.DeleteCompliancePolicyAssetSetFromWhitelist, req, &api.DeleteCompliancePolicyAssetSetFromWhitelistResponse{})
}

// Whitelist calls DescribeComplianceWhitelistItemList.
func (s *Store) Whitelist(ctx context.Context, q store.Query) ([]store.WhitelistEntry, int, error) {
	var out api.DescribeComplianceWhitelistItemListResponse
	if err := s.c.Call(ctx, api.DescribeComplianceWhitelistItemList, api.DescribeComplianceWhitelistItemListRequest{Page: page(q)}, &out); err != nil {
		return nil, 0, err
	}
	return rows(out.WhitelistItemSet, func(e api.ComplianceWhitelistItem) store.WhitelistEntry { return e.WhitelistEntry }), out.TotalCount, nil
}

// EnsurePeriodTasks calls InitializeUserComplianceEnvironment.
func (s *Store) EnsurePeriodTasks(ctx context.Context) error {
	return s.c.Call(ctx, api.InitializeUserComplianceEnvironment, api.InitializeUserComplianceEnvironmentRequest{},
		&api.InitializeUserComplianceEnvironmentResponse{})
}

// periodTasks calls DescribeCompliancePeriodTaskList for every period task.
func (s *Store) periodTasks(ctx context.Context) ([]api.PeriodTaskInfo, error) {
	var out api.DescribeCompliancePeriodTaskListResponse
	if err := s.c.Call(ctx, api.DescribeCompliancePeriodTaskList, api.DescribeCompliancePeriodTaskListRequest{Limit: store.MaxLimit}, &out); err != nil {
		return nil, err
	}
	return out.PeriodTaskSet, nil
}

// PeriodTasks calls DescribeCompliancePeriodTaskList.
func (s *Store) PeriodTasks(ctx context.Context) ([]store.PeriodTask, error) {
	infos, err := s.periodTasks(ctx)
	if err != nil {
		return nil, err
	}
	var list []store.PeriodTask
	for _, p := range infos {
		pt := store.PeriodTask{ID: p.PeriodTaskId, AssetType: assets.Type(p.AssetType), Rule: p.PeriodRule, TotalPolicyItemCount: p.TotalPolicyItemCount}
		if t, err := time.Parse(time.DateTime, p.LastTriggerTime); err == nil {
			pt.LastTriggerTime = t
		}
		for _, st := range p.BenchmarkStandardSet {
			pt.Standards = append(pt.Standards, store.StandardSetting{StandardID: st.StandardKey, Name: st.Name, Enabled: st.Enabled, PolicyItemCount: st.PolicyItemCount})
		}
		list = append(list, pt)
	}
	return list, nil
}

// SetPeriodTask calls ModifyCompliancePeriodTask; standards are given by
// their string ids and sent as the numeric ids the daemon lists.
func (s *Store) SetPeriodTask(ctx context.Context, id int64, rule *store.PeriodRule, standards map[string]bool) (store.PeriodTask, error) {
	req := api.ModifyCompliancePeriodTaskRequest{PeriodTaskId: id, PeriodRule: rule}
	if len(standards) > 0 {
		infos, err := s.periodTasks(ctx)
		if err != nil {
			return store.PeriodTask{}, err
		}
		nums := map[string]uint64{}
		for _, pt := range infos {
			for _, st := range pt.BenchmarkStandardSet {
				nums[st.StandardKey] = st.StandardId
			}
		}
		for key, on := range standards {
			n, ok := nums[key]
			if !ok {
				return store.PeriodTask{}, fmt.Errorf("%w: standard %q", store.ErrNotFound, key)
			}
			req.StandardSettings = append(req.StandardSettings, api.ComplianceBenchmarkStandardEnable{StandardId: n, Enable: on})
		}
	}
	if err := s.c.Call(ctx, api.ModifyCompliancePeriodTask, req, &api.ModifyCompliancePeriodTaskResponse{}); err != nil {
		return store.PeriodTask{}, err
	}
	list, err := s.PeriodTasks(ctx)
	if err != nil {
		return store.PeriodTask{}, err
	}
	for _, pt := range list {
		if pt.ID == id {
			return pt, nil
		}
	}
	return store.PeriodTask{}, fmt.Errorf("%w: period task %d", store.ErrNotFound, id)
}

// Scan starts a task on the daemon: assets, items, or one item on some
// assets (ScanComplianceAssets, ScanCompliancePolicyItems,
// ScanComplianceAssetsByPolicyItem), or asset types (CreateComplianceTask).
func (s *Store) Scan(ctx context.Context, scope store.Scope) (int64, error) {
	switch {
	case len(scope.Items) == 1 && len(scope.Assets) > 0:
		var out api.ScanComplianceAssetsByPolicyItemResponse
		req := api.ScanComplianceAssetsByPolicyItemRequest{CustomerPolicyItemId: scope.Items[0], CustomerAssetIdSet: scope.Assets}
		err := s.c.Call(ctx, api.ScanComplianceAssetsByPolicyItem, req, &out)
		return out.TaskId, err
	case len(scope.Items) > 0 && len(scope.Assets) == 0:
		var out api.ScanCompliancePolicyItemsResponse
		err := s.c.Call(ctx, api.ScanCompliancePolicyItems, api.ScanCompliancePolicyItemsRequest{CustomerPolicyItemIdSet: scope.Items}, &out)
		return out.TaskId, err
	case len(scope.Assets) > 0 && len(scope.Items) == 0:
		var out api.ScanComplianceAssetsResponse
		err := s.c.Call(ctx, api.ScanComplianceAssets, api.ScanComplianceAssetsRequest{CustomerAssetIdSet: scope.Assets}, &out)
		return out.TaskId, err
	case len(scope.Types) > 0 && len(scope.Items) == 0 && len(scope.Assets) == 0:
		req := api.CreateComplianceTaskRequest{AssetTypeSet: make([]string, 0, len(scope.Types))}
		for _, t := range scope.Types {
			req.AssetTypeSet = append(req.AssetTypeSet, string(t))
		}
		var out api.CreateComplianceTaskResponse
		err := s.c.Call(ctx, api.CreateComplianceTask, req, &out)
		return out.TaskId, err
	}
	return 0, fmt.Errorf("%w: through --server, recheck assets, items, one item on assets, or asset types", store.ErrInvalidParameter)
}
