package apitest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/store"
)

// apiEnv is a daemon over a store holding a real scan with a privileged
// and a plain container.
type apiEnv struct {
	bin, data   string
	d           *daemon
	full, ro    *client
	priv, plain uint64 // CustomerAssetIds
	privRef     string // the privileged container's id
}

func setupAPIEnv(t *testing.T) *apiEnv {
	cli := dockertest.Engine(t)
	privRef := dockertest.Create(t, cli, dockertest.Name("api-priv"), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{Privileged: true})
	dockertest.Create(t, cli, dockertest.Name("api-plain"), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{})
	e := &apiEnv{bin: binary(t), data: t.TempDir(), privRef: privRef}
	scanOnce(t, e.bin, e.data) // before serve: the daemon starts on a filled store
	e.d = startDaemon(t, e.bin, e.data)
	e.full = newClient(t, e.d.addr, fullID, fullKey)
	e.ro = newClient(t, e.d.addr, roID, roKey)

	var list assetList
	e.full.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Limit": 100,
		"Filters": []map[string]any{{"Name": "AssetName", "Values": []string{dockertest.Name("api-")}}}}, &list)
	for _, a := range list.AssetInfoList {
		switch a.AssetName {
		case dockertest.Name("api-priv"):
			e.priv = a.CustomerAssetId
		case dockertest.Name("api-plain"):
			e.plain = a.CustomerAssetId
		}
	}
	if e.priv == 0 || e.plain == 0 {
		t.Fatalf("the test containers are not in DescribeComplianceAssetList: %+v", list)
	}
	return e
}

func (e *apiEnv) asset(t *testing.T, id uint64) assetInfo {
	t.Helper()
	var list assetList
	e.full.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Limit": 100,
		"Filters": []map[string]any{{"Name": "AssetName", "Values": []string{dockertest.Name("api-")}}}}, &list)
	for _, a := range list.AssetInfoList {
		if a.CustomerAssetId == id {
			return a
		}
	}
	t.Fatalf("asset %d not listed: %+v", id, list)
	return assetInfo{}
}

// affected is item 5.5's result on an asset, from the item's affected list.
func (e *apiEnv) affected(t *testing.T, id uint64) assetItem {
	t.Helper()
	// Every page: the engine may hold any number of other containers.
	for offset := 0; ; offset += 100 {
		var out struct {
			TotalCount        int
			AffectedAssetList []assetItem
		}
		e.full.ok("DescribeCompliancePolicyItemAffectedAssetList", map[string]any{"CustomerPolicyItemId": item55, "Offset": offset, "Limit": 100}, &out)
		for _, a := range out.AffectedAssetList {
			if a.CustomerAssetId == id {
				return a
			}
		}
		if len(out.AffectedAssetList) == 0 || offset+100 >= out.TotalCount {
			t.Fatalf("asset %d not affected by item %d among %d assets", id, item55, out.TotalCount)
		}
	}
}

func (e *apiEnv) whitelist(t *testing.T) whitelistResp {
	t.Helper()
	var w whitelistResp
	e.full.ok("DescribeComplianceWhitelistItemList", map[string]any{"Limit": 100}, &w)
	if w.TotalCount != len(w.WhitelistItemSet) {
		t.Fatalf("whitelist: TotalCount %d, %d listed", w.TotalCount, len(w.WhitelistItemSet))
	}
	return w
}

// checkIgnored checks whether item 5.5 is ignored on the privileged
// container, through the affected list and the asset's counts.
// wantID is the whitelist entry that ignores it (0: not ignored).
func (e *apiEnv) checkIgnored(t *testing.T, what string, wantID int64, base assetInfo) {
	t.Helper()
	ignored := wantID != 0
	a := e.affected(t, e.priv)
	if a.CheckResult != string(checks.ResultFailed) {
		t.Errorf("%s: item 5.5 on the privileged container: %s, want RESULT_FAILED (an ignored result is still recorded)", what, a.CheckResult)
	}
	info := e.asset(t, e.priv)
	if ignored {
		if a.WhitelistId != uint64(wantID) {
			t.Errorf("%s: WhitelistId %d on the ignored result, want the entry's id %d", what, a.WhitelistId, wantID)
		}
		if info.FailedPolicyItemCount != base.FailedPolicyItemCount-1 || info.IgnoredPolicyItemCount != base.IgnoredPolicyItemCount+1 {
			t.Errorf("%s: failed/ignored %d/%d, want %d/%d", what, info.FailedPolicyItemCount, info.IgnoredPolicyItemCount,
				base.FailedPolicyItemCount-1, base.IgnoredPolicyItemCount+1)
		}
		return
	}
	if a.WhitelistId != 0 {
		t.Errorf("%s: WhitelistId %d on a result no longer ignored", what, a.WhitelistId)
	}
	if info.FailedPolicyItemCount != base.FailedPolicyItemCount || info.IgnoredPolicyItemCount != base.IgnoredPolicyItemCount {
		t.Errorf("%s: failed/ignored %d/%d, want %d/%d (restored)", what, info.FailedPolicyItemCount, info.IgnoredPolicyItemCount,
			base.FailedPolicyItemCount, base.IgnoredPolicyItemCount)
	}
}

