package server

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/scan"
	"github.com/baselinehq/baseline/store"
)

// actions maps every action name to its handler.
var actions = map[string]handler{
	api.InitializeUserComplianceEnvironment:           initialize,
	api.DescribeComplianceTaskAssetSummary:            describeSummary,
	api.DescribeComplianceAssetList:                   describeAssets,
	api.DescribeComplianceAssetDetailInfo:             describeAssetDetail,
	api.DescribeComplianceAssetPolicyItemList:         describeAssetItems,
	api.DescribeComplianceTaskPolicyItemSummaryList:   describeItems,
	api.DescribeCompliancePolicyItemAffectedSummary:   describeItemSummary,
	api.DescribeCompliancePolicyItemAffectedAssetList: describeItemAssets,
	api.DescribeComplianceScanFailedAssetList:         describeScanFailed,
	api.DescribeComplianceWhitelistItemList:           describeWhitelist,
	api.DescribeCompliancePeriodTaskList:              describePeriodTasks,
	api.ModifyCompliancePeriodTask:                    modifyPeriodTask,
	api.CreateComplianceTask:                          createTask,
	api.ScanComplianceAssets:                          scanAssets,
	api.ScanComplianceAssetsByPolicyItem:              scanAssetsByItem,
	api.ScanCompliancePolicyItems:                     scanItems,
	api.ScanComplianceScanFailedAssets:                scanFailedAssets,
	api.AddCompliancePolicyItemToWhitelist:            addItemToWhitelist,
	api.AddComplianceAssetPolicySetToWhitelist:        addAssetItemsToWhitelist,
	api.AddCompliancePolicyAssetSetToWhitelist:        addItemAssetsToWhitelist,
	api.DeleteCompliancePolicyItemFromWhitelist:       deleteWhitelist,
	api.DeleteComplianceAssetPolicySetFromWhitelist:   deleteAssetItemsFromWhitelist,
	api.DeleteCompliancePolicyAssetSetFromWhitelist:   deleteItemAssetsFromWhitelist,
	api.CreateExportComplianceStatusListJob:           createExportJob,
	api.DescribeExportJobResult:                       describeExportJob,
	api.UploadAction:                                  uploadScan,
}

// standardIDs gives each standard the numeric StandardId of the API: a
// hash of its id, stable across restarts and stores.
type standardIDs struct {
	byNum map[uint64]string
	byID  map[string]uint64
}

func newStandardIDs(cat *checks.Catalog) (standardIDs, error) {
	ids := standardIDs{byNum: map[uint64]string{}, byID: map[string]uint64{}}
	for _, s := range cat.Standards {
		h := fnv.New32a()
		h.Write([]byte(s.ID))
		n := uint64(h.Sum32() & 0x7fffffff)
		if prev, dup := ids.byNum[n]; dup {
			return ids, fmt.Errorf("standards %q and %q hash to the same StandardId; rename one", prev, s.ID)
		}
		ids.byNum[n], ids.byID[s.ID] = s.ID, n
	}
	return ids, nil
}

// page is the paging and filter part of a list request.
type page struct {
	Offset  int            `json:"Offset"`
	Limit   int            `json:"Limit"`
	Filters []store.Filter `json:"Filters"`
}

func (p page) query(extra ...store.Filter) (store.Query, error) {
	q := store.Query{Offset: p.Offset, Limit: p.Limit, Filters: append([]store.Filter{}, p.Filters...)}
	for _, f := range extra {
		if len(f.Values) > 0 { // an empty AssetTypeSet means every type
			q.Filters = append(q.Filters, f)
		}
	}
	for _, f := range p.Filters {
		if f.Name == "" {
			return q, errorf(api.MissingParameter, "Filters.Name is required")
		}
	}
	if q.Limit > store.MaxLimit {
		return q, errorf(api.InvalidParameterValue, "Limit %d exceeds the maximum of %d", q.Limit, store.MaxLimit)
	}
	return q, q.Normalize()
}

// typedPage is a list request filtered by an AssetTypeSet.
type typedPage struct {
	AssetTypeSet []string `json:"AssetTypeSet"`
	page
}

// query checks the asset types and builds the store query.
func (t typedPage) query() (store.Query, error) {
	tf, err := typeFilter(t.AssetTypeSet)
	if err != nil {
		return store.Query{}, err
	}
	return t.page.query(tf)
}

// typeFilter turns an AssetTypeSet into a filter, checking each value.
func typeFilter(set []string) (store.Filter, error) {
	f := store.Filter{Name: "AssetType", ExactMatch: true}
	for _, v := range set {
		t, err := assetType(v)
		if err != nil {
			return f, err
		}
		f.Values = append(f.Values, string(t))
	}
	return f, nil
}

