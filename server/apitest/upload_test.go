package apitest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	apiclient "github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/scan"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

const cisK8s = "cis-kubernetes-1.12"

// scanNode scans a fixture Kubernetes node (a control plane's files and
// processes, no engine, no API server) with the built-in catalog, as a
// node's daemon does, and returns the report and its one node asset.
func scanNode(t *testing.T, fixture string) (*results.Report, assets.Asset) {
	t.Helper()
	rep, err := scan.Run(context.Background(), testhost.Builtin(t), scan.Options{HostRoot: testhost.Tree(t, fixture), NoDocker: true, NoKube: true,
		Types: []assets.Type{assets.K8s}, Standards: []string{cisK8s}})
	if err != nil {
		t.Fatal(err)
	}
	node := testhost.OnlyAsset(t, rep, assets.K8s)
	if len(rep.Results) == 0 {
		t.Fatalf("%s: no results: want one node with results", fixture)
	}
	return rep, node
}

// counts tallies a report's finished results on an asset.
func counts(rep *results.Report, asset uint64) (passed, failed int) {
	for _, r := range rep.Results {
		if r.AssetID != asset || r.Status != checks.CheckFinished {
			continue
		}
		switch r.Result {
		case checks.ResultPassed:
			passed++
		case checks.ResultFailed:
			failed++
		}
	}
	return passed, failed
}

// onNode moves an upload to another node: its scope, and its one asset
// under another id, with its results and failures.
func onNode(u api.ScanUpload, name string, id uint64) api.ScanUpload {
	old := u.Assets[0].ID
	u.Scope.Node = name
	u.Assets = []assets.Asset{u.Assets[0]}
	u.Assets[0].ID, u.Assets[0].NodeName, u.Assets[0].Name = id, name, name
	u.Host = nil
	u.Results = append([]results.Result(nil), u.Results...)
	for i := range u.Results {
		if u.Results[i].AssetID == old {
			u.Results[i].AssetID = id
		}
	}
	u.ScanFailedAssets = append([]results.AssetFailure(nil), u.ScanFailedAssets...)
	for i := range u.ScanFailedAssets {
		u.ScanFailedAssets[i].AssetID = id
	}
	return u
}

func nodeScope(node string) store.Scope {
	return store.Scope{Types: []assets.Type{assets.K8s}, Standards: []string{cisK8s}, Node: node}
}

// wantAPIError requires err to be the API error code whose message
// contains each of want.
func wantAPIError(t *testing.T, what string, err error, code string, want ...string) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v, want %s", what, err, code)
		return
	}
	if ae.Code != code {
		t.Errorf("%s: %s (%s), want %s", what, ae.Code, ae.Message, code)
	}
	for _, w := range want {
		if !strings.Contains(ae.Message, w) {
			t.Errorf("%s: message %q does not name %q", what, ae.Message, w)
		}
	}
}

