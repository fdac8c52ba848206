package apitest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	apiclient "github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// Node keys of TestUploadKeysHeldToTheirNode.
const (
	nodeAID  = "AKIDapitestNodeA"
	nodeAKey = "node-a-secret-0123456789abcdef0123"
	nodeBID  = "AKIDapitestNodeB"
	nodeBKey = "node-b-secret-0123456789abcdef0123"
)

// containerUpload is the scan of one container on node, judged on the
// three CIS Docker items 5.5, 5.11 and 5.13, all with result.
func containerUpload(node, name string, id uint64, result checks.CheckResult) api.ScanUpload {
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	u := api.ScanUpload{
		Scope: store.Scope{Types: []assets.Type{assets.Container}, Standards: []string{"cis-docker-1.6.0"},
			Items: []uint64{item55, item511, item513}, Node: node},
		StartedAt: start, FinishedAt: start.Add(2 * time.Second),
		Assets: []assets.Asset{{ID: id, Type: assets.Container, Name: name, Ref: name, NodeName: node,
			Container: &assets.ContainerDetails{ContainerID: name, Name: name, State: assets.StateNormal}}},
		ScanFailedAssets: []results.AssetFailure{},
	}
	for _, it := range []uint64{item55, item511, item513} {
		v := checks.Verdict{Status: checks.CheckFinished, Result: result}
		if result == checks.ResultFailed {
			v.Evidence = []checks.Evidence{{Source: "container inspect", Subject: "{.x}", Actual: "true", Expected: "false"}}
		}
		u.Results = append(u.Results, results.Result{ItemID: it, AssetID: id, Verdict: v})
	}
	return u
}

// A fleet where each node's daemon has its own key: node A's key (bound in
// the configuration, nodes: [node-a]) cannot write node B's container, by
// naming node B or by naming itself; neither can a key that may upload
// any node's scans, once the container is node B's; node B's key (bound
// by its first upload) cannot write as node A. Each refusal names the
// key or the asset and both nodes, records no task, and leaves node B's
// container as node B uploaded it. Each node still writes its own.
func TestUploadKeysHeldToTheirNode(t *testing.T) {
	bin, data := binary(t), t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`log_format: text
api:
  rate_per_second: 1000
  burst: 1000
  keys:
    - {secret_id: %s, secret_key: %s, read_only: true}
    - {secret_id: %s, secret_key: %s, nodes: [node-a]}
    - {secret_id: %s, secret_key: %s}
    - {secret_id: %s, secret_key: %s, upload_any_node: true}
`, roID, roKey, nodeAID, nodeAKey, nodeBID, nodeBKey, anyID, anyKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, data, "--config", cfg) // the last --config wins
	ctx := context.Background()
	key := func(id, secret string) *apiclient.Client {
		c, err := apiclient.New("http://"+d.addr, id, secret)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b, anyNode := key(nodeAID, nodeAKey), key(nodeBID, nodeBKey), key(anyID, anyKey)
	sdk := newClient(t, d.addr, roID, roKey)
	const ctrB, ctrA uint64 = 4242000001, 4242000002

	if _, err := b.Upload(ctx, containerUpload("node-b", "web-b", ctrB, checks.ResultFailed)); err != nil {
		t.Fatalf("node B's upload of its container: %v", err)
	}
	detail := func(id uint64) (name string, failed, passed int) {
		t.Helper()
		var out struct {
			AssetDetailInfo struct {
				NodeName                                     string
				FailedPolicyItemCount, PassedPolicyItemCount int
			}
		}
		sdk.ok("DescribeComplianceAssetDetailInfo", map[string]any{"CustomerAssetId": id}, &out)
		return out.AssetDetailInfo.NodeName, out.AssetDetailInfo.FailedPolicyItemCount, out.AssetDetailInfo.PassedPolicyItemCount
	}
	if node, failed, _ := detail(ctrB); node != "node-b" || failed != 3 {
		t.Fatalf("node B's container after its upload: node %q, %d failed; want node-b, 3", node, failed)
	}

	fake := func(node string) api.ScanUpload { return containerUpload(node, "web-b", ctrB, checks.ResultPassed) }
	_, err := a.Upload(ctx, fake("node-b"))
	wantAPIError(t, "node A's key uploading as node B", err, api.AuthFailureUnauthorized, nodeAID, "node-a", `"node-b"`)
	_, err = a.Upload(ctx, fake("node-a"))
	wantAPIError(t, "node A's key rewriting node B's container as node A", err, api.AuthFailureUnauthorized,
		"Assets[0]", fmt.Sprint(ctrB), "web-b", `"node-b"`, `"node-a"`)
	_, err = anyNode.Upload(ctx, fake("node-a"))
	wantAPIError(t, "an any-node key rewriting node B's container as node A", err, api.AuthFailureUnauthorized, fmt.Sprint(ctrB), `"node-b"`, `"node-a"`)
	_, err = b.Upload(ctx, containerUpload("node-a", "web-a", ctrA, checks.ResultPassed))
	wantAPIError(t, "node B's key uploading as node A", err, api.AuthFailureUnauthorized, nodeBID, `"node-b"`, `"node-a"`)

	if node, failed, passed := detail(ctrB); node != "node-b" || failed != 3 || passed != 0 {
		t.Errorf("node B's container after the refused uploads: node %q, %d failed, %d passed; want node-b, 3 failed", node, failed, passed)
	}
	if n := len(tasks(t, bin, data)); n != 1 {
		t.Errorf("%d tasks after the refused uploads, want node B's one", n)
	}

	// Each node writes its own.
	if _, err := a.Upload(ctx, containerUpload("node-a", "web-a", ctrA, checks.ResultPassed)); err != nil {
		t.Errorf("node A's upload of its own container: %v", err)
	}
	if node, failed, passed := detail(ctrA); node != "node-a" || failed != 0 || passed != 3 {
		t.Errorf("node A's container: node %q, %d failed, %d passed", node, failed, passed)
	}
	if _, err := b.Upload(ctx, containerUpload("node-b", "web-b", ctrB, checks.ResultPassed)); err != nil {
		t.Errorf("node B's second upload of its container: %v", err)
	}
	if node, failed, passed := detail(ctrB); node != "node-b" || failed != 0 || passed != 3 {
		t.Errorf("node B's container after its fix: node %q, %d failed, %d passed", node, failed, passed)
	}
}
