package storetest_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

func TestRollupsByHandCount(t *testing.T) { each(t, tRollupsByHandCount) }

func tRollupsByHandCount(t *testing.T, f *fixture) {
	f.Standard(t)
	s := Summary(t, f.DB, assets.Container)
	// Assets: a failed, b passed, c scan-failed (a check could not run),
	// d scan-failed (not inspected): pass rate 1/4, scan-failed counted.
	want := store.AssetSummary{
		AssetType: assets.Container, CheckStatus: checks.CheckFinished, AssetCount: 4,
		PassedAssetCount: 1, FailedAssetCount: 1, ScanFailedAssetCount: 2, AssetPassedRate: 25,
		// Items: C1 failed (a), C2 failed (a), C3 failed (c); C4 manual only.
		PassedPolicyItemCount: 0, FailedPolicyItemCount: 3,
		FailedCriticalPolicyItemCount: 1, FailedHighRiskPolicyItemCount: 1, FailedMediumRiskPolicyItemCount: 1,
		TotalPolicyItemCount: 4, OpenPolicyItemCount: 4, DetectHostCount: 1, CheckCostTime: 1.5,
		LastCheckTime: "2026-03-01 10:00:01",
	}
	if s != want {
		t.Errorf("container summary\n got %+v\nwant %+v", s, want)
	}
	h := Summary(t, f.DB, assets.Host)
	if h.AssetCount != 1 || h.FailedAssetCount != 1 || h.PassedPolicyItemCount != 1 || h.FailedPolicyItemCount != 1 || h.FailedLowRiskPolicyItemCount != 1 || h.AssetPassedRate != 0 {
		t.Errorf("host summary = %+v", h)
	}

	// Per asset.
	a, err := f.DB.Asset(context.Background(), CtrA)
	if err != nil {
		t.Fatal(err)
	}
	if a.PassedPolicyItemCount != 1 || a.FailedPolicyItemCount != 2 || a.ManualCount != 1 || a.CheckResult != checks.ResultFailed {
		t.Errorf("asset a = %+v", a)
	}
	c, _ := f.DB.Asset(context.Background(), CtrC)
	if !c.ScanFailed || c.CheckResult != "" || c.CheckFailedCount != 1 || c.NotApplicableCount != 1 {
		t.Errorf("asset c = %+v", c)
	}
	// Per item: C1 passed on b and c, failed on a, could not run on d.
	it, err := f.DB.Item(context.Background(), 21)
	if err != nil {
		t.Fatal(err)
	}
	if it.PassedAssetCount != 2 || it.FailedAssetCount != 1 || it.CheckFailedCount != 1 || it.CheckResult != checks.ResultFailed {
		t.Errorf("item C1 = %+v", it)
	}
	failed, total, err := f.DB.ScanFailed(context.Background(), store.Query{})
	if err != nil || total != 1 || failed[0].AssetID != CtrD || failed[0].Reason != "inspect failed" {
		t.Errorf("scan-failed = %+v (%d), %v", failed, total, err)
	}
}

// The store's figures equal the in-memory roll-ups of the same report.
func TestStoreAgreesWithReportSummary(t *testing.T) { each(t, tStoreAgreesWithReportSummary) }

func tStoreAgreesWithReportSummary(t *testing.T, f *fixture) {
	rep := f.BuildReport(map[uint64][]string{HostID: {P, F}, CtrA: {F, F, P, M}, CtrB: {P, P, P, M}, CtrC: {P, CF, F, NA}, CtrD: {CF, CF, CF, CF}}, CtrD)
	f.Ingest(t, store.Scope{}, rep)
	for _, ts := range report.Summarize(rep).Types {
		s := Summary(t, f.DB, ts.AssetType)
		if s.AssetCount != ts.AssetCount || s.PassedAssetCount != ts.PassedAssetCount || s.FailedAssetCount != ts.FailedAssetCount ||
			s.ScanFailedAssetCount != ts.ScanFailedAssets || s.FailedPolicyItemCount != ts.FailedItemCount || s.PassedPolicyItemCount != ts.PassedItemCount ||
			s.AssetPassedRate != results.PercentOf(ts.PassedAssetCount, ts.AssetCount) {
			t.Errorf("%s: store %+v, report %+v", ts.AssetType, s, ts)
		}
	}
}

func TestWhitelistKindsAndRemoval(t *testing.T) { each(t, tWhitelistKindsAndRemoval) }

