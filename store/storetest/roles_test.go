package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// Parameters out of range are refused as invalid, never as an SQL error:
// 1,000 filter values (once an expression tree too large for SQLite), a
// NUL in a substring filter (once a match of every row), ids of 2^63 and
// more (beyond SQLite's integers). The largest filters the bounds allow
// run, on every list.
func TestOutOfRangeParametersAreInvalid(t *testing.T) { each(t, tOutOfRangeParametersAreInvalid) }

func tOutOfRangeParametersAreInvalid(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	many := make([]string, 1000)
	for i := range many {
		many[i] = "x"
	}
	invalid := func(what string, err error, want string) {
		t.Helper()
		if !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrInvalidParameter naming %q", what, err, want)
		}
	}
	_, _, err := f.DB.Assets(ctx, store.Query{Filters: []store.Filter{{Name: "AssetName", Values: many}}})
	invalid("1,000 values", err, "at most 100 values")
	_, _, err = f.DB.Assets(ctx, store.Query{Filters: []store.Filter{{Name: "AssetName", Values: []string{"\x00"}}}})
	invalid("NUL", err, "NUL")

	// The bounds at their maximum: 20 filters of 100 values of 256 bytes.
	var full []store.Filter
	long := strings.Repeat("y", store.MaxFilterValueBytes)
	for range store.MaxFilters {
		vals := make([]string, store.MaxFilterValues)
		for i := range vals {
			vals[i] = long
		}
		full = append(full, store.Filter{Name: "ClusterName", Values: vals})
	}
	q := store.Query{Filters: full}
	if _, _, err := f.DB.Assets(ctx, q); err != nil {
		t.Errorf("assets with the largest filters: %v", err)
	}
	if _, _, err := f.DB.Items(ctx, q); err != nil { // ClusterName is an EXISTS per value here
		t.Errorf("items with the largest filters: %v", err)
	}
	if _, _, err := f.DB.AssetItems(ctx, CtrA, q); err != nil {
		t.Errorf("asset items with the largest filters: %v", err)
	}
	q.Filters = full[:]
	for i := range q.Filters {
		q.Filters[i].Name = "HostName"
	}
	if _, _, err := f.DB.Whitelist(ctx, q); err != nil {
		t.Errorf("whitelist with the largest filters: %v", err)
	}

	const big = uint64(1) << 63
	_, err = f.DB.Asset(ctx, big)
	invalid("Asset(2^63)", err, "CustomerAssetId 9223372036854775808")
	_, err = f.DB.Item(ctx, big+5)
	invalid("Item(2^63+5)", err, "CustomerPolicyItemId 9223372036854775813")
	_, _, err = f.DB.AssetItems(ctx, big, store.Query{})
	invalid("AssetItems(2^63)", err, "CustomerAssetId")
	_, _, err = f.DB.ItemAssets(ctx, ^uint64(0), store.Query{})
	invalid("ItemAssets(2^64-1)", err, "CustomerPolicyItemId")
	_, err = f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21}, Assets: []uint64{CtrA, big}})
	invalid("AddWhitelist on asset 2^63", err, "CustomerAssetId")
	_, err = f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{big}, All: true})
	invalid("AddWhitelist of item 2^63", err, "CustomerPolicyItemId")
	invalid("RemoveWhitelistAssets", f.DB.RemoveWhitelistAssets(ctx, []uint64{21}, []uint64{big}), "CustomerAssetId")
	rep := f.BuildReport(map[uint64][]string{CtrA: {P, P, P, M}})
	rep.Assets[0].ID = big
	for i := range rep.Results {
		rep.Results[i].AssetID = big
	}
	task, err := f.DB.BeginTask(ctx, store.TriggerManual, store.Scope{Assets: []uint64{CtrA}})
	if err != nil {
		t.Fatal(err)
	}
	invalid("a report naming asset 2^63", f.DB.CompleteTask(ctx, task.ID, rep), "CustomerAssetId")
}

