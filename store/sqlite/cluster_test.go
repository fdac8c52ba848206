package sqlite

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

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
func TestClusterNameFilter(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