// scan starts a scan action, requires a TaskId and waits for the task to
// finish.
func (e *apiEnv) scan(t *testing.T, action string, params map[string]any) store.Task {
	t.Helper()
	var out struct{ TaskId int64 }
	e.full.ok(action, params, &out)
	if out.TaskId == 0 {
		t.Fatalf("%s: no TaskId", action)
	}
	return waitFinished(t, e.bin, e.data, out.TaskId)
}

// Every compliance action, through the official SDK's common client, on a
// real daemon over a store holding a real scan of the local engine.
func TestSDKEveryAction(t *testing.T) {
	e := setupAPIEnv(t)
	full := e.full

	t.Run("InitializeUserComplianceEnvironment", func(t *testing.T) {
		var before, after periodTaskResp
		full.ok("DescribeCompliancePeriodTaskList", nil, &before)
		full.ok("InitializeUserComplianceEnvironment", nil, nil)
		full.ok("InitializeUserComplianceEnvironment", map[string]any{}, nil) // idempotent
		full.ok("DescribeCompliancePeriodTaskList", nil, &after)
		if before.TotalCount != 4 || after.TotalCount != before.TotalCount {
			t.Errorf("period tasks %d before, %d after two initializations (one per asset type: 4)", before.TotalCount, after.TotalCount)
		}
		b, _ := json.Marshal(before)
		a, _ := json.Marshal(after)
		if string(a) != string(b) {
			t.Errorf("initializing twice changed the period tasks:\n%s\n%s", b, a)
		}
	})

	var sum summaryResp
	t.Run("DescribeComplianceTaskAssetSummary", func(t *testing.T) {
		full.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER", "ASSET_HOST", "ASSET_IMAGE"}}, &sum)
		if sum.Status != "USER_NORMAL" {
			t.Errorf("Status %q", sum.Status)
		}
		for _, typ := range []string{"ASSET_CONTAINER", "ASSET_HOST", "ASSET_IMAGE"} {
			s := sum.of(t, typ)
			if s.CheckStatus != checks.CheckFinished || s.IsCustomerFirstCheck || s.LastCheckTime == "0000-00-00 00:00:00" || s.AssetCount == 0 {
				t.Errorf("%s: %+v", typ, s)
			}
			if s.PassedAssetCount+s.FailedAssetCount+s.ScanFailedAssetCount != s.AssetCount {
				t.Errorf("%s: passed %d + failed %d + scan-failed %d != %d assets", typ, s.PassedAssetCount, s.FailedAssetCount, s.ScanFailedAssetCount, s.AssetCount)
			}
		}
		c := sum.of(t, "ASSET_CONTAINER")
		if c.AssetCount < 2 || c.FailedAssetCount < 1 || c.FailedCriticalPolicyItemCount < 1 {
			t.Errorf("containers: %+v (the privileged one fails 5.5, a critical item)", c)
		}
	})

	t.Run("DescribeComplianceAssetList", func(t *testing.T) {
		var list assetList
		full.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Limit": 100}, &list)
		// The engine may hold other containers than the test's: one page
		// of at most 100 of them, the total as the summary counts.
		if list.TotalCount != sum.of(t, "ASSET_CONTAINER").AssetCount || len(list.AssetInfoList) != min(list.TotalCount, 100) {
			t.Errorf("TotalCount %d, %d listed, summary says %d containers", list.TotalCount, len(list.AssetInfoList), sum.of(t, "ASSET_CONTAINER").AssetCount)
		}
		var page assetList
		full.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Offset": 1, "Limit": 1}, &page)
		if page.TotalCount != list.TotalCount || len(page.AssetInfoList) != 1 || page.AssetInfoList[0] != list.AssetInfoList[1] {
			t.Errorf("Offset 1 Limit 1: %+v, want the second of %+v", page, list.AssetInfoList)
		}
		var exact assetList
		full.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"},
			"Filters": []map[string]any{{"Name": "AssetName", "Values": []string{dockertest.Name("api-priv")}, "ExactMatch": true}}}, &exact)
		if exact.TotalCount != 1 || exact.AssetInfoList[0].CustomerAssetId != e.priv {
			t.Errorf("AssetName filter: %+v", exact)
		}
		p, q := e.asset(t, e.priv), e.asset(t, e.plain)
		if p.CheckResult != string(checks.ResultFailed) || p.FailedPolicyItemCount < 1 || p.CheckStatus != string(checks.CheckFinished) || p.AssetType != "ASSET_CONTAINER" {
			t.Errorf("privileged container: %+v", p)
		}
		if p.FailedPolicyItemCount <= q.FailedPolicyItemCount {
			t.Errorf("the privileged container fails %d items, the plain one %d", p.FailedPolicyItemCount, q.FailedPolicyItemCount)
		}
	})

	t.Run("DescribeComplianceAssetDetailInfo", func(t *testing.T) {
		var out struct {
			AssetDetailInfo struct {
				CustomerAssetId       uint64
				AssetType             string
				AssetName             string
				CheckResult           string
				FailedPolicyItemCount int
				AssetStatus           string
			}
			ContainerDetailInfo struct{ ContainerId string }
		}
		full.ok("DescribeComplianceAssetDetailInfo", map[string]any{"CustomerAssetId": e.priv}, &out)
		d := out.AssetDetailInfo
		if d.CustomerAssetId != e.priv || d.AssetType != "ASSET_CONTAINER" || d.AssetName != dockertest.Name("api-priv") ||
			d.CheckResult != string(checks.ResultFailed) || d.AssetStatus != "ASSET_STOPPED" {
			t.Errorf("detail: %+v", d)
		}
		if out.ContainerDetailInfo.ContainerId != e.privRef {
			t.Errorf("ContainerId %q, want %q", out.ContainerDetailInfo.ContainerId, e.privRef)
		}
		full.fails(api.ResourceNotFound, "DescribeComplianceAssetDetailInfo", map[string]any{"CustomerAssetId": 12345})
	})

	t.Run("DescribeComplianceAssetPolicyItemList", func(t *testing.T) {
		result := func(asset uint64) (assetItem, int) {
			var out struct {
				TotalCount          int
				AssetPolicyItemList []assetItem
			}
			full.ok("DescribeComplianceAssetPolicyItemList", map[string]any{"CustomerAssetId": asset, "Limit": 100}, &out)
			for _, r := range out.AssetPolicyItemList {
				if r.CustomerPolicyItemId == item55 {
					return r, out.TotalCount
				}
			}
			t.Fatalf("item 5.5 not listed on asset %d: %+v", asset, out)
			return assetItem{}, 0
		}
		p, n := result(e.priv)
		if p.CheckResult != string(checks.ResultFailed) || p.CheckStatus != string(checks.CheckFinished) || p.BenchmarkNumber != "5.5" ||
			p.RiskLevel != "RISK_CRITICAL" || !strings.Contains(strings.ToLower(p.VerifyInfo), "privileged") || p.BenchmarkStandardId == 0 || n < 10 {
			t.Errorf("5.5 on the privileged container (of %d): %+v", n, p)
		}
		if q, _ := result(e.plain); q.CheckResult != string(checks.ResultPassed) {
			t.Errorf("5.5 on the plain container: %+v", q)
		}
		var failed struct {
			TotalCount          int
			AssetPolicyItemList []assetItem
		}
		full.ok("DescribeComplianceAssetPolicyItemList", map[string]any{"CustomerAssetId": e.priv, "Limit": 100,
			"Filters": []map[string]any{{"Name": "CheckResult", "Values": []string{"RESULT_FAILED"}, "ExactMatch": true}}}, &failed)
		if failed.TotalCount != e.asset(t, e.priv).FailedPolicyItemCount {
			t.Errorf("failed items listed %d, the asset counts %d", failed.TotalCount, e.asset(t, e.priv).FailedPolicyItemCount)
		}
	})

	t.Run("DescribeComplianceTaskPolicyItemSummaryList", func(t *testing.T) {
		var out struct {
			TaskId                int64
			TotalCount            int
			PolicyItemSummaryList []itemSummary
		}
		full.ok("DescribeComplianceTaskPolicyItemSummaryList", map[string]any{"AssetType": "ASSET_CONTAINER", "Limit": 100}, &out)
		if out.TaskId == 0 || out.TotalCount != sum.of(t, "ASSET_CONTAINER").TotalPolicyItemCount || len(out.PolicyItemSummaryList) != out.TotalCount {
			t.Errorf("TaskId %d, TotalCount %d (%d listed), summary says %d items", out.TaskId, out.TotalCount, len(out.PolicyItemSummaryList),
				sum.of(t, "ASSET_CONTAINER").TotalPolicyItemCount)
		}
		i := slices.IndexFunc(out.PolicyItemSummaryList, func(s itemSummary) bool { return s.CustomerPolicyItemId == item55 })
		if i < 0 {
			t.Fatalf("item 5.5 not listed")
		}
		if s := out.PolicyItemSummaryList[i]; s.CheckResult != string(checks.ResultFailed) || s.FailedAssetCount < 1 || s.PassedAssetCount < 1 || s.AssetType != "ASSET_CONTAINER" {
			t.Errorf("5.5: %+v", s)
		}
		var critical struct{ PolicyItemSummaryList []itemSummary }
		full.ok("DescribeComplianceTaskPolicyItemSummaryList", map[string]any{"AssetType": "ASSET_CONTAINER", "Limit": 100,
			"Filters": []map[string]any{{"Name": "RiskLevel", "Values": []string{"RISK_CRITICAL"}, "ExactMatch": true}}}, &critical)
		if !slices.ContainsFunc(critical.PolicyItemSummaryList, func(s itemSummary) bool { return s.CustomerPolicyItemId == item55 }) ||
			len(critical.PolicyItemSummaryList) >= out.TotalCount {
			t.Errorf("RiskLevel filter: %d items", len(critical.PolicyItemSummaryList))
		}
	})

	t.Run("DescribeCompliancePolicyItemAffectedSummary", func(t *testing.T) {
		var out struct{ PolicyItemSummary itemSummary }
		full.ok("DescribeCompliancePolicyItemAffectedSummary", map[string]any{"CustomerPolicyItemId": item55}, &out)
		s := out.PolicyItemSummary
		if s.CustomerPolicyItemId != item55 || s.BenchmarkNumber != "5.5" || !strings.Contains(strings.ToLower(s.Name), "privileged") ||
			s.CheckResult != string(checks.ResultFailed) || s.FailedAssetCount < 1 {
			t.Errorf("5.5: %+v", s)
		}
		full.fails(api.ResourceNotFound, "DescribeCompliancePolicyItemAffectedSummary", map[string]any{"CustomerPolicyItemId": 999999999})
	})

	t.Run("DescribeCompliancePolicyItemAffectedAssetList", func(t *testing.T) {
		p := e.affected(t, e.priv)
		if p.CheckResult != string(checks.ResultFailed) || p.WhitelistId != 0 || p.AssetName != dockertest.Name("api-priv") || p.AssetType != "ASSET_CONTAINER" {
			t.Errorf("privileged container: %+v", p)
		}
		if q := e.affected(t, e.plain); q.CheckResult != string(checks.ResultPassed) {
			t.Errorf("plain container: %+v", q)
		}
		var failed struct {
			TotalCount        int
			AffectedAssetList []assetItem
		}
		full.ok("DescribeCompliancePolicyItemAffectedAssetList", map[string]any{"CustomerPolicyItemId": item55, "Limit": 100,
			"Filters": []map[string]any{{"Name": "CheckResult", "Values": []string{"RESULT_FAILED"}, "ExactMatch": true}}}, &failed)
		ids := []uint64{}
		for _, a := range failed.AffectedAssetList {
			ids = append(ids, a.CustomerAssetId)
		}
		if !slices.Contains(ids, e.priv) || slices.Contains(ids, e.plain) || failed.TotalCount != len(ids) {
			t.Errorf("CheckResult=RESULT_FAILED lists %v (TotalCount %d)", ids, failed.TotalCount)
		}
	})

	t.Run("DescribeComplianceScanFailedAssetList", func(t *testing.T) {
		var out struct {
			TotalCount          int
			ScanFailedAssetList []struct {
				CustomerAssetId uint64
				FailureReason   string
				CheckStatus     string
			}
		}
		full.ok("DescribeComplianceScanFailedAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER", "ASSET_HOST", "ASSET_IMAGE"}, "Limit": 100}, &out)
		want := 0
		for _, r := range sum.AssetSummaryList {
			want += r.ScanFailedAssetCount
		}
		if out.TotalCount != want || len(out.ScanFailedAssetList) != want {
			t.Errorf("scan-failed assets %d listed (TotalCount %d), the summary counts %d", len(out.ScanFailedAssetList), out.TotalCount, want)
		}
		for _, f := range out.ScanFailedAssetList {
			if f.CheckStatus != string(checks.CheckFailed) || f.FailureReason == "" {
				t.Errorf("scan-failed asset: %+v", f)
			}
		}
	})

	t.Run("Whitelist", func(t *testing.T) {
		if w := e.whitelist(t); w.TotalCount != 0 {
			t.Fatalf("whitelist not empty at start: %+v", w)
		}
		base := e.asset(t, e.priv)
		e.checkIgnored(t, "before", 0, base)

		// An unrelated entry first, so that 5.5's entries never have the
		// first id: a WhitelistId must be the entry's id, not a flag.
		full.ok("AddCompliancePolicyItemToWhitelist", map[string]any{"CustomerPolicyItemIdSet": []uint64{item511}}, nil)
		w := e.whitelist(t)
		if w.TotalCount != 1 || w.WhitelistItemSet[0].CustomerPolicyItemId != item511 {
			t.Fatalf("after whitelisting 5.11: %+v", w)
		}
		other := w.WhitelistItemSet[0].WhitelistItemId
		base = e.asset(t, e.priv) // 5.11 now ignored too
		// entry55 is the whitelist's one entry of item 5.5 besides other.
		entry55 := func(what string) whitelistEntry {
			t.Helper()
			w := e.whitelist(t)
			var found []whitelistEntry
			for _, x := range w.WhitelistItemSet {
				if x.WhitelistItemId != other {
					found = append(found, x)
				}
			}
			if len(found) != 1 || found[0].CustomerPolicyItemId != item55 || len(w.WhitelistItemSet) != 2 {
				t.Fatalf("%s: whitelist %+v, want 5.11's entry %d and one of 5.5", what, w, other)
			}
			return found[0]
		}
		onlyOther := func(what string) {
			t.Helper()
			if w := e.whitelist(t); w.TotalCount != 1 || w.WhitelistItemSet[0].WhitelistItemId != other {
				t.Errorf("%s: whitelist %+v, want only 5.11's entry %d", what, w, other)
			}
		}

		// 1. An item for every asset.
		full.ok("AddCompliancePolicyItemToWhitelist", map[string]any{"CustomerPolicyItemIdSet": []uint64{item55}, "Reason": "api test", "Operator": "apitest"}, nil)
		x := entry55("AddCompliancePolicyItemToWhitelist")
		if !x.IsAll || x.WhitelistItemId == 0 || x.Reason != "api test" || x.Operator != "apitest" || x.StandardId == 0 ||
			x.AffectedAssetCount != sum.of(t, "ASSET_CONTAINER").AssetCount {
			t.Errorf("after AddCompliancePolicyItemToWhitelist: %+v", x)
		}
		e.checkIgnored(t, "item whitelisted", x.WhitelistItemId, base)
		var is struct{ PolicyItemSummary itemSummary }
		full.ok("DescribeCompliancePolicyItemAffectedSummary", map[string]any{"CustomerPolicyItemId": item55}, &is)
		if is.PolicyItemSummary.WhitelistId != uint64(x.WhitelistItemId) || is.PolicyItemSummary.FailedAssetCount != 0 || is.PolicyItemSummary.IgnoredAssetCount < 1 {
			t.Errorf("item summary while whitelisted by entry %d: %+v", x.WhitelistItemId, is.PolicyItemSummary)
		}
		var s2 summaryResp
		full.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &s2)
		if c := s2.of(t, "ASSET_CONTAINER"); c.IgnoredPolicyItemCount != sum.of(t, "ASSET_CONTAINER").IgnoredPolicyItemCount+2 ||
			c.OpenPolicyItemCount != sum.of(t, "ASSET_CONTAINER").OpenPolicyItemCount-2 {
			t.Errorf("summary while 5.5 and 5.11 are whitelisted: ignored %d open %d", c.IgnoredPolicyItemCount, c.OpenPolicyItemCount)
		}
		// A client removes the entry by the WhitelistId it was shown.
		shown := e.affected(t, e.priv).WhitelistId
		full.ok("DeleteCompliancePolicyItemFromWhitelist", map[string]any{"WhitelistIdSet": []uint64{shown}}, nil)
		onlyOther("DeleteCompliancePolicyItemFromWhitelist by the WhitelistId shown")
		e.checkIgnored(t, "item entry deleted", 0, base)

		// 2. A set of items on one asset.
		full.ok("AddComplianceAssetPolicySetToWhitelist", map[string]any{"AssetPolicySetList": []map[string]any{
			{"CustomerAssetItemId": e.priv, "CustomerPolicyItemIdSet": []uint64{item55}}}, "AssetType": "ASSET_CONTAINER"}, nil)
		x = entry55("AddComplianceAssetPolicySetToWhitelist")
		if x.IsAll || !slices.Equal(x.CustomerAssetIds, []uint64{e.priv}) || x.AffectedAssetCount != 1 {
			t.Errorf("after AddComplianceAssetPolicySetToWhitelist: %+v", x)
		}
		e.checkIgnored(t, "item set on the asset", x.WhitelistItemId, base)
		if q := e.affected(t, e.plain); q.WhitelistId != 0 {
			t.Errorf("the plain container is ignored too: %+v", q)
		}
		full.ok("DeleteComplianceAssetPolicySetFromWhitelist", map[string]any{"AssetItemId": e.priv, "CustomerPolicyItemIdSet": []uint64{item55}}, nil)
		onlyOther("DeleteComplianceAssetPolicySetFromWhitelist")
		e.checkIgnored(t, "asset's item set deleted", 0, base)

		// 3. One item on a set of assets.
		full.ok("AddCompliancePolicyAssetSetToWhitelist", map[string]any{"CustomerPolicyItemId": item55, "CustomerAssetItemIdSet": []uint64{e.priv}}, nil)
		x = entry55("AddCompliancePolicyAssetSetToWhitelist")
		if x.IsAll || !slices.Equal(x.CustomerAssetIds, []uint64{e.priv}) {
			t.Errorf("after AddCompliancePolicyAssetSetToWhitelist: %+v", x)
		}
		e.checkIgnored(t, "item on an asset set", x.WhitelistItemId, base)
		full.ok("DeleteCompliancePolicyAssetSetFromWhitelist", map[string]any{"PolicyAssetSetList": []map[string]any{
			{"CustomerPolicyItemId": item55, "CustomerAssetItemIdSet": []uint64{e.priv}}}}, nil)
		onlyOther("DeleteCompliancePolicyAssetSetFromWhitelist")
		e.checkIgnored(t, "item's asset set deleted", 0, base)

		// Removing what is not there is an error, not a silent success.
		full.fails(api.ResourceNotFound, "DeleteCompliancePolicyAssetSetFromWhitelist", map[string]any{"PolicyAssetSetList": []map[string]any{
			{"CustomerPolicyItemId": item55, "CustomerAssetItemIdSet": []uint64{e.priv}}}})

		full.ok("DeleteCompliancePolicyItemFromWhitelist", map[string]any{"WhitelistIdSet": []int64{other}}, nil)
		if w := e.whitelist(t); w.TotalCount != 0 {
			t.Errorf("whitelist not empty at the end: %+v", w)
		}
	})

	t.Run("WhitelistPages", func(t *testing.T) {
		items := []uint64{item55, item511, item513}
		for _, it := range items { // ids ascend in this order
			full.ok("AddCompliancePolicyItemToWhitelist", map[string]any{"CustomerPolicyItemIdSet": []uint64{it}}, nil)
		}
		pageOf := func(order string, offset int) []uint64 {
			t.Helper()
			var w whitelistResp
			full.ok("DescribeComplianceWhitelistItemList", map[string]any{"Order": order, "Offset": offset, "Limit": 2}, &w)
			if w.TotalCount != 3 {
				t.Errorf("TotalCount %d, want 3", w.TotalCount)
			}
			var got []uint64
			for _, x := range w.WhitelistItemSet {
				got = append(got, x.CustomerPolicyItemId)
			}
			return got
		}
		// Newest first by default; oldest first with Order asc, across pages.
		for _, c := range []struct {
			order  string
			offset int
			want   []uint64
		}{
			{"", 0, []uint64{item513, item511}}, {"", 2, []uint64{item55}}, {"desc", 0, []uint64{item513, item511}},
			{"asc", 0, []uint64{item55, item511}}, {"asc", 2, []uint64{item513}}, {"asc", 3, nil},
		} {
			if got := pageOf(c.order, c.offset); !slices.Equal(got, c.want) {
				t.Errorf("Order %q Offset %d Limit 2: items %v, want %v", c.order, c.offset, got, c.want)
			}
		}
		w := e.whitelist(t)
		var ids []int64
		for _, x := range w.WhitelistItemSet {
			ids = append(ids, x.WhitelistItemId)
		}
		full.ok("DeleteCompliancePolicyItemFromWhitelist", map[string]any{"WhitelistIdSet": ids}, nil)
		if w := e.whitelist(t); w.TotalCount != 0 {
			t.Errorf("whitelist not empty: %+v", w)
		}
	})

	t.Run("PeriodTasks", func(t *testing.T) {
		var list periodTaskResp
		full.ok("DescribeCompliancePeriodTaskList", map[string]any{"AssetType": "ASSET_CONTAINER"}, &list)
		if list.TotalCount != 1 || len(list.PeriodTaskSet) != 1 || len(list.PeriodTaskSet[0].BenchmarkStandardSet) == 0 {
			t.Fatalf("container period task: %+v", list)
		}
		pt := list.PeriodTaskSet[0]
		orig := pt.PeriodRule
		std := pt.BenchmarkStandardSet[0]
		if !std.Enabled || std.PolicyItemCount == 0 || std.StandardId == 0 {
			t.Fatalf("standard %+v", std)
		}
		// Twelve hours from now: the scheduler does not fire during the test.
		at := time.Now().Add(12 * time.Hour).Format(time.TimeOnly)
		full.ok("ModifyCompliancePeriodTask", map[string]any{"PeriodTaskId": pt.PeriodTaskId,
			"PeriodRule":       map[string]any{"Frequency": 3, "ExecutionTime": at, "Enable": true},
			"StandardSettings": []map[string]any{{"StandardId": std.StandardId, "Enable": false}}}, nil)
		var after periodTaskResp
		full.ok("DescribeCompliancePeriodTaskList", map[string]any{"AssetType": "ASSET_CONTAINER"}, &after)
		got := after.PeriodTaskSet[0]
		if got.PeriodRule != (store.PeriodRule{Frequency: 3, ExecutionTime: at, Enable: true}) {
			t.Errorf("PeriodRule after the change: %+v", got.PeriodRule)
		}
		for _, s := range got.BenchmarkStandardSet {
			if s.StandardId == std.StandardId && s.Enabled {
				t.Errorf("standard %d still enabled: %+v", s.StandardId, s)
			}
		}
		if got.TotalPolicyItemCount != pt.TotalPolicyItemCount-std.PolicyItemCount {
			t.Errorf("TotalPolicyItemCount %d, want %d - %d", got.TotalPolicyItemCount, pt.TotalPolicyItemCount, std.PolicyItemCount)
		}
		var s summaryResp
		full.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &s)
		if r := s.AssetSummaryList[0].PeriodRule; r == nil || *r != got.PeriodRule {
			t.Errorf("the summary's PeriodRule: %+v", r)
		}
		// Bad rules are refused and change nothing.
		full.fails(api.InvalidParameterValue, "ModifyCompliancePeriodTask", map[string]any{"PeriodTaskId": pt.PeriodTaskId,
			"PeriodRule": map[string]any{"Frequency": 2, "ExecutionTime": "01:00:00", "Enable": true}}, "Frequency")
		full.fails(api.ResourceNotFound, "ModifyCompliancePeriodTask", map[string]any{"PeriodTaskId": 999,
			"PeriodRule": map[string]any{"Frequency": 1, "ExecutionTime": "01:00:00", "Enable": false}})
		// Restore.
		full.ok("ModifyCompliancePeriodTask", map[string]any{"PeriodTaskId": pt.PeriodTaskId,
			"PeriodRule":       map[string]any{"Frequency": orig.Frequency, "ExecutionTime": orig.ExecutionTime, "Enable": orig.Enable},
			"StandardSettings": []map[string]any{{"StandardId": std.StandardId, "Enable": true}}}, nil)
		full.ok("DescribeCompliancePeriodTaskList", map[string]any{"AssetType": "ASSET_CONTAINER"}, &after)
		if after.PeriodTaskSet[0].PeriodRule != orig || after.PeriodTaskSet[0].TotalPolicyItemCount != pt.TotalPolicyItemCount {
			t.Errorf("after restoring: %+v", after.PeriodTaskSet[0])
		}
	})

	t.Run("Scans", func(t *testing.T) {
		// The engine may be shared with other tests: only our containers'
		// results are compared.
		before := len(tasks(t, e.bin, e.data))
		priv0, plain0 := e.asset(t, e.priv), e.asset(t, e.plain)
		k := e.scan(t, "CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}})
		if k.Trigger != store.TriggerManual || !slices.Equal(k.Scope.Types, []assets.Type{assets.Container}) || k.ResultCount == 0 {
			t.Errorf("CreateComplianceTask: %+v", k)
		}
		k = e.scan(t, "ScanComplianceAssets", map[string]any{"CustomerAssetIdSet": []uint64{e.priv, e.plain}, "AssetType": "ASSET_CONTAINER"})
		if k.Trigger != store.TriggerRecheck || !sameIDs(k.Scope.Assets, []uint64{e.priv, e.plain}) || k.ResultCount == 0 {
			t.Errorf("ScanComplianceAssets: %+v", k)
		}
		k = e.scan(t, "ScanComplianceAssetsByPolicyItem", map[string]any{"CustomerPolicyItemId": item55, "CustomerAssetIdSet": []uint64{e.priv}})
		if !slices.Equal(k.Scope.Items, []uint64{item55}) || !slices.Equal(k.Scope.Assets, []uint64{e.priv}) || k.ResultCount != 1 {
			t.Errorf("ScanComplianceAssetsByPolicyItem: %+v (one item on one asset: one result)", k)
		}
		if a := e.affected(t, e.priv); a.CheckResult != string(checks.ResultFailed) {
			t.Errorf("5.5 on the privileged container after its recheck: %+v", a)
		}
		k = e.scan(t, "ScanCompliancePolicyItems", map[string]any{"CustomerPolicyItemIdSet": []uint64{item55}})
		var is struct{ PolicyItemSummary itemSummary }
		full.ok("DescribeCompliancePolicyItemAffectedSummary", map[string]any{"CustomerPolicyItemId": item55}, &is)
		if !slices.Equal(k.Scope.Items, []uint64{item55}) || k.ResultCount < 2 || is.PolicyItemSummary.PassedAssetCount < 1 || is.PolicyItemSummary.FailedAssetCount < 1 {
			t.Errorf("ScanCompliancePolicyItems: %+v; item summary %+v", k, is.PolicyItemSummary)
		}
		k = e.scan(t, "ScanComplianceScanFailedAssets", map[string]any{"CustomerAssetIdSet": []uint64{e.plain}, "AssetType": "ASSET_CONTAINER"})
		if !slices.Equal(k.Scope.Assets, []uint64{e.plain}) || k.ResultCount == 0 {
			t.Errorf("ScanComplianceScanFailedAssets: %+v", k)
		}
		if after := len(tasks(t, e.bin, e.data)); after != before+5 {
			t.Errorf("%d tasks, want %d + 5", after, before)
		}
		// Unknown items and missing ids are refused before any task starts.
		full.fails(api.ResourceNotFound, "ScanCompliancePolicyItems", map[string]any{"CustomerPolicyItemIdSet": []uint64{999999999}})
		full.fails(api.MissingParameter, "ScanComplianceAssets", map[string]any{"CustomerAssetIdSet": []uint64{}}, "CustomerAssetIdSet")
		full.fails(api.MissingParameter, "CreateComplianceTask", map[string]any{})
		if after := len(tasks(t, e.bin, e.data)); after != before+5 {
			t.Errorf("a refused scan started a task: %d tasks, want %d", after, before+5)
		}
		// Our containers' results are unchanged by the rechecks; only the
		// check time moves.
		for _, a0 := range []assetInfo{priv0, plain0} {
			a := e.asset(t, a0.CustomerAssetId)
			if a.LastCheckTime < a0.LastCheckTime {
				t.Errorf("%s: LastCheckTime %s went back from %s", a.AssetName, a.LastCheckTime, a0.LastCheckTime)
			}
			a.LastCheckTime = a0.LastCheckTime
			if a != a0 {
				t.Errorf("after the rechecks:\n got %+v\nwant %+v", a, a0)
			}
		}
		var s summaryResp
		full.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &s)
		if c := s.of(t, "ASSET_CONTAINER"); c.CheckStatus != checks.CheckFinished || c.PassedAssetCount+c.FailedAssetCount+c.ScanFailedAssetCount != c.AssetCount {
			t.Errorf("container summary after the rechecks: %+v", c)
		}
	})

	t.Run("ReadOnlyKey", func(t *testing.T) {
		ro := e.ro
		var s summaryResp
		ro.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &s)
		if s.of(t, "ASSET_CONTAINER").AssetCount == 0 {
			t.Errorf("read-only summary: %+v", s)
		}
		var list assetList
		ro.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &list)
		ro.ok("DescribeCompliancePolicyItemAffectedAssetList", map[string]any{"CustomerPolicyItemId": item55}, nil)
		ro.ok("DescribeComplianceWhitelistItemList", nil, nil)
		ro.ok("DescribeCompliancePeriodTaskList", nil, nil)
		if list.TotalCount == 0 {
			t.Errorf("read-only asset list: %+v", list)
		}

		nTasks := len(tasks(t, e.bin, e.data))
		w0 := e.whitelist(t)
		var p0 periodTaskResp
		full.ok("DescribeCompliancePeriodTaskList", nil, &p0)
		for _, c := range []struct {
			action string
			params map[string]any
		}{
			{"ScanComplianceAssets", map[string]any{"CustomerAssetIdSet": []uint64{e.priv}}},
			{"CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}},
			{"AddCompliancePolicyItemToWhitelist", map[string]any{"CustomerPolicyItemIdSet": []uint64{item55}}},
			{"AddCompliancePolicyAssetSetToWhitelist", map[string]any{"CustomerPolicyItemId": item55, "CustomerAssetItemIdSet": []uint64{e.priv}}},
			{"ModifyCompliancePeriodTask", map[string]any{"PeriodTaskId": p0.PeriodTaskSet[0].PeriodTaskId,
				"PeriodRule": map[string]any{"Frequency": 7, "ExecutionTime": "03:00:00", "Enable": false}}},
			{"InitializeUserComplianceEnvironment", nil},
		} {
			ro.fails(api.AuthFailureUnauthorized, c.action, c.params, roID)
		}
		time.Sleep(300 * time.Millisecond) // a task wrongly started would be recorded by now
		if n := len(tasks(t, e.bin, e.data)); n != nTasks {
			t.Errorf("read-only calls started tasks: %d, want %d", n, nTasks)
		}
		if w := e.whitelist(t); w.TotalCount != w0.TotalCount {
			t.Errorf("read-only calls changed the whitelist: %+v", w)
		}
		var p1 periodTaskResp
		full.ok("DescribeCompliancePeriodTaskList", nil, &p1)
		if b0, _ := json.Marshal(p0); string(b0) != mustJSON(p1) {
			t.Errorf("read-only calls changed the period tasks")
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sameIDs(a, b []uint64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
