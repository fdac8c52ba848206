package cli

import (
	"fmt"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/critest"
	"github.com/baselinehq/baseline/store"
)

// TestRuntimeFromTheCLI scans a containerd's containers through the CRI
// with --cri-endpoint, records them, rechecks one, and leaves the runtime
// alone with --no-cri.
func TestRuntimeFromTheCLI(t *testing.T) {
	r := critest.Start(t)
	sb := r.RunPod(t, critest.Pod{Name: "web", Namespace: "shop"})
	id := r.Create(t, sb, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "app"}}, true)
	e := &cliEnv{t: t}
	common := []string{"--type", "container", "--standard", "baseline-cri-1.0", "--no-docker", "--no-kube", "--progress", "never"}
	e.ok(append([]string{"scan", "--cri-endpoint", "unix://" + r.Socket}, common...)...)

	var list struct{ List []store.AssetInfo }
	e.json(&list, "assets", "--type", "container")
	if len(list.List) != 1 {
		t.Fatalf("assets = %+v, want the runtime's container", list.List)
	}
	a := list.List[0]
	if a.Ref != id || a.Name != "shop/web/app" || a.Container == nil || a.Container.PodName != "web" || a.Container.State != assets.StateNormal ||
		a.FailedPolicyItemCount == 0 || a.PassedPolicyItemCount == 0 {
		t.Fatalf("asset = %+v %+v", a, a.Container)
	}
	before := e.lastTask().ID
	e.ok(append([]string{"recheck", "--asset", fmt.Sprint(a.ID), "--cri-endpoint", r.Socket}, common[4:]...)...)
	if task := e.lastTask(); task.ID == before || task.Status != checks.CheckFinished {
		t.Fatalf("recheck task = %+v", task)
	}
	if got := e.asset(a.ID); got.FailedPolicyItemCount != a.FailedPolicyItemCount {
		t.Errorf("after the recheck: %d failed items, want %d", got.FailedPolicyItemCount, a.FailedPolicyItemCount)
	}

	out := e.ok(append([]string{"scan", "--no-cri", "--no-store", "--format", "json", "--cri-endpoint", r.Socket}, common...)...)
	if strings.Contains(out, id) {
		t.Errorf("--no-cri scanned the runtime's container:\n%s", out)
	}
}
