// Package remote implements the store's queries, ignore lists and period
// tasks over the compliance API of a baseline daemon, so that one CLI
// serves both a local store and a fleet's server. Task bookkeeping and
// exports stay with the daemon: the store roles they need are not
// implemented here.
package remote

import (
	"context"
	"encoding/json"
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

// pageParams are a list request's paging and filters.
func pageParams(q store.Query) api.Page {
	return api.Page{Offset: q.Offset, Limit: q.Limit, Filters: q.Filters}
}

// list calls a list action and converts each entry of the response's list
// named field; it returns them with the response's TotalCount.
func list[W, T any](ctx context.Context, s *Store, action string, params any, field string, conv func(W) T) ([]T, int, error) {
	var out map[string]json.RawMessage
	if err := s.c.Call(ctx, action, params, &out); err != nil {
		return nil, 0, err
	}
	var total int
	var wire []W
	if err := json.Unmarshal(out["TotalCount"], &total); err != nil {
		return nil, 0, fmt.Errorf("%s: TotalCount: %w", action, err)
	}
	if raw, ok := out[field]; ok {
		if err := json.Unmarshal(raw, &wire); err != nil {
			return nil, 0, fmt.Errorf("%s: %s: %w", action, field, err)
		}
	}
	rows := make([]T, 0, len(wire))
	for _, w := range wire {
		rows = append(rows, conv(w))
	}
	return rows, total, nil
}

// same converts nothing: the wire's entry is the store's.
func same[T any](v T) T { return v }

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
	var out struct {
		AssetSummaryList []store.AssetSummary
	}
	if err := s.c.Call(ctx, api.DescribeComplianceTaskAssetSummary, map[string]any{"AssetTypeSet": types}, &out); err != nil {
		return nil, err
	}
	for i := range out.AssetSummaryList {
		out.AssetSummaryList[i].LastCheckTime = localTime(out.AssetSummaryList[i].LastCheckTime)
	}
	return out.AssetSummaryList, nil
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
	return list(ctx, s, api.DescribeComplianceAssetList, pageParams(q), "AssetInfoList", assetInfo)
}

// Asset calls DescribeComplianceAssetDetailInfo.
func (s *Store) Asset(ctx context.Context, id uint64) (store.AssetInfo, error) {
	var out struct {
		AssetDetailInfo struct {
			api.ComplianceAssetInfo
			AssetStatus string
		}
	}
	if err := s.c.Call(ctx, api.DescribeComplianceAssetDetailInfo, map[string]any{"CustomerAssetId": id}, &out); err != nil {
		return store.AssetInfo{}, err
	}
	return assetInfo(out.AssetDetailInfo.ComplianceAssetInfo), nil
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
	params := struct {
		api.Page
		CustomerAssetId uint64
	}{pageParams(q), assetID}
	return list(ctx, s, api.DescribeComplianceAssetPolicyItemList, params, "AssetPolicyItemList", assetItem)
}

// ItemAssets calls DescribeCompliancePolicyItemAffectedAssetList.
func (s *Store) ItemAssets(ctx context.Context, itemID uint64, q store.Query) ([]results.Row, int, error) {
	params := struct {
		api.Page
		CustomerPolicyItemId uint64
	}{pageParams(q), itemID}
	return list(ctx, s, api.DescribeCompliancePolicyItemAffectedAssetList, params, "AffectedAssetList", assetItem)
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
	return list(ctx, s, api.DescribeComplianceTaskPolicyItemSummaryList, pageParams(q), "PolicyItemSummaryList", itemSummary)
}

// Item calls DescribeCompliancePolicyItemAffectedSummary.
func (s *Store) Item(ctx context.Context, id uint64) (store.ItemSummary, error) {
	var out struct {
		PolicyItemSummary api.CompliancePolicyItemSummary
	}
	if err := s.c.Call(ctx, api.DescribeCompliancePolicyItemAffectedSummary, map[string]any{"CustomerPolicyItemId": id}, &out); err != nil {
		return store.ItemSummary{}, err
	}
	return itemSummary(out.PolicyItemSummary), nil
}

// ScanFailed calls DescribeComplianceScanFailedAssetList.
func (s *Store) ScanFailed(ctx context.Context, q store.Query) ([]store.ScanFailedAsset, int, error) {
	return list(ctx, s, api.DescribeComplianceScanFailedAssetList, pageParams(q), "ScanFailedAssetList", same[store.ScanFailedAsset])
}