func tWhitelistKindsAndRemoval(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)

	// Kind 1: C1 ignored everywhere. a still fails C2.
	e1, err := f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21}, All: true, Reason: "accepted risk", CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(e1) != 1 || !e1[0].AllAssets || e1[0].AssetCount != 4 || e1[0].Reason != "accepted risk" || e1[0].CreatedBy != "alice" {
		t.Fatalf("entry = %+v", e1)
	}
	s := Summary(t, f.DB, assets.Container)
	if s.FailedPolicyItemCount != 2 || s.FailedCriticalPolicyItemCount != 0 || s.IgnoredPolicyItemCount != 1 || s.OpenPolicyItemCount != 3 {
		t.Errorf("after kind 1: %+v", s)
	}
	a, _ := f.DB.Asset(ctx, CtrA)
	if a.FailedPolicyItemCount != 1 || a.IgnoredCount != 1 {
		t.Errorf("asset a after kind 1: %+v", a)
	}
	// The ignored result stays recorded and visible as ignored.
	res, _, _ := f.DB.AssetItems(ctx, CtrA, store.Query{Filters: []store.Filter{{Name: "CustomerPolicyItemId", Values: []string{"21"}, ExactMatch: true}}})
	if len(res) != 1 || res[0].Result != checks.ResultFailed || !res[0].Ignored || len(res[0].Evidence) != 1 {
		t.Errorf("ignored result = %+v", res)
	}

	// Kind 2: items C2 on asset a: a now passes.
	e2, err := f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{22}, Assets: []uint64{CtrA}, Reason: "legacy app"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ = f.DB.Asset(ctx, CtrA)
	if a.CheckResult != checks.ResultPassed || a.FailedPolicyItemCount != 0 || a.IgnoredCount != 2 {
		t.Errorf("asset a after kind 2: %+v", a)
	}
	if s := Summary(t, f.DB, assets.Container); s.PassedAssetCount != 2 || s.FailedAssetCount != 0 || s.AssetPassedRate != 50 {
		t.Errorf("after kind 2: %+v", s)
	}

	// Kind 3: item C3 on assets b and c (c fails it, b passes it).
	e3, err := f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{23}, Assets: []uint64{CtrB, CtrC}, Reason: "batch jobs"})
	if err != nil {
		t.Fatal(err)
	}
	if e3[0].AssetCount != 2 {
		t.Errorf("kind 3 entry = %+v", e3[0])
	}
	c, _ := f.DB.Asset(ctx, CtrC)
	if c.FailedPolicyItemCount != 0 || c.IgnoredCount != 1 {
		t.Errorf("asset c after kind 3: %+v", c)
	}
	list, total, err := f.DB.Whitelist(ctx, store.Query{Filters: []store.Filter{{Name: "AssetName", Values: []string{"c"}, ExactMatch: false}}})
	if err != nil || total != 1 || list[0].ID != e3[0].ID {
		t.Errorf("search by asset name: %+v (%d) %v", list, total, err)
	}

	// Removals restore normal checking at once.
	if err := f.DB.RemoveWhitelistAssets(ctx, []uint64{23}, []uint64{CtrC}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.DB.Asset(ctx, CtrC); c.FailedPolicyItemCount != 1 {
		t.Errorf("asset c after removing it from kind 3: %+v", c)
	}
	if err := f.DB.RemoveWhitelistAssets(ctx, []uint64{22}, []uint64{CtrA}); err != nil {
		t.Fatal(err)
	}
	if err := f.DB.RemoveWhitelist(ctx, []int64{e1[0].ID}); err != nil {
		t.Fatal(err)
	}
	a, _ = f.DB.Asset(ctx, CtrA)
	if a.FailedPolicyItemCount != 2 || a.IgnoredCount != 0 || a.CheckResult != checks.ResultFailed {
		t.Errorf("asset a after removals: %+v", a)
	}
	if _, total, _ := f.DB.Whitelist(ctx, store.Query{}); total != 1 { // the kind 3 entry, now on b only
		t.Errorf("entries left = %d, want 1", total)
	}
	_ = e2
	if err := f.DB.RemoveWhitelist(ctx, []int64{99999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing an unknown entry: %v", err)
	}
}

// A new task's results are ignored per the whitelist as they land.
func TestWhitelistAppliesToNewResults(t *testing.T) { each(t, tWhitelistAppliesToNewResults) }

func tWhitelistAppliesToNewResults(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	if _, err := f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{22}, Assets: []uint64{CtrA}}); err != nil {
		t.Fatal(err)
	}
	f.Clock.Step(time.Hour)
	f.Ingest(t, store.Scope{Assets: []uint64{CtrA}}, f.BuildReport(map[uint64][]string{CtrA: {P, F, P, M}}))
	a, _ := f.DB.Asset(ctx, CtrA)
	if a.CheckResult != checks.ResultPassed || a.IgnoredCount != 1 {
		t.Errorf("asset a = %+v", a)
	}
}