func assetType(v string) (assets.Type, error) {
	for _, t := range assets.Types {
		if string(t) == v {
			return t, nil
		}
	}
	return "", errorf(api.InvalidParameterValue, "AssetType %q is not one of ASSET_HOST, ASSET_CONTAINER, ASSET_IMAGE, ASSET_K8S", v)
}

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

// --- Describe actions ------------------------------------------------------

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
	var req typedPage
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	q, err := req.query()
	if err != nil {
		return nil, err
	}
	list, total, err := s.store.Assets(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]api.ComplianceAssetInfo, 0, len(list))
	for _, a := range list {
		out = append(out, api.NewAssetInfo(a))
	}
	return map[string]any{"TotalCount": total, "AssetInfoList": out}, nil
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

func (s *Server) standardName(id string) string {
	if st, ok := s.runner.Catalog().Standard(id); ok {
		return st.Name
	}
	return id
}

// translateStandardFilter lets clients filter by the numeric StandardId.
func (s *Server) translateStandardFilter(fs []store.Filter) ([]store.Filter, error) {
	out := make([]store.Filter, len(fs))
	for i, f := range fs {
		out[i] = f
		if f.Name != "StandardId" {
			continue
		}
		out[i].Values, out[i].ExactMatch = nil, true
		for _, v := range f.Values {
			n, err := strconv.ParseUint(v, 10, 64)
			if id, ok := s.ids.byNum[n]; err == nil && ok {
				out[i].Values = append(out[i].Values, id)
			} else {
				out[i].Values = append(out[i].Values, v)
			}
		}
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

func describeScanFailed(s *Server, ctx context.Context, body []byte) (any, error) {
	var req typedPage
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	q, err := req.query()
	if err != nil {
		return nil, err
	}
	list, total, err := s.store.ScanFailed(ctx, q)
	if err != nil {
		return nil, err
	}
	type failed struct {
		store.ScanFailedAsset
		CheckStatus string `json:"CheckStatus"`
	}
	out := make([]failed, 0, len(list))
	for _, f := range list {
		out = append(out, failed{ScanFailedAsset: f, CheckStatus: string(checks.CheckFailed)})
	}
	return map[string]any{"TotalCount": total, "ScanFailedAssetList": out}, nil
}

func describeWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		By    string `json:"By"`
		Order string `json:"Order"`
		typedPage
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	q, err := req.query()
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
	type entry struct {
		store.WhitelistEntry
		StandardIdNum      uint64 `json:"StandardId"`
		AffectedAssetCount int    `json:"AffectedAssetCount"`
	}
	out := make([]entry, 0, len(list))
	for _, e := range list {
		out = append(out, entry{WhitelistEntry: e, StandardIdNum: s.ids.byID[e.StandardID], AffectedAssetCount: e.AssetCount})
	}
	if req.Order == "asc" {
		sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	}
	return map[string]any{"TotalCount": total, "WhitelistItemSet": out}, nil
}

// --- period tasks ------------------------------------------------------------

func (s *Server) periodTask(p store.PeriodTask) api.PeriodTaskInfo {
	out := api.PeriodTaskInfo{PeriodTaskId: p.ID, AssetType: string(p.AssetType), TotalPolicyItemCount: p.TotalPolicyItemCount, PeriodRule: p.Rule,
		LastTriggerTime: "0000-00-00 00:00:00", BenchmarkStandardSet: []map[string]any{}}
	if !p.LastTriggerTime.IsZero() {
		out.LastTriggerTime = p.LastTriggerTime.UTC().Format(time.DateTime)
	}
	for _, st := range p.Standards {
		out.BenchmarkStandardSet = append(out.BenchmarkStandardSet, map[string]any{"StandardId": s.ids.byID[st.StandardID], "Name": st.Name,
			"PolicyItemCount": st.PolicyItemCount, "Enabled": st.Enabled, "Description": st.Description, "StandardKey": st.StandardID})
	}
	return out
}

func describePeriodTasks(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		AssetType string `json:"AssetType"`
		Offset    int    `json:"Offset"`
		Limit     int    `json:"Limit"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	q := store.Query{Offset: req.Offset, Limit: req.Limit}
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	list, err := s.store.PeriodTasks(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.PeriodTaskInfo{}
	for _, p := range list {
		if req.AssetType == "" || string(p.AssetType) == req.AssetType {
			out = append(out, s.periodTask(p))
		}
	}
	total := len(out)
	out = out[min(q.Offset, total):min(q.Offset+q.Limit, total)]
	return map[string]any{"TotalCount": total, "PeriodTaskSet": out}, nil
}

func modifyPeriodTask(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		PeriodTaskId     int64             `json:"PeriodTaskId"`
		PeriodRule       *store.PeriodRule `json:"PeriodRule"`
		StandardSettings []struct {
			StandardId uint64 `json:"StandardId"`
			Enable     bool   `json:"Enable"`
		} `json:"StandardSettings"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.PeriodTaskId == 0 {
		return nil, errorf(api.MissingParameter, "PeriodTaskId is required")
	}
	var switches map[string]bool
	for _, st := range req.StandardSettings {
		id, ok := s.ids.byNum[st.StandardId]
		if !ok {
			return nil, errorf(api.InvalidParameterValue, "StandardSettings.StandardId %d is not a known standard", st.StandardId)
		}
		if switches == nil {
			switches = map[string]bool{}
		}
		switches[id] = st.Enable
	}
	if _, err := s.store.SetPeriodTask(ctx, req.PeriodTaskId, req.PeriodRule, switches); err != nil {
		return nil, err
	}
	s.changed()
	return struct{}{}, nil
}

// --- scans ------------------------------------------------------------------

func (s *Server) start(ctx context.Context, trigger store.Trigger, scope store.Scope) (any, error) {
	sel := scan.Options{Types: scope.Types, Standards: scope.Standards, Items: scope.Items}
	for _, id := range scope.Assets {
		sel.Assets = append(sel.Assets, strconv.FormatUint(id, 10))
	}
	task, err := s.runner.Start(ctx, runner.Request{Trigger: trigger, Scope: scope, Select: sel})
	if err != nil {
		return nil, err
	}
	return map[string]any{"TaskId": task.ID}, nil
}

func createTask(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		AssetTypeSet []string `json:"AssetTypeSet"`
		PolicySetId  uint64   `json:"PolicySetId"`
		PeriodTaskId int64    `json:"PeriodTaskId"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	var scope store.Scope
	for _, v := range req.AssetTypeSet {
		t, err := assetType(v)
		if err != nil {
			return nil, err
		}
		scope.Types = append(scope.Types, t)
	}
	if req.PolicySetId != 0 {
		id, ok := s.ids.byNum[req.PolicySetId]
		if !ok {
			return nil, errorf(api.InvalidParameterValue, "PolicySetId %d is not a known standard", req.PolicySetId)
		}
		scope.Standards = []string{id}
	}
	trigger := store.TriggerManual
	if req.PeriodTaskId != 0 {
		periods, err := s.store.PeriodTasks(ctx)
		if err != nil {
			return nil, err
		}
		found := false
		for _, p := range periods {
			if p.ID == req.PeriodTaskId {
				found = true
				scope.Types = append(scope.Types, p.AssetType)
				if len(scope.Standards) == 0 {
					scope.Standards = p.EnabledStandards()
				}
			}
		}
		if !found {
			return nil, errorf(api.ResourceNotFound, "PeriodTaskId %d is not a period task", req.PeriodTaskId)
		}
		if len(scope.Standards) == 0 {
			return nil, errorf(api.InvalidParameterValue, "period task %d has every standard switched off", req.PeriodTaskId)
		}
		trigger = store.TriggerPeriod
	}
	if len(scope.Types) == 0 && len(scope.Standards) == 0 {
		return nil, errorf(api.MissingParameter, "give AssetTypeSet, PolicySetId or PeriodTaskId")
	}
	return s.start(ctx, trigger, scope)
}

func requireIDs(name string, ids []uint64) error {
	if len(ids) == 0 {
		return errorf(api.MissingParameter, "%s is required", name)
	}
	return nil
}

func scanAssets(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerAssetIdSet []uint64 `json:"CustomerAssetIdSet"`
		AssetType          string   `json:"AssetType"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := requireIDs("CustomerAssetIdSet", req.CustomerAssetIdSet); err != nil {
		return nil, err
	}
	return s.start(ctx, store.TriggerRecheck, store.Scope{Assets: req.CustomerAssetIdSet})
}

func scanAssetsByItem(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerPolicyItemId uint64   `json:"CustomerPolicyItemId"`
		CustomerAssetIdSet   []uint64 `json:"CustomerAssetIdSet"`
		AssetType            string   `json:"AssetType"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerPolicyItemId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerPolicyItemId is required")
	}
	if err := requireIDs("CustomerAssetIdSet", req.CustomerAssetIdSet); err != nil {
		return nil, err
	}
	if _, err := s.store.Item(ctx, req.CustomerPolicyItemId); err != nil {
		return nil, err
	}
	return s.start(ctx, store.TriggerRecheck, store.Scope{Items: []uint64{req.CustomerPolicyItemId}, Assets: req.CustomerAssetIdSet})
}

func scanItems(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerPolicyItemIdSet []uint64 `json:"CustomerPolicyItemIdSet"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := requireIDs("CustomerPolicyItemIdSet", req.CustomerPolicyItemIdSet); err != nil {
		return nil, err
	}
	for _, id := range req.CustomerPolicyItemIdSet {
		if _, ok := s.runner.Catalog().Item(id); !ok {
			return nil, errorf(api.ResourceNotFound, "CustomerPolicyItemIdSet: item %d is not known", id)
		}
	}
	return s.start(ctx, store.TriggerRecheck, store.Scope{Items: req.CustomerPolicyItemIdSet})
}

func scanFailedAssets(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerAssetIdSet []uint64 `json:"CustomerAssetIdSet"`
		AssetType          string   `json:"AssetType"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := requireIDs("CustomerAssetIdSet", req.CustomerAssetIdSet); err != nil {
		return nil, err
	}
	return s.start(ctx, store.TriggerRecheck, store.Scope{Assets: req.CustomerAssetIdSet})
}

// --- whitelist ---------------------------------------------------------------

// waiver holds the optional fields this server adds to the spec's
// whitelist requests: why, by whom, until when.
type waiver struct {
	Reason     string `json:"Reason"`
	Operator   string `json:"Operator"`
	ExpireTime string `json:"ExpireTime"`
}

func (w waiver) request(items, assetIDs []uint64, all bool) (store.WhitelistRequest, error) {
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
	var req struct {
		CustomerPolicyItemIdSet []uint64 `json:"CustomerPolicyItemIdSet"`
		waiver
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := requireIDs("CustomerPolicyItemIdSet", req.CustomerPolicyItemIdSet); err != nil {
		return nil, err
	}
	wr, err := req.request(req.CustomerPolicyItemIdSet, nil, true)
	if err != nil {
		return nil, err
	}
	_, err = s.store.AddWhitelist(ctx, wr)
	return struct{}{}, err
}

func addAssetItemsToWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		AssetPolicySetList []struct {
			CustomerAssetItemId     uint64   `json:"CustomerAssetItemId"`
			CustomerPolicyItemIdSet []uint64 `json:"CustomerPolicyItemIdSet"`
		} `json:"AssetPolicySetList"`
		AssetType string `json:"AssetType"`
		waiver
	}
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
		wr, err := req.request(items, []uint64{set.CustomerAssetItemId}, false)
		if err != nil {
			return nil, err
		}
		if _, err := s.store.AddWhitelist(ctx, wr); err != nil {
			return nil, err
		}
	}
	return struct{}{}, nil
}

func addItemAssetsToWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		CustomerPolicyItemId   uint64   `json:"CustomerPolicyItemId"`
		CustomerAssetItemIdSet []uint64 `json:"CustomerAssetItemIdSet"`
		waiver
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerPolicyItemId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerPolicyItemId is required")
	}
	wr, err := req.request([]uint64{req.CustomerPolicyItemId}, req.CustomerAssetItemIdSet, len(req.CustomerAssetItemIdSet) == 0)
	if err != nil {
		return nil, err
	}
	_, err = s.store.AddWhitelist(ctx, wr)
	return struct{}{}, err
}

func deleteWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		WhitelistIdSet []int64 `json:"WhitelistIdSet"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.WhitelistIdSet) == 0 {
		return nil, errorf(api.MissingParameter, "WhitelistIdSet is required")
	}
	return struct{}{}, s.store.RemoveWhitelist(ctx, req.WhitelistIdSet)
}

// entriesFor lists every entry of the given items (all when items is nil).
func (s *Server) entriesFor(ctx context.Context) ([]store.WhitelistEntry, error) {
	var all []store.WhitelistEntry
	for off := 0; ; off += store.MaxLimit {
		page, total, err := s.store.Whitelist(ctx, store.Query{Offset: off, Limit: store.MaxLimit})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if off+store.MaxLimit >= total {
			return all, nil
		}
	}
}

func deleteAssetItemsFromWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		AssetItemId             uint64   `json:"AssetItemId"`
		CustomerPolicyItemIdSet []uint64 `json:"CustomerPolicyItemIdSet"`
		AssetType               string   `json:"AssetType"`
	}
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
	return struct{}{}, s.store.RemoveWhitelistAssets(ctx, items, []uint64{req.AssetItemId})
}

func deleteItemAssetsFromWhitelist(s *Server, ctx context.Context, body []byte) (any, error) {
	var req struct {
		PolicyAssetSetList []struct {
			CustomerPolicyItemId   uint64   `json:"CustomerPolicyItemId"`
			CustomerAssetItemIdSet []uint64 `json:"CustomerAssetItemIdSet"`
		} `json:"PolicyAssetSetList"`
	}
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
	return struct{}{}, nil
}