// Uploads are held to their node: a key is bound by its first upload; an
// upload carrying an asset last recorded for another node is refused in
// its transaction, naming the asset and both nodes, and changes nothing;
// a full upload removes only its own node's assets, whatever host it
// names.
func TestUploadsHeldToTheirNode(t *testing.T) { each(t, tUploadsHeldToTheirNode) }

func tUploadsHeldToTheirNode(t *testing.T, f *fixture) {
	ctx := context.Background()
	if node, err := f.DB.BindUploadKey(ctx, "AKIDa", "node-a"); err != nil || node != "node-a" {
		t.Fatalf("first binding: %q, %v", node, err)
	}
	if node, err := f.DB.BindUploadKey(ctx, "AKIDa", "node-b"); err != nil || node != "node-a" {
		t.Errorf("a second binding moved the key: %q, %v", node, err)
	}
	upload := func(node string, verdicts map[uint64][]string) (store.Task, error) {
		task, err := f.DB.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: node, Types: []assets.Type{assets.Container}})
		if err != nil {
			t.Fatal(err)
		}
		err = f.DB.CompleteTask(ctx, task.ID, f.BuildReport(verdicts))
		if err != nil {
			_ = f.DB.FailTask(ctx, task.ID, err.Error()) // as the runner does
		}
		return task, err
	}
	if _, err := upload("node-1", map[uint64][]string{CtrA: {F, F, P, M}, CtrB: {P, P, P, M}}); err != nil {
		t.Fatal(err)
	}
	nodes, err := f.DB.AssetNodes(ctx, []uint64{CtrA, CtrB, CtrC})
	if err != nil || len(nodes) != 2 || nodes[CtrA] != "node-1" || nodes[CtrB] != "node-1" {
		t.Errorf("asset nodes = %v, %v; want a and b on node-1, c unknown", nodes, err)
	}
	_, err = upload("node-2", map[uint64][]string{CtrA: {P, P, P, P}})
	if !errors.Is(err, store.ErrForbidden) || !strings.Contains(err.Error(), `asset 101 (a) is recorded for node "node-1"`) || !strings.Contains(err.Error(), `"node-2"`) {
		t.Errorf("another node's upload of asset a: %v", err)
	}
	if a, _ := f.DB.Asset(ctx, CtrA); a.FailedPolicyItemCount != 2 {
		t.Errorf("asset a after the refused upload: %+v", a)
	}
	// node-2's full upload naming node-1 as its host (every asset of the
	// report says node-1) removes none of node-1's assets.
	if _, err := upload("node-2", map[uint64][]string{CtrC: {P, P, P, P}}); err != nil {
		t.Fatal(err)
	}
	if s := Summary(t, f.DB, assets.Container); s.AssetCount != 3 {
		t.Errorf("node-2's upload removed node-1's assets: %d containers, want 3", s.AssetCount)
	}
	// A local task records for its own node and is not held.
	f.Ingest(t, store.Scope{Node: "central"}, f.BuildReport(map[uint64][]string{CtrA: {P, P, P, M}}))
	if nodes, _ := f.DB.AssetNodes(ctx, []uint64{CtrA}); nodes[CtrA] != "central" {
		t.Errorf("after a local task, asset a is recorded for %q", nodes[CtrA])
	}
}

// The replay guard: a signature's first use is recorded; a later use, for
// any action and through a second handle on the same store (a second
// daemon), gets that first use back; an expired record counts as absent,
// and expired records are pruned.
func TestUseSignature(t *testing.T) { each(t, tUseSignature) }