func TestWhitelistExpiryWithSteppedClock(t *testing.T) { each(t, tWhitelistExpiryWithSteppedClock) }

func tWhitelistExpiryWithSteppedClock(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	_, err := f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21, 22}, Assets: []uint64{CtrA}, ExpiresAt: f.Clock.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.DB.Asset(ctx, CtrA); a.CheckResult != checks.ResultPassed {
		t.Fatalf("before expiry: %+v", a)
	}
	f.Clock.Step(23 * time.Hour)
	if a, _ := f.DB.Asset(ctx, CtrA); a.CheckResult != checks.ResultPassed {
		t.Fatalf("an hour before expiry: %+v", a)
	}
	f.Clock.Step(time.Hour)
	a, _ := f.DB.Asset(ctx, CtrA)
	if a.CheckResult != checks.ResultFailed || a.FailedPolicyItemCount != 2 || a.IgnoredCount != 0 {
		t.Errorf("after expiry: %+v", a)
	}
	list, _, _ := f.DB.Whitelist(ctx, store.Query{})
	if len(list) != 2 || !list[0].Lapsed || list[0].ExpiresAt != "2026-03-02 10:00:00" {
		t.Errorf("lapsed entries stay listed: %+v", list)
	}
	if _, err := f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21}, All: true, ExpiresAt: f.Clock.Now().Add(-time.Minute)}); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("an expiry in the past: %v", err)
	}
}

// Two processes on one store: a second task on an overlapping scope is
// refused, one on a disjoint scope runs.
func TestOverlappingTasksRefusedAcrossConnections(t *testing.T) {
	each(t, tOverlappingTasksRefusedAcrossConnections)
}

func tOverlappingTasksRefusedAcrossConnections(t *testing.T, f *fixture) {
	ctx := context.Background()
	other := f.reopen(t)
	first, err := f.DB.BeginTask(ctx, store.TriggerRecheck, store.Scope{Assets: []uint64{CtrA}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.BeginTask(ctx, store.TriggerRecheck, store.Scope{Assets: []uint64{CtrA, CtrB}}); !errors.Is(err, store.ErrAlreadyScanning) {
		t.Errorf("overlapping task: %v, want ErrAlreadyScanning", err)
	}
	if _, err := other.BeginTask(ctx, store.TriggerManual, store.Scope{}); !errors.Is(err, store.ErrAlreadyScanning) {
		t.Errorf("full scan during a recheck: %v, want ErrAlreadyScanning", err)
	}
	if _, err := other.BeginTask(ctx, store.TriggerRecheck, store.Scope{Assets: []uint64{CtrB}}); err != nil {
		t.Errorf("disjoint task refused: %v", err)
	}
	// Racing starts of one scope: exactly one wins.
	if err := f.DB.FailTask(ctx, first.ID, "test"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, db := range []store.Store{f.DB, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.BeginTask(ctx, store.TriggerRecheck, store.Scope{Assets: []uint64{CtrC}})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Errorf("racing starts: %v / %v, want exactly one refused", errs[0], errs[1])
	}
}

func TestQueriesFilterAndPage(t *testing.T) { each(t, tQueriesFilterAndPage) }

func tQueriesFilterAndPage(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	if _, _, err := f.DB.Items(ctx, store.Query{Limit: 101}); !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), "Limit") {
		t.Errorf("limit 101: %v", err)
	}
	if _, _, err := f.DB.Items(ctx, store.Query{Filters: []store.Filter{{Name: "Colour", Values: []string{"x"}}}}); err == nil || !strings.Contains(err.Error(), `"Colour"`) {
		t.Errorf("unknown filter: %v", err)
	}
	// OR across values, AND across filters.
	items, total, err := f.DB.Items(ctx, store.Query{Filters: []store.Filter{
		{Name: "RiskLevel", Values: []string{"RISK_CRITICAL", "RISK_HIGH"}, ExactMatch: true},
		{Name: "AssetType", Values: []string{"ASSET_CONTAINER"}, ExactMatch: true},
	}})
	if err != nil || total != 2 || items[0].ID != 21 || items[1].ID != 22 {
		t.Errorf("items = %+v (%d), %v", items, total, err)
	}
	// Fuzzy unless exact.
	if _, total, _ := f.DB.Items(ctx, store.Query{Filters: []store.Filter{{Name: "Name", Values: []string{"Item C"}}}}); total != 4 {
		t.Errorf("fuzzy name: %d, want 4", total)
	}
	if _, total, _ := f.DB.Items(ctx, store.Query{Filters: []store.Filter{{Name: "Name", Values: []string{"Item C"}, ExactMatch: true}}}); total != 0 {
		t.Errorf("exact name: %d, want 0", total)
	}
	// Paging keeps the total.
	page, total, err := f.DB.Assets(ctx, store.Query{Offset: 1, Limit: 2})
	if err != nil || total != 5 || len(page) != 2 {
		t.Errorf("assets page = %d of %d, %v", len(page), total, err)
	}
	// An item's affected assets, filtered by result.
	aff, total, err := f.DB.ItemAssets(ctx, 21, store.Query{Filters: []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}}}})
	if err != nil || total != 1 || aff[0].AssetID != CtrA || aff[0].NodeName != "node-1" {
		t.Errorf("affected = %+v (%d), %v", aff, total, err)
	}
}