// AddWhitelist calls AddCompliancePolicyItemToWhitelist (every asset) or
// AddCompliancePolicyAssetSetToWhitelist (per item, on the assets).
func (s *Store) AddWhitelist(ctx context.Context, req store.WhitelistRequest) ([]store.WhitelistEntry, error) {
	w := map[string]any{"Reason": req.Reason, "Operator": req.CreatedBy}
	if !req.ExpiresAt.IsZero() {
		w["ExpireTime"] = req.ExpiresAt.UTC().Format(time.DateTime)
	}
	if req.All {
		w["CustomerPolicyItemIdSet"] = req.Items
		if err := s.c.Call(ctx, api.AddCompliancePolicyItemToWhitelist, w, nil); err != nil {
			return nil, err
		}
	} else {
		for _, it := range req.Items {
			w["CustomerPolicyItemId"], w["CustomerAssetItemIdSet"] = it, req.Assets
			if err := s.c.Call(ctx, api.AddCompliancePolicyAssetSetToWhitelist, w, nil); err != nil {
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
	return s.c.Call(ctx, api.DeleteCompliancePolicyItemFromWhitelist, map[string]any{"WhitelistIdSet": ids}, nil)
}

// RemoveWhitelistAssets calls DeleteCompliancePolicyAssetSetFromWhitelist.
func (s *Store) RemoveWhitelistAssets(ctx context.Context, items, assetIDs []uint64) error {
	var sets []map[string]any
	for _, it := range items {
		sets = append(sets, map[string]any{"CustomerPolicyItemId": it, "CustomerAssetItemIdSet": assetIDs})
	}
	return s.c.Call(ctx, api.DeleteCompliancePolicyAssetSetFromWhitelist, map[string]any{"PolicyAssetSetList": sets}, nil)
}

// Whitelist calls DescribeComplianceWhitelistItemList.
func (s *Store) Whitelist(ctx context.Context, q store.Query) ([]store.WhitelistEntry, int, error) {
	return list(ctx, s, api.DescribeComplianceWhitelistItemList, pageParams(q), "WhitelistItemSet", same[store.WhitelistEntry])
}

// EnsurePeriodTasks calls InitializeUserComplianceEnvironment.
func (s *Store) EnsurePeriodTasks(ctx context.Context) error {
	return s.c.Call(ctx, api.InitializeUserComplianceEnvironment, nil, nil)
}

// PeriodTasks calls DescribeCompliancePeriodTaskList.
func (s *Store) PeriodTasks(ctx context.Context) ([]store.PeriodTask, error) {
	var out struct {
		PeriodTaskSet []api.PeriodTaskInfo
	}
	if err := s.c.Call(ctx, api.DescribeCompliancePeriodTaskList, map[string]any{"Limit": store.MaxLimit}, &out); err != nil {
		return nil, err
	}
	var list []store.PeriodTask
	for _, p := range out.PeriodTaskSet {
		pt := store.PeriodTask{ID: p.PeriodTaskId, AssetType: assets.Type(p.AssetType), Rule: p.PeriodRule, TotalPolicyItemCount: p.TotalPolicyItemCount}
		if t, err := time.Parse(time.DateTime, p.LastTriggerTime); err == nil {
			pt.LastTriggerTime = t
		}
		for _, st := range p.BenchmarkStandardSet {
			key, _ := st["StandardKey"].(string)
			name, _ := st["Name"].(string)
			on, _ := st["Enabled"].(bool)
			n, _ := st["PolicyItemCount"].(float64)
			pt.Standards = append(pt.Standards, store.StandardSetting{StandardID: key, Name: name, Enabled: on, PolicyItemCount: int(n)})
		}
		list = append(list, pt)
	}
	return list, nil
}

// SetPeriodTask calls ModifyCompliancePeriodTask; standards are given by
// their string ids and sent as the numeric ids the daemon lists.
func (s *Store) SetPeriodTask(ctx context.Context, id int64, rule *store.PeriodRule, standards map[string]bool) (store.PeriodTask, error) {
	p := map[string]any{"PeriodTaskId": id}
	if rule != nil {
		p["PeriodRule"] = rule
	}
	if len(standards) > 0 {
		var out struct {
			PeriodTaskSet []api.PeriodTaskInfo
		}
		if err := s.c.Call(ctx, api.DescribeCompliancePeriodTaskList, map[string]any{"Limit": store.MaxLimit}, &out); err != nil {
			return store.PeriodTask{}, err
		}
		nums := map[string]any{}
		for _, pt := range out.PeriodTaskSet {
			for _, st := range pt.BenchmarkStandardSet {
				if key, ok := st["StandardKey"].(string); ok {
					nums[key] = st["StandardId"]
				}
			}
		}
		var settings []map[string]any
		for key, on := range standards {
			n, ok := nums[key]
			if !ok {
				return store.PeriodTask{}, fmt.Errorf("%w: standard %q", store.ErrNotFound, key)
			}
			settings = append(settings, map[string]any{"StandardId": n, "Enable": on})
		}
		p["StandardSettings"] = settings
	}
	if err := s.c.Call(ctx, api.ModifyCompliancePeriodTask, p, nil); err != nil {
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
	var out struct{ TaskId int64 }
	var err error
	switch {
	case len(scope.Items) == 1 && len(scope.Assets) > 0:
		err = s.c.Call(ctx, api.ScanComplianceAssetsByPolicyItem, map[string]any{"CustomerPolicyItemId": scope.Items[0], "CustomerAssetIdSet": scope.Assets}, &out)
	case len(scope.Items) > 0 && len(scope.Assets) == 0:
		err = s.c.Call(ctx, api.ScanCompliancePolicyItems, map[string]any{"CustomerPolicyItemIdSet": scope.Items}, &out)
	case len(scope.Assets) > 0 && len(scope.Items) == 0:
		err = s.c.Call(ctx, api.ScanComplianceAssets, map[string]any{"CustomerAssetIdSet": scope.Assets}, &out)
	case len(scope.Types) > 0 && len(scope.Items) == 0 && len(scope.Assets) == 0:
		err = s.c.Call(ctx, api.CreateComplianceTask, map[string]any{"AssetTypeSet": scope.Types}, &out)
	default:
		return 0, fmt.Errorf("%w: through --server, recheck assets, items, one item on assets, or asset types", store.ErrInvalidParameter)
	}
	return out.TaskId, err
}