// Scans of two Kubernetes nodes (fixture hosts, scanned in this process as
// the nodes' daemons would) are uploaded with the real client to a real
// daemon that never scanned them. Each is recorded as a finished task with
// the upload trigger, the node's scope and the scan's times; the daemon's
// API (the SDK) then lists both nodes with the uploaded counts, sums them
// in the summary and shows the evidence; an item ignored on a node is
// ignored in the next upload of it. (The uploads go with a key that may
// upload scans of any node.)
func TestUploadRecordsAScanFromElsewhere(t *testing.T) {
	bin, data := binary(t), t.TempDir()
	d := startDaemon(t, bin, data)
	sdk := newClient(t, d.addr, fullID, fullKey)
	up, err := apiclient.New("http://"+d.addr, anyID, anyKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good, goodNode := scanNode(t, "k8s-good")
	bad, badNode := scanNode(t, "k8s-bad")

	ids := map[string]int64{}
	for _, u := range []struct {
		rep  *results.Report
		node assets.Asset
	}{{good, goodNode}, {bad, badNode}} {
		id, err := up.Upload(ctx, api.NewScanUpload(nodeScope(u.node.Name), u.rep))
		if err != nil {
			t.Fatalf("uploading %s: %v", u.node.Name, err)
		}
		k, ok := findTask(tasks(t, bin, data), id)
		if !ok {
			t.Fatalf("task %d of %s is not in the daemon's store", id, u.node.Name)
		}
		if k.Trigger != store.TriggerUpload || k.Status != checks.CheckFinished || k.ResultCount != len(u.rep.Results) || k.Scope.Node != u.node.Name ||
			!k.StartedAt.Equal(u.rep.StartedAt.Truncate(time.Millisecond)) || !k.FinishedAt.Equal(u.rep.FinishedAt.Truncate(time.Millisecond)) {
			t.Errorf("task of %s = %+v; want a finished upload of %d results on node %s from %s to %s", u.node.Name, k, len(u.rep.Results),
				u.node.Name, u.rep.StartedAt, u.rep.FinishedAt)
		}
		ids[u.node.Name] = id
	}

	var l assetList
	sdk.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}, "Limit": 100}, &l)
	if l.TotalCount != 2 {
		t.Fatalf("K8s assets = %+v, want the two uploaded nodes", l)
	}
	byID := map[uint64]assetInfo{}
	for _, a := range l.AssetInfoList {
		byID[a.CustomerAssetId] = a
	}
	for _, n := range []struct {
		rep  *results.Report
		node assets.Asset
	}{{good, goodNode}, {bad, badNode}} {
		a, ok := byID[n.node.ID]
		passed, failed := counts(n.rep, n.node.ID)
		if !ok || a.AssetName != n.node.Name || a.NodeName != n.node.NodeName || a.PassedPolicyItemCount != passed || a.FailedPolicyItemCount != failed {
			t.Errorf("node %s listed as %+v, want %d passed and %d failed", n.node.Name, a, passed, failed)
		}
	}
	_, badFailed := counts(bad, badNode.ID)
	if badFailed == 0 {
		t.Fatal("the non-compliant node failed no item: the fixture is not what this test needs")
	}

	var s summaryResp
	sdk.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &s)
	sum := s.of(t, "ASSET_K8S")
	if sum.AssetCount != 2 || sum.FailedAssetCount < 1 || sum.CheckStatus != checks.CheckFinished || sum.LastCheckTime == "0000-00-00 00:00:00" {
		t.Errorf("K8s summary = %+v, want both nodes, the bad one failed", sum)
	}

	// The evidence of a failed item on the bad node, as uploaded.
	var failedRes results.Result
	for _, r := range bad.Results {
		if r.Result == checks.ResultFailed && len(r.Evidence) > 0 {
			failedRes = r
			break
		}
	}
	var items struct {
		TotalCount          int
		AssetPolicyItemList []assetItem
	}
	sdk.ok("DescribeComplianceAssetPolicyItemList", map[string]any{"CustomerAssetId": badNode.ID, "Limit": 100,
		"Filters": []map[string]any{{"Name": "CustomerPolicyItemId", "Values": []string{fmt.Sprint(failedRes.ItemID)}, "ExactMatch": true}}}, &items)
	if len(items.AssetPolicyItemList) != 1 {
		t.Fatalf("item %d on the bad node: %+v", failedRes.ItemID, items)
	}
	if it := items.AssetPolicyItemList[0]; it.CheckResult != "RESULT_FAILED" || !strings.Contains(it.VerifyInfo, failedRes.Evidence[0].Source) {
		t.Errorf("item %d on the bad node = %+v, want failed with the uploaded evidence %+v", failedRes.ItemID, it, failedRes.Evidence)
	}

	// Ignore that item on the bad node; the node's next upload is recorded
	// with it ignored.
	sdk.ok("AddCompliancePolicyAssetSetToWhitelist", map[string]any{"CustomerPolicyItemId": failedRes.ItemID,
		"CustomerAssetItemIdSet": []uint64{badNode.ID}, "Reason": "accepted on this node"}, nil)
	again, _ := scanNode(t, "k8s-bad")
	id, err := up.Upload(ctx, api.NewScanUpload(nodeScope(badNode.Name), again))
	if err != nil {
		t.Fatal(err)
	}
	if id <= ids[badNode.Name] {
		t.Errorf("the second upload is task %d, not after %d", id, ids[badNode.Name])
	}
	sdk.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}, "Limit": 100}, &l)
	for _, a := range l.AssetInfoList {
		if a.CustomerAssetId == badNode.ID && (a.IgnoredPolicyItemCount != 1 || a.FailedPolicyItemCount != badFailed-1) {
			t.Errorf("bad node after the second upload = %+v, want 1 ignored and %d failed", a, badFailed-1)
		}
	}
}