func TestAssetListShowsWhatAListShows(t *testing.T) { each(t, tAssetListShowsWhatAListShows) }

// tAssetListShowsWhatAListShows: AssetList gives the rows of Assets, in
// the same order and with the same roll-ups, with of the details only a
// host's instance id and an image's tag.
func tAssetListShowsWhatAListShows(t *testing.T, f *fixture) {
	ctx := context.Background()
	rep := f.BuildReport(map[uint64][]string{HostID: {P, F}, CtrA: {F, F, P, M}, CtrB: {P, P, P, M}}, CtrB)
	for i := range rep.Assets {
		switch a := &rep.Assets[i]; a.Type {
		case assets.Host:
			a.Host = &assets.HostDetails{HostName: "node-1", InstanceID: "i-0abc", DockerVersion: "27.1.1"}
		case assets.Container:
			a.Container = &assets.ContainerDetails{ContainerID: a.Ref + "-id", Name: a.Name, State: "running", ImageName: "nginx:1.27"}
		}
	}
	rep.Assets = append(rep.Assets, assets.Asset{ID: 77, Type: assets.Image, Name: "nginx:1.27", Ref: "sha256:77", NodeName: "node-1",
		Image: &assets.ImageDetails{ImageID: "sha256:77", Name: "nginx", Tag: "1.27", Repository: "library/nginx"}})
	f.Ingest(t, store.Scope{}, rep)
	full, total, err := f.DB.Assets(ctx, store.Query{Limit: 100})
	if err != nil || len(full) == 0 {
		t.Fatalf("assets: %d, %v", len(full), err)
	}
	listed, listedTotal, err := f.DB.AssetList(ctx, store.Query{Limit: 100})
	if err != nil || listedTotal != total || len(listed) != len(full) {
		t.Fatalf("asset list: %d of %d, %v; want %d of %d", len(listed), listedTotal, err, len(full), total)
	}
	var sawImage, sawHost bool
	for i, want := range full {
		want.Container = nil
		switch {
		case want.Host != nil:
			want.Host, sawHost = &assets.HostDetails{InstanceID: want.Host.InstanceID}, want.Host.InstanceID == "i-0abc"
		case want.Image != nil:
			want.Image, sawImage = &assets.ImageDetails{Tag: want.Image.Tag}, want.Image.Tag == "1.27"
		}
		if got := listed[i]; !reflect.DeepEqual(got, want) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if !sawImage || !sawHost {
		t.Errorf("the image (%v) or the host (%v) with its details is missing from %+v", sawImage, sawHost, full)
	}
	// Filters and paging as Assets.
	q := store.Query{Offset: 1, Limit: 1, Filters: []store.Filter{{Name: "AssetType", Values: []string{"ASSET_CONTAINER"}, ExactMatch: true}}}
	want, wantTotal, _ := f.DB.Assets(ctx, q)
	got, gotTotal, err := f.DB.AssetList(ctx, q)
	if err != nil || gotTotal != wantTotal || len(got) != 1 || got[0].ID != want[0].ID || got[0].CheckStatus != want[0].CheckStatus {
		t.Errorf("page of containers: %+v (%d), %v; want %+v (%d)", got, gotTotal, err, want, wantTotal)
	}
	checkListPages(t, f, full)
}

// checkListPages checks AssetList's pages, filtered and not, against the
// current assets in list order (all, the whole list): type, name, id.
func checkListPages(t *testing.T, f *fixture, all []store.AssetInfo) {
	t.Helper()
	ctx := context.Background()
	ids := func(list []store.AssetInfo) (out []uint64) {
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	sorted := slices.IsSortedFunc(all, func(a, b store.AssetInfo) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	if !sorted {
		t.Errorf("assets out of list order: %v", ids(all))
	}
	for _, filters := range [][]store.Filter{
		nil,
		{{Name: "AssetType", Values: []string{"ASSET_CONTAINER", "ASSET_IMAGE"}, ExactMatch: true}},
		{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}},
		{{Name: "CheckResult", Values: []string{"RESULT_PASSED"}, ExactMatch: true}, {Name: "AssetType", Values: []string{"ASSET_CONTAINER"}, ExactMatch: true}},
		{{Name: "AssetName", Values: []string{"b"}}},
		{{Name: "CustomerAssetId", Values: []string{strconv.FormatUint(all[len(all)-1].ID, 10)}, ExactMatch: true}},
	} {
		whole, total, err := f.DB.Assets(ctx, store.Query{Limit: 100, Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		for offset := range len(whole) + 1 {
			page, pageTotal, err := f.DB.AssetList(ctx, store.Query{Offset: offset, Limit: 2, Filters: filters})
			want := whole[offset:min(offset+2, len(whole))]
			if err != nil || pageTotal != total || !slices.Equal(ids(page), ids(want)) {
				t.Errorf("%+v, offset %d: %v of %d, %v; want %v of %d", filters, offset, ids(page), pageTotal, err, ids(want), total)
			}
			for i := range min(len(page), len(want)) {
				if page[i].CheckResult != want[i].CheckResult || page[i].ScanFailed != want[i].ScanFailed || page[i].FailedPolicyItemCount != want[i].FailedPolicyItemCount {
					t.Errorf("%+v, offset %d, row %d: %+v, want %+v", filters, offset, i, page[i], want[i])
				}
			}
		}
	}
}

func TestFullScanMarksVanishedAssetsRemoved(t *testing.T) {
	each(t, tFullScanMarksVanishedAssetsRemoved)
}

func tFullScanMarksVanishedAssetsRemoved(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	f.Clock.Step(time.Hour)
	// Container d is gone; a recheck of one asset removes nothing, a full scan does.
	f.Ingest(t, store.Scope{Assets: []uint64{CtrA}}, f.BuildReport(map[uint64][]string{CtrA: {F, F, P, M}}))
	if s := Summary(t, f.DB, assets.Container); s.AssetCount != 4 {
		t.Fatalf("after recheck: %d assets", s.AssetCount)
	}
	f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{HostID: {P, F}, CtrA: {F, F, P, M}, CtrB: {P, P, P, M}, CtrC: {P, P, P, NA}}))
	s := Summary(t, f.DB, assets.Container)
	if s.AssetCount != 3 || s.ScanFailedAssetCount != 0 || s.PassedAssetCount != 2 {
		t.Errorf("after full scan: %+v", s)
	}
	if a, err := f.DB.Asset(ctx, CtrD); err != nil || a.Name != "d" {
		t.Errorf("a removed asset keeps its history: %+v, %v", a, err)
	}
}

func TestDiffAndPrune(t *testing.T) { each(t, tDiffAndPrune) }

func tDiffAndPrune(t *testing.T, f *fixture) {
	ctx := context.Background()
	first := f.Standard(t)
	f.Clock.Step(time.Hour)
	// a fixes C1, b newly fails C3.
	second := f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{HostID: {P, F}, CtrA: {P, F, P, M}, CtrB: {P, P, F, M}, CtrC: {P, CF, F, NA}, CtrD: {CF, CF, CF, CF}}, CtrD))
	d, err := f.DB.Diff(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.From != first.ID || d.To != second.ID || len(d.Fixed) != 1 || d.Fixed[0].AssetID != CtrA || d.Fixed[0].ItemID != 21 ||
		len(d.NewlyFailed) != 1 || d.NewlyFailed[0].AssetID != CtrB || d.NewlyFailed[0].ItemID != 23 {
		t.Errorf("diff = %+v", d)
	}
	f.Clock.Step(time.Hour)
	f.Ingest(t, store.Scope{Assets: []uint64{CtrA}}, f.BuildReport(map[uint64][]string{CtrA: {P, P, P, M}}))
	// Keep one task: the first task's results are no pair's latest and go;
	// the second still holds the latest of every other asset and stays.
	n, err := f.DB.Prune(ctx, 1)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if _, err := f.DB.Task(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("first task still there: %v", err)
	}
	res, _, _ := f.DB.AssetItems(ctx, CtrB, store.Query{})
	for _, r := range res {
		if r.TaskID != second.ID || (r.Result == checks.ResultFailed && len(r.Evidence) == 0) {
			t.Errorf("latest result lost its evidence after pruning: %+v", r)
		}
	}
}

func TestPeriodTasks(t *testing.T) { each(t, tPeriodTasks) }

func tPeriodTasks(t *testing.T, f *fixture) {
	ctx := context.Background()
	for i := 0; i < 2; i++ { // idempotent
		if err := f.DB.EnsurePeriodTasks(ctx); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.DB.PeriodTasks(ctx)
	if err != nil || len(list) != len(assets.Types) {
		t.Fatalf("period tasks = %+v, %v", list, err)
	}
	var ctr store.PeriodTask
	for _, p := range list {
		if p.Rule != store.DefaultPeriodRule {
			t.Errorf("%s: rule %+v, want the default", p.AssetType, p.Rule)
		}
		if p.AssetType == assets.Container {
			ctr = p
		}
	}
	if len(ctr.Standards) != 1 || !ctr.Standards[0].Enabled || ctr.TotalPolicyItemCount != 4 {
		t.Fatalf("container period task = %+v", ctr)
	}
	rule := store.PeriodRule{Frequency: 3, ExecutionTime: "21:30:00", Enable: true}
	got, err := f.DB.SetPeriodTask(ctx, ctr.ID, &rule, map[string]bool{"t-1": false})
	if err != nil {
		t.Fatal(err)
	}
	if got.Rule != rule || got.Standards[0].Enabled || got.TotalPolicyItemCount != 0 || len(got.EnabledStandards()) != 0 {
		t.Errorf("after set: %+v", got)
	}
	for _, bad := range []store.PeriodRule{{Frequency: 2, ExecutionTime: "01:00:00"}, {Frequency: 1, ExecutionTime: "25:00"}} {
		if _, err := f.DB.SetPeriodTask(ctx, ctr.ID, &bad, nil); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("rule %+v: %v", bad, err)
		}
	}
	if _, err := f.DB.SetPeriodTask(ctx, 999, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown period task: %v", err)
	}
	at := f.Clock.Now()
	if err := f.DB.MarkPeriodTriggered(ctx, ctr.ID, at); err != nil {
		t.Fatal(err)
	}
	list, _ = f.DB.PeriodTasks(ctx)
	for _, p := range list {
		if p.ID == ctr.ID && !p.LastTriggerTime.Equal(at) {
			t.Errorf("last trigger = %v, want %v", p.LastTriggerTime, at)
		}
	}
}

// A recheck of one item does not clear the scan failure of another item
// that still could not be carried out: the list and the counts agree.
func TestPartialRecheckKeepsScanFailure(t *testing.T) { each(t, tPartialRecheckKeepsScanFailure) }

func tPartialRecheckKeepsScanFailure(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{CtrA: {P, CF, P, M}}, CtrA))
	f.Clock.Step(time.Hour)
	rep := f.BuildReport(map[uint64][]string{CtrA: {P}})
	f.Ingest(t, store.Scope{Items: []uint64{21}, Assets: []uint64{CtrA}}, rep)
	s := Summary(t, f.DB, assets.Container)
	_, total, err := f.DB.ScanFailed(ctx, store.Query{})
	if err != nil || s.ScanFailedAssetCount != 1 || total != 1 {
		t.Errorf("summary says %d scan-failed, the list %d (%v)", s.ScanFailedAssetCount, total, err)
	}
}

