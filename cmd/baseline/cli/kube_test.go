package cli

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/internal/kubetest"
	"github.com/baselinehq/baseline/store"
)

// Kubernetes results flow through the store like every other asset type:
// the summary (passed items over all items), the asset list, the ignore
// list and rechecks, driven from the command line against a real API
// server.
func TestKubernetesFromTheCLI(t *testing.T) {
	s := kubetest.StartT(t, nil)
	ctx := context.Background()
	if err := s.Namespace("shop"); err != nil {
		t.Fatal(err)
	}
	yes := true
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "debug"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "busybox", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}
	if _, err := s.Client().CoreV1().Pods("shop").Create(ctx, bad, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := &cliEnv{t: t}
	common := []string{"--kubeconfig", s.Kubeconfig, "--benchmarks", "../../../testdata/benchmarks/kube-test", "--host-root", t.TempDir()}
	e.ok(append([]string{"scan", "--type", "k8s", "--standard", "kube-test", "--progress", "never", "--no-docker"}, common...)...)

	var sums []store.AssetSummary
	e.json(&sums, "summary", "--type", "k8s")
	// Items 1 and 2 judge the cluster's pods: 1 fails, 2 passes; 3 has no
	// service account to judge besides excluded ones; 4 is a node item
	// and no node is here.
	if len(sums) != 1 || sums[0].AssetType != assets.K8s || sums[0].AssetCount != 1 ||
		sums[0].PassedPolicyItemCount != 1 || sums[0].FailedPolicyItemCount != 1 || sums[0].AssetPassedRate != 50 {
		t.Fatalf("summary = %+v, want one cluster with 1 passed and 1 failed item (rate 50)", sums)
	}
	var list struct{ List []store.AssetInfo }
	e.json(&list, "assets", "--type", "k8s")
	if len(list.List) != 1 || list.List[0].Cluster == nil || list.List[0].Cluster.ClusterName != "kubetest" || list.List[0].FailedPolicyItemCount != 1 {
		t.Fatalf("assets = %+v", list.List)
	}
	cluster := list.List[0].ID

	// Waive the finding on this cluster: it no longer counts as a failure.
	e.ok("ignore", "add", "--item", "9100001", "--asset", fmt.Sprint(cluster), "--reason", "debug pod, removed next sprint")
	if a := e.asset(cluster); a.FailedPolicyItemCount != 0 || a.IgnoredCount != 1 {
		t.Fatalf("after ignore: %+v", a)
	}
	e.ok("ignore", "rm", "--item", "9100001", "--asset", fmt.Sprint(cluster))

	// Fix it and recheck just that item on the cluster.
	if err := s.Client().CoreV1().Pods("shop").Delete(ctx, "debug", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.ok(append([]string{"recheck", "--item", "9100001", "--asset", fmt.Sprint(cluster), "--progress", "never"}, common...)...)
	if task := e.lastTask(); task.Trigger != store.TriggerRecheck || task.ResultCount != 1 {
		t.Fatalf("recheck task = %+v, want one result", task)
	}
	if a := e.asset(cluster); a.FailedPolicyItemCount != 0 || a.PassedPolicyItemCount != 1 {
		t.Fatalf("after the recheck: %+v (item 1 finds no pod now: not applicable; item 2 still passed)", a)
	}
}