func tUseSignature(t *testing.T, f *fixture) {
	ctx := context.Background()
	a, b := f.DB, f.reopen(t)
	t0 := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	use := func(sig, action string, at time.Duration) store.SignatureUse {
		return store.SignatureUse{Signature: sig, Action: action, At: t0.Add(at), Until: t0.Add(5 * time.Minute)}
	}
	for _, step := range []struct {
		what        string
		db          store.Store
		u           store.SignatureUse
		seen        bool
		firstAction string
		firstAt     time.Duration
	}{
		{"first use", a, use("s1", "DescribeComplianceAssetList", 0), false, "DescribeComplianceAssetList", 0},
		{"another action", a, use("s1", "CreateComplianceTask", time.Second), true, "DescribeComplianceAssetList", 0},
		{"the same action, second handle", b, use("s1", "DescribeComplianceAssetList", 2*time.Second), true, "DescribeComplianceAssetList", 0},
		{"another signature", b, use("s2", "CreateComplianceTask", 3*time.Second), false, "CreateComplianceTask", 3 * time.Second},
		{"after expiry", a, use("s1", "CreateComplianceTask", 6*time.Minute), false, "CreateComplianceTask", 6 * time.Minute},
	} {
		first, seen, err := step.db.UseSignature(ctx, step.u)
		if err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		if seen != step.seen || first.Action != step.firstAction || !first.At.Equal(t0.Add(step.firstAt)) {
			t.Errorf("%s: %+v, seen %v; want seen %v, first %s at +%s", step.what, first, seen, step.seen, step.firstAction, step.firstAt)
		}
	}
	// The use after expiry (a minute past the last pruning) pruned the
	// expired rows: only the replaced one is left.
	if n := f.place.count(t, "signatures"); n != 1 {
		t.Errorf("%d signature rows after expiry, want 1 (the others pruned)", n)
	}
}

// The replay guard's group commit: uses recorded in one transaction get
// the answers UseSignature gives each: a signature recorded through
// another handle is seen, a new one is not, and the same signature twice
// in one batch is seen the second time.
func TestUseSignatures(t *testing.T) { each(t, tUseSignatures) }