// Every trigger, the upload's included, is recorded and listed by the
// Trigger filter; an unknown trigger is refused when a task begins and
// when tasks are filtered, naming the value.
func TestTriggersRecordedAndFiltered(t *testing.T) { each(t, tTriggersRecordedAndFiltered) }

func tTriggersRecordedAndFiltered(t *testing.T, f *fixture) {
	ctx := context.Background()
	ids := map[store.Trigger]int64{}
	for i, tr := range store.Triggers {
		task, err := f.DB.BeginTask(ctx, tr, store.Scope{Node: fmt.Sprintf("node-%d", i)})
		if err != nil {
			t.Fatalf("BeginTask(%s): %v", tr, err)
		}
		ids[tr] = task.ID
	}
	for _, tr := range store.Triggers {
		list, total, err := f.DB.Tasks(ctx, store.Query{Filters: []store.Filter{{Name: "Trigger", Values: []string{string(tr)}}}})
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || len(list) != 1 || list[0].ID != ids[tr] || list[0].Trigger != tr {
			t.Errorf("Trigger=%s lists %+v (total %d), want task %d", tr, list, total, ids[tr])
		}
	}
	if _, err := f.DB.BeginTask(ctx, "uploaded", store.Scope{Node: "elsewhere"}); !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), `"uploaded"`) {
		t.Errorf("unknown trigger: %v, want ErrInvalidParameter naming it", err)
	}
	if _, _, err := f.DB.Tasks(ctx, store.Query{Filters: []store.Filter{{Name: "Trigger", Values: []string{"uplod"}}}}); !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), `"uplod"`) {
		t.Errorf("unknown trigger filter: %v, want ErrInvalidParameter naming it", err)
	}
}