// Every refusal of an upload names its field, and records no task: a
// standard or an item the daemon's catalog does not hold, a result on an
// asset the upload does not carry, missing times and node, an unknown
// parameter, a read-only key, a body over the upload limit (while a
// read-only key keeps the general limit), and a scope that overlaps a
// task running on the same store.
func TestUploadRefusals(t *testing.T) {
	bin, data := binary(t), t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`log_format: text
api:
  max_upload_bytes: 2097152
  rate_per_second: 1000
  burst: 1000
  keys:
    - {secret_id: %s, secret_key: %s, upload_any_node: true}
    - {secret_id: %s, secret_key: %s, read_only: true}
`, fullID, fullKey, roID, roKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, data, "--config", cfg) // the last --config wins
	full, err := apiclient.New("http://"+d.addr, fullID, fullKey)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := apiclient.New("http://"+d.addr, roID, roKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, node := scanNode(t, "k8s-good")
	fresh := func() api.ScanUpload {
		u := api.NewScanUpload(nodeScope(node.Name), rep)
		u.Results = append([]results.Result(nil), u.Results...)
		return u
	}
	upload := func(u api.ScanUpload) error {
		_, err := full.Upload(ctx, u)
		return err
	}

	u := fresh()
	u.Scope.Standards = []string{"acme-k8s-9"}
	wantAPIError(t, "unknown standard", upload(u), api.InvalidParameterValue, "Scope.StandardIds", `"acme-k8s-9"`, "catalog")
	u = fresh()
	u.Results[3].ItemID = 990001
	wantAPIError(t, "unknown item", upload(u), api.InvalidParameterValue, "Results[3].CustomerPolicyItemId", "990001", "catalog")
	u = fresh()
	u.Results[0].ItemID = 100505 // CIS Docker 5.5: known, outside the scope
	wantAPIError(t, "item outside the scope", upload(u), api.InvalidParameterValue, "Results[0].CustomerPolicyItemId", "100505", "outside")
	u = fresh()
	u.Results[1].AssetID = 4242
	wantAPIError(t, "asset not uploaded", upload(u), api.InvalidParameterValue, "Results[1].CustomerAssetId", "4242", "not in Assets")
	u = fresh()
	u.Results[2].Status = "CHECK_DONE"
	wantAPIError(t, "bad status", upload(u), api.InvalidParameterValue, "Results[2].CheckStatus", "CHECK_DONE")
	u = fresh()
	u.Results = append(u.Results, u.Results[0])
	wantAPIError(t, "duplicate result", upload(u), api.InvalidParameterValue, fmt.Sprintf("Results[%d]", len(u.Results)-1), "twice")
	u = fresh()
	u.StartedAt = time.Time{}
	wantAPIError(t, "no start", upload(u), api.MissingParameter, "StartedAt")
	u = fresh()
	u.FinishedAt = time.Time{}
	wantAPIError(t, "no end", upload(u), api.MissingParameter, "FinishedAt")
	u = fresh()
	u.Scope.Node = ""
	wantAPIError(t, "no node", upload(u), api.MissingParameter, "Scope.NodeName")
	u = fresh()
	u.ScanFailedAssets = []results.AssetFailure{{AssetID: 77, Reason: "gone"}}
	wantAPIError(t, "failure of an asset not uploaded", upload(u), api.InvalidParameterValue, "ScanFailedAssets[0].CustomerAssetId", "77")
	u = fresh()
	u.ScanFailedAssets = []results.AssetFailure{{AssetID: node.ID}}
	wantAPIError(t, "failure without a reason", upload(u), api.MissingParameter, "ScanFailedAssets[0].Reason")
	err = full.Call(ctx, api.UploadAction, map[string]any{"Scope": nodeScope(node.Name), "Bogus": 1}, nil)
	wantAPIError(t, "unknown parameter", err, api.InvalidParameter, "Bogus")
	_, err = ro.Upload(ctx, fresh())
	wantAPIError(t, "read-only key", err, api.AuthFailureUnauthorized, roID, api.UploadAction)

	// The upload limit (2 MiB here) applies to full-access keys; a
	// read-only key keeps the general limit (1 MiB).
	padded := func(n int) api.ScanUpload {
		u := fresh()
		u.Results[0].Reason = strings.Repeat("x", n)
		return u
	}
	wantAPIError(t, "3 MiB upload", upload(padded(3<<20)), api.RequestSizeLimitExceeded, "2097152", "api.max_upload_bytes")
	_, err = ro.Upload(ctx, padded(3<<19))
	wantAPIError(t, "1.5 MiB upload, read-only key", err, api.RequestSizeLimitExceeded, "1048576", "api.max_body_bytes")
	if n := len(tasks(t, bin, data)); n != 0 {
		t.Fatalf("refused uploads recorded %d tasks", n)
	}
	big, err := full.Upload(ctx, padded(3<<19))
	if err != nil {
		t.Fatalf("1.5 MiB upload, full key: %v", err)
	}

	// A task running on the same store, as a scan of that node in another
	// process would hold it: an overlapping upload is refused, one of
	// another node goes through.
	db, err := sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	running, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{Types: []assets.Type{assets.K8s}, Node: node.Name})
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "overlapping upload", upload(fresh()), api.ErrAlreadyScanning, fmt.Sprintf("task %d", running.ID))
	other := onNode(fresh(), "another-node", node.ID+1)
	if _, err := full.Upload(ctx, other); err != nil {
		t.Errorf("an upload of another node while %s is being scanned: %v", node.Name, err)
	}
	if err := db.FailTask(ctx, running.ID, "test over"); err != nil {
		t.Fatal(err)
	}
	list := tasks(t, bin, data)
	if len(list) != 3 || list[0].Trigger != store.TriggerUpload || list[2].ID != big {
		t.Errorf("tasks = %+v, want the big upload, the test's task and the other node's upload", list)
	}
}