func tUseSignatures(t *testing.T, f *fixture) {
	ctx := context.Background()
	a, b := f.DB, f.reopen(t)
	t0 := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	use := func(sig, action string, at time.Duration) store.SignatureUse {
		return store.SignatureUse{Signature: sig, Action: action, At: t0.Add(at), Until: t0.Add(5 * time.Minute)}
	}
	if _, _, err := a.UseSignature(ctx, use("s1", "DescribeComplianceAssetList", 0)); err != nil {
		t.Fatal(err)
	}
	batcher, ok := b.(store.SignatureBatcher)
	if !ok {
		t.Fatalf("%T records no batch of signatures (store.SignatureBatcher)", b)
	}
	got, err := batcher.UseSignatures(ctx, []store.SignatureUse{
		use("s1", "CreateComplianceTask", time.Second),
		use("s2", "DescribeComplianceAssetList", time.Second),
		use("s2", "CreateComplianceTask", 2*time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		seen   bool
		action string
		at     time.Duration
	}{{true, "DescribeComplianceAssetList", 0}, {false, "DescribeComplianceAssetList", time.Second}, {true, "DescribeComplianceAssetList", time.Second}}
	if len(got) != len(want) {
		t.Fatalf("%d answers for 3 uses", len(got))
	}
	for i, w := range want {
		if got[i].Seen != w.seen || got[i].First.Action != w.action || !got[i].First.At.Equal(t0.Add(w.at)) {
			t.Errorf("use %d: %+v; want seen %v, first %s at +%s", i, got[i], w.seen, w.action, w.at)
		}
	}
	// The batch is committed: the first handle sees s2.
	if first, seen, err := a.UseSignature(ctx, use("s2", "CreateComplianceTask", 3*time.Second)); err != nil || !seen || !first.At.Equal(t0.Add(time.Second)) {
		t.Errorf("s2 through the first handle after the batch: %+v, seen %v, %v", first, seen, err)
	}
}

const clusterStandard = `standard: {id: k, name: K, version: "1", asset_types: [k8s]}
category: Policies
asset_type: k8s
items:
  - {id: 31, number: "5.1", title: Cluster item, risk: high, assessment: automated, source: {kind: kube, resource: pods}, tests: {test_items: [{path: "{.x}", set: true}]}}
  - {id: 32, number: "4.1", title: Node item, risk: low, assessment: automated, target: node, source: {kind: process, name: kubelet}, tests: {test_items: [{flag: --x, set: true}]}}
  - {id: 33, number: "5.2", title: Unjudged item, risk: low, assessment: automated, source: {kind: kube, resource: roles}, tests: {test_items: [{path: "{.x}", set: true}]}}
`

// ClusterName filters assets, affected assets and items to one cluster:
// the cluster itself and its nodes carry the name.
func TestClusterNameFilter(t *testing.T) { eachPlace(t, tClusterNameFilter) }

func tClusterNameFilter(t *testing.T, p *place) {
	ctx := context.Background()
	db := p.open(t, time.Now, 0)
	cat, err := checks.Load(checks.Tree{FS: fstest.MapFS{"k/standard.yaml": {Data: []byte(clusterStandard)}}, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	k8s := func(id uint64, name, cluster string) assets.Asset {
		return assets.Asset{ID: id, Type: assets.K8s, Name: name, Ref: name, Cluster: &assets.ClusterDetails{ClusterName: cluster, Version: "v1.37.2"}}
	}
	prod, prodNode, staging := k8s(1, "prod", "prod"), k8s(2, "prod/n1", "prod"), k8s(3, "staging", "staging")
	now := time.Now()
	res := func(item, asset uint64, r checks.CheckResult) results.Result {
		return results.Result{ItemID: item, AssetID: asset, Verdict: checks.Verdict{Status: checks.CheckFinished, Result: r}, CheckedAt: now}
	}
	rep := &results.Report{StartedAt: now, FinishedAt: now, Standards: cat.Standards, Items: cat.Items(), Assets: []assets.Asset{prod, prodNode, staging},
		Results: []results.Result{res(31, 1, checks.ResultFailed), res(32, 2, checks.ResultPassed), res(31, 3, checks.ResultPassed)}}
	task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteTask(ctx, task.ID, rep); err != nil {
		t.Fatal(err)
	}
	exact := func(v string) store.Query {
		return store.Query{Filters: []store.Filter{{Name: "ClusterName", Values: []string{v}, ExactMatch: true}}}
	}
	list, n, err := db.Assets(ctx, exact("prod"))
	if err != nil || n != 2 || len(list) != 2 {
		t.Fatalf("assets of prod: %d %+v %v, want the cluster and its node", n, list, err)
	}
	items, n, err := db.Items(ctx, exact("staging"))
	if err != nil || n != 1 || items[0].ID != 31 {
		t.Fatalf("items of staging: %d %+v %v, want item 31 only", n, items, err)
	}
	items, n, err = db.Items(ctx, exact("prod"))
	if err != nil || n != 2 || items[0].ID != 31 || items[1].ID != 32 {
		t.Fatalf("items of prod: %d %+v %v, want items 31 and 32", n, items, err)
	}
	affected, n, err := db.ItemAssets(ctx, 31, exact("staging"))
	if err != nil || n != 1 || affected[0].AssetID != 3 {
		t.Fatalf("item 31 on staging: %d %+v %v", n, affected, err)
	}
}

func TestImageFilesCache(t *testing.T) { each(t, tImageFilesCache) }

func tImageFilesCache(t *testing.T, f *fixture) {
	ctx := context.Background()
	id := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

	// A miss.
	if _, ok, err := f.DB.ImageFiles(ctx, id); ok || err != nil {
		t.Fatalf("empty cache: ok %v, %v", ok, err)
	}
	// Put, then get: the lists and when they were read.
	readAt := f.Clock.Now().Add(-time.Minute)
	put := store.ImageFiles{Setuid: []string{"/usr/bin/passwd", "/usr/bin/su"}, Setgid: []string{"/usr/bin/wall"}, Secrets: []string{"/root/.ssh/id_rsa"}, ReadAt: readAt}
	if err := f.DB.PutImageFiles(ctx, id, put); err != nil {
		t.Fatal(err)
	}
	got, ok, err := f.DB.ImageFiles(ctx, id)
	if err != nil || !ok || !reflect.DeepEqual(got.Setuid, put.Setuid) || !reflect.DeepEqual(got.Setgid, put.Setgid) ||
		!reflect.DeepEqual(got.Secrets, put.Secrets) || !got.ReadAt.Equal(readAt) {
		t.Fatalf("get = %+v, %v, %v; want %+v", got, ok, err, put)
	}
	// Empty lists stay lists, not nil.
	empty := "sha256:" + fmt.Sprintf("%064d", 1)
	if err := f.DB.PutImageFiles(ctx, empty, store.ImageFiles{}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.DB.ImageFiles(ctx, empty); err != nil || !ok || got.Setuid == nil || got.Setgid == nil || got.Secrets == nil || len(got.Setuid) != 0 ||
		!got.ReadAt.Equal(f.Clock.Now()) {
		t.Errorf("empty lists = %+v, %v, %v", got, ok, err)
	}
	if got, _, _ := f.DB.ImageFiles(ctx, id); got.History != nil {
		t.Errorf("an entry recorded without history has history %+v", got.History)
	}
	// The history, when recorded with the files, comes back as it was
	// read, with when it was read.
	put.History = []store.ImageHistoryStep{{ID: "<missing>", Created: 1700000000, CreatedBy: "/bin/sh -c #(nop) COPY file:ab in /", Comment: "c", Size: 7}}
	put.HistoryAt = readAt.Add(time.Second).Truncate(time.Second)
	if err := f.DB.PutImageFiles(ctx, id, put); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.DB.ImageFiles(ctx, id); err != nil || !ok || !reflect.DeepEqual(got.History, put.History) || !got.HistoryAt.Equal(put.HistoryAt) {
		t.Errorf("entry with history = %+v, %v, %v; want %+v", got, ok, err, put)
	}
	// A different id is a miss: the key is the id, nothing else.
	if _, ok, _ := f.DB.ImageFiles(ctx, "sha256:"+fmt.Sprintf("%064d", 2)); ok {
		t.Error("an unknown id hit")
	}
	// Marking entries used, an unknown id among them, changes no entry.
	if err := f.DB.MarkImageFilesUsed(ctx, []string{id, "sha256:" + fmt.Sprintf("%064d", 3)}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.DB.ImageFiles(ctx, id); err != nil || !ok || !reflect.DeepEqual(got.History, put.History) {
		t.Errorf("entry marked used = %+v, %v, %v; want it unchanged", got, ok, err)
	}
	if err := f.DB.PutImageFiles(ctx, "", put); err == nil {
		t.Error("an entry without an id was recorded")
	}
}

// A fuzzy filter ignores case, an exact one does not, on every backend;
// lists of assets are in the same order everywhere.
func TestFuzzyFilterIgnoresCase(t *testing.T) { each(t, tFuzzyFilterIgnoresCase) }

func tFuzzyFilterIgnoresCase(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	for _, c := range []struct {
		value string
		exact bool
		want  int
	}{{"A", false, 1}, {"a", false, 1}, {"A", true, 0}, {"a", true, 1}, {"NODE", false, 1}} {
		q := store.Query{Filters: []store.Filter{{Name: "AssetName", Values: []string{c.value}, ExactMatch: c.exact}}}
		if _, n, err := f.DB.Assets(ctx, q); err != nil || n != c.want {
			t.Errorf("AssetName %q (exact %v): %d assets, %v; want %d", c.value, c.exact, n, err, c.want)
		}
	}
	list, _, err := f.DB.Assets(ctx, store.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range list {
		names = append(names, string(a.Type)+"/"+a.Name)
	}
	if want := "ASSET_CONTAINER/a ASSET_CONTAINER/b ASSET_CONTAINER/c ASSET_CONTAINER/d ASSET_HOST/node-1"; strings.Join(names, " ") != want {
		t.Errorf("assets in order %v, want %s", names, want)
	}
}

// What a hostile container puts in its name and its evidence (a NUL
// character, bytes that are not UTF-8, a backslash before "u0000") is
// stored and read back on every backend: the task is never refused for
// it. Bytes that are not UTF-8 come back as U+FFFD (as JSON encodes them),
// and so does NUL where the backend's text cannot hold it (PostgreSQL).
func TestHostileTextStored(t *testing.T) { each(t, tHostileTextStored) }

func tHostileTextStored(t *testing.T, f *fixture) {
	ctx := context.Background()
	rep := f.BuildReport(map[uint64][]string{CtrA: {F, P, P, M}})
	rep.Assets[0].Name = "a\x00b\xff"
	rep.Results[0].Evidence = []checks.Evidence{{Source: "file", Actual: "x\x00y\xfe", Expected: `\u0000 literally`}}
	f.Ingest(t, store.Scope{}, rep)
	rows, _, err := f.DB.AssetItems(ctx, CtrA, store.Query{})
	if err != nil || len(rows) == 0 || len(rows[0].Evidence) != 1 {
		t.Fatalf("asset items = %+v, %v", rows, err)
	}
	stored := func(got, sent string) bool {
		valid := strings.ToValidUTF8(sent, "\uFFFD")
		return got == valid || got == strings.ReplaceAll(valid, "\x00", "\uFFFD")
	}
	ev := rows[0].Evidence[0]
	if !stored(ev.Actual, "x\x00y\xfe") || ev.Expected != `\u0000 literally` {
		t.Errorf("evidence read back: Actual %q, Expected %q", ev.Actual, ev.Expected)
	}
	a, err := f.DB.Asset(ctx, CtrA)
	if err != nil || !stored(a.Name, "a\x00b\xff") {
		t.Errorf("asset name read back = %q, %v", a.Name, err)
	}
}

// Syncing the catalog again lists what it defines now: an item it no
// longer defines leaves the item list (its results stay history), one
// defined again comes back, a changed title is taken; a standard switched
// off stays off.
func TestSyncCatalogAgain(t *testing.T) { each(t, tSyncCatalogAgain) }

func tSyncCatalogAgain(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	if err := f.DB.SetStandardEnabled(ctx, "t-1", false); err != nil {
		t.Fatal(err)
	}
	names := func() string {
		if err := f.DB.SetStandardEnabled(ctx, "t-1", true); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := f.DB.SetStandardEnabled(ctx, "t-1", false); err != nil {
				t.Fatal(err)
			}
		}()
		list, _, err := f.DB.Items(ctx, store.Query{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range list {
			out = append(out, it.Name)
		}
		return strings.Join(out, ", ")
	}
	cat := Catalog(t)
	std := *cat.Standards[0]
	changed := *std.Items[0]
	changed.Title = "Item H1, renamed"
	std.Items = append([]*checks.Item{&changed}, std.Items[2:]...) // H2 dropped
	for _, c := range []struct {
		cat  *checks.Catalog
		want string
	}{
		{&checks.Catalog{Standards: []*checks.Standard{&std}}, "Item H1, renamed, Item C1, Item C2, Item C3, Item C4"},
		{cat, "Item H1, Item H2, Item C1, Item C2, Item C3, Item C4"},
	} {
		if err := f.DB.SyncCatalog(ctx, c.cat); err != nil {
			t.Fatal(err)
		}
		if got := names(); got != c.want {
			t.Errorf("items after a sync: %s, want %s", got, c.want)
		}
		if off, err := f.DB.DisabledStandards(ctx); err != nil || len(off) != 1 {
			t.Errorf("standards switched off after a sync: %v, %v", off, err)
		}
	}
}