func TestItemAssetPagesInNameOrder(t *testing.T) { each(t, tItemAssetPagesInNameOrder) }

// tItemAssetPagesInNameOrder: an item's affected assets are its results on
// current assets only, in the assets' name order (then id), whatever the
// page and the filters, with the same total on every page.
func tItemAssetPagesInNameOrder(t *testing.T, f *fixture) {
	verdicts := map[uint64][]string{HostID: {P, F}, CtrA: {F, F, P, M}, CtrB: {F, P, "X", M}, CtrC: {F, F, P, NA}, CtrD: {F, P, F, M}}
	names := map[uint64]string{HostID: "node-1", CtrA: "z", CtrB: "m", CtrC: "m", CtrD: "b"}
	ingest := func(verdicts map[uint64][]string) {
		rep := f.BuildReport(verdicts)
		for i := range rep.Assets {
			rep.Assets[i].Name = names[rep.Assets[i].ID]
		}
		f.Ingest(t, store.Scope{}, rep)
	}
	ingest(verdicts)
	f.Clock.Step(time.Hour)
	delete(verdicts, CtrD) // d is removed: its results are no one's affected assets
	ingest(verdicts)
	for _, item := range []uint64{21, 22, 23} {
		for _, filters := range [][]store.Filter{
			nil,
			{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}},
			{{Name: "CheckResult", Values: []string{"RESULT_PASSED", "RESULT_FAILED"}, ExactMatch: true}, {Name: "Ignored", Values: []string{"false"}, ExactMatch: true}},
			{{Name: "CheckStatus", Values: []string{"CHECK_FINISHED"}, ExactMatch: true}},
			{{Name: "NodeName", Values: []string{"node"}}},
		} {
			checkItemAssetPages(t, f, item, filters, CtrD)
		}
	}
}

// checkItemAssetPages checks ItemAssets' pages of item with filters
// against its whole list, which holds none of the removed assets and is
// the list that an asset filter matching every asset gives.
func checkItemAssetPages(t *testing.T, f *fixture, item uint64, filters []store.Filter, removed ...uint64) {
	t.Helper()
	ctx := context.Background()
	ids := func(rows []results.Row) (out []uint64) {
		for _, r := range rows {
			out = append(out, r.AssetID)
		}
		return out
	}
	whole, total, err := f.DB.ItemAssets(ctx, item, store.Query{Limit: 100, Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.IsSortedFunc(whole, func(a, b results.Row) int {
		return cmp.Or(cmp.Compare(a.AssetName, b.AssetName), cmp.Compare(a.AssetID, b.AssetID))
	})
	if !sorted || total != len(whole) || slices.ContainsFunc(ids(whole), func(id uint64) bool { return slices.Contains(removed, id) }) {
		t.Errorf("item %d, %+v: %v of %d; want current assets in name order, all counted", item, filters, ids(whole), total)
	}
	// Every name matches "": the rows listed and counted as any asset
	// filter lists and counts them.
	named := func(rows []results.Row) (out []string) {
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%d %s", r.AssetID, r.AssetName))
		}
		return out
	}
	listed, counted, err := f.DB.ItemAssets(ctx, item, store.Query{Limit: 100, Filters: append(slices.Clone(filters), store.Filter{Name: "AssetName", Values: []string{""}})})
	if err != nil || counted != total || !slices.Equal(named(listed), named(whole)) {
		t.Errorf("item %d, %+v: %v of %d; %v of %d with an asset filter (%v)", item, filters, named(whole), total, named(listed), counted, err)
	}
	for _, limit := range []int{1, 2} {
		for offset := range len(whole) + 1 {
			page, pageTotal, err := f.DB.ItemAssets(ctx, item, store.Query{Offset: offset, Limit: limit, Filters: filters})
			want := whole[offset:min(offset+limit, len(whole))]
			if err != nil || pageTotal != total || !slices.Equal(ids(page), ids(want)) {
				t.Errorf("item %d, %+v, offset %d limit %d: %v of %d, %v; want %v of %d", item, filters, offset, limit, ids(page), pageTotal, err, ids(want), total)
			}
		}
	}
}

func TestItemPagesInListOrder(t *testing.T) { each(t, tItemPagesInListOrder) }

// tItemPagesInListOrder: the item list is in standard then id order, and
// each page, filtered or not, is the slice of it at its offset.
func tItemPagesInListOrder(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	for _, filters := range [][]store.Filter{
		nil,
		{{Name: "AssetType", Values: []string{"ASSET_CONTAINER"}, ExactMatch: true}},
		{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}},
	} {
		whole, total, err := f.DB.Items(ctx, store.Query{Limit: 100, Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		ids := func(list []store.ItemSummary) (out []uint64) {
			for _, it := range list {
				out = append(out, it.ID)
			}
			return out
		}
		sorted := slices.IsSortedFunc(whole, func(a, b store.ItemSummary) int {
			return cmp.Or(cmp.Compare(a.StandardID, b.StandardID), cmp.Compare(a.ID, b.ID))
		})
		if !sorted || total != len(whole) || (filters == nil && total < 3) {
			t.Errorf("%+v: items %v of %d, want all in standard then id order", filters, ids(whole), total)
		}
		for offset := range len(whole) + 1 {
			page, pageTotal, err := f.DB.Items(ctx, store.Query{Offset: offset, Limit: 2, Filters: filters})
			want := whole[offset:min(offset+2, len(whole))]
			if err != nil || pageTotal != total || !slices.Equal(ids(page), ids(want)) {
				t.Errorf("%+v, offset %d: %v of %d, %v; want %v of %d", filters, offset, ids(page), pageTotal, err, ids(want), total)
			}
		}
	}
}

func TestItemAssetPagesFollowRenames(t *testing.T) { each(t, tItemAssetPagesFollowRenames) }

// tItemAssetPagesFollowRenames: an item's affected assets stay in their
// current names' order, on every page, after assets are renamed across
// each other, removed, found again under another name, after outcomes
// change under a kept name, renamed by a scan of one of its items (its
// other results kept), and with an ignore-list entry.
func tItemAssetPagesFollowRenames(t *testing.T, f *fixture) {
	all := map[uint64][]string{HostID: {P, F}, CtrA: {F, F, P, M}, CtrB: {F, P, F, M}, CtrC: {F, F, P, NA}, CtrD: {F, P, F, M}}
	verdicts := maps.Clone(all)
	names := map[uint64]string{HostID: "node-1", CtrA: "a", CtrB: "b", CtrC: "c", CtrD: "d"}
	var removed []uint64
	for _, step := range []struct {
		what   string
		change func()
	}{
		{"the first scan", func() {}},
		{"a renamed after the others, c before them", func() { names[CtrA], names[CtrC] = "x", "0" }},
		{"d removed, b renamed as c was", func() { delete(verdicts, CtrD); removed = []uint64{CtrD}; names[CtrB] = "0" }},
		{"d found again, renamed first", func() { verdicts[CtrD] = all[CtrD]; removed = nil; names[CtrD] = "-" }},
		{"outcomes changed under kept names", func() { verdicts[CtrA], verdicts[CtrD] = []string{P, F, F, M}, []string{F, F, P, M} }},
		{"a renamed first by a scan of its C1 only", func() { names[CtrA], verdicts[CtrA] = "+", []string{F} }},
		{"b's and c's failures of C1 ignored", func() {
			if _, err := f.DB.AddWhitelist(context.Background(), store.WhitelistRequest{Items: []uint64{21}, Assets: []uint64{CtrB, CtrC}}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		step.change()
		f.Clock.Step(time.Hour)
		ingestNamed(t, f, verdicts, names)
		t.Run(step.what, func(t *testing.T) {
			for _, item := range []uint64{21, 22, 23} {
				for _, filters := range [][]store.Filter{
					nil,
					{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}},
					{{Name: "CheckResult", Values: []string{"RESULT_PASSED"}, ExactMatch: true}, {Name: "Ignored", Values: []string{"false"}, ExactMatch: true}},
					{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}, {Name: "Ignored", Values: []string{"true"}, ExactMatch: true}},
				} {
					checkItemAssetPages(t, f, item, filters, removed...)
				}
			}
		})
	}
}

// ingestNamed ingests a full scan of the verdicts' assets, named as names
// gives.
func ingestNamed(t *testing.T, f *fixture, verdicts map[uint64][]string, names map[uint64]string) {
	t.Helper()
	rep := f.BuildReport(verdicts)
	for i := range rep.Assets {
		rep.Assets[i].Name = names[rep.Assets[i].ID]
	}
	f.Ingest(t, store.Scope{}, rep)
}
