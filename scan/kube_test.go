package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/kubetest"
	"github.com/baselinehq/baseline/internal/testhost"
)

func kubeCatalog(t *testing.T, engines string) *checks.Catalog {
	t.Helper()
	data, err := os.ReadFile("../testdata/benchmarks/kube-test/standard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), `engines: ">= 1.30"`, fmt.Sprintf("engines: %q", engines), 1))
	fs := fstest.MapFS{"kube-test/standard.yaml": {Data: data}}
	cat, err := checks.Load(checks.Tree{FS: fs, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func pod(ns, name string, privileged, hostNet bool) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{
		HostNetwork: hostNet,
		Containers: []corev1.Container{{Name: "c", Image: "busybox",
			SecurityContext: &corev1.SecurityContext{Privileged: &privileged}}}}}
}

func failingObjects(v checks.Verdict) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range v.Evidence {
		if !e.Passed && !strings.HasPrefix(e.Source, "kubernetes ") && !seen[e.Source] {
			seen[e.Source] = true
			out = append(out, e.Source)
		}
	}
	return out
}

// TestClusterScan scans a real API server: the cluster is one ASSET_K8S
// asset named and versioned from the API, each failing object is named in
// the evidence, excluded objects are left out, and each resource is
// listed once per scan, in pages.
func TestClusterScan(t *testing.T) {
	s := kubetest.StartT(t, nil)
	ctx := context.Background()
	cs := s.Client()
	for _, ns := range []string{"team-a", "team-b"} {
		if err := s.Namespace(ns); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*corev1.Pod{pod("team-a", "web", false, false), pod("team-a", "root-shell", true, false),
		pod("team-b", "netdebug", false, true), pod("kube-system", "proxy", true, true)} {
		if _, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// 1,100 service accounts: three pages of 500.
	no := false
	var wg sync.WaitGroup
	errs := make(chan error, 1100)
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 1100; i += 10 {
				sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: fmt.Sprintf("sa-%04d", i)}}
				if i != 7 {
					sa.AutomountServiceAccountToken = &no
				}
				if _, err := cs.CoreV1().ServiceAccounts("team-b").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	cat := kubeCatalog(t, ">= 1.30")
	opts := Options{HostRoot: t.TempDir(), NoDocker: true, Kube: kube.Options{Kubeconfig: s.Kubeconfig}, Types: []assets.Type{assets.K8s}}
	rep, err := Run(ctx, cat, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Assets) != 1 {
		t.Fatalf("assets = %+v, want the cluster only (no Kubernetes component runs in an empty host root)", rep.Assets)
	}
	cluster := rep.Assets[0]
	want, _ := kubetest.Version()
	if cluster.Type != assets.K8s || cluster.Name != "kubetest" || cluster.Cluster == nil || cluster.Cluster.Version != want || cluster.Ref == "" {
		t.Fatalf("cluster asset = %+v %+v, want ASSET_K8S kubetest %s with the kube-system UID", cluster, cluster.Cluster, want)
	}
	if fmt.Sprint(cluster.Cluster.Nodes) != "[worker-1]" {
		t.Fatalf("cluster nodes = %v, want [worker-1]", cluster.Cluster.Nodes)
	}
	if len(rep.Failures) != 0 {
		t.Fatalf("failures: %+v", rep.Failures)
	}

	priv := testhost.Result(t, rep, 9100001, cluster.ID)
	if priv.Result != checks.ResultFailed || fmt.Sprint(failingObjects(priv)) != "[pod team-a/root-shell]" {
		t.Fatalf("item 1: %s, failing %v, want failed naming only team-a/root-shell (kube-system excluded)\n%+v", priv.Result, failingObjects(priv), priv.Evidence)
	}
	if priv.Evidence[0].Actual != "2 of 3 pods pass" {
		t.Fatalf("item 1 summary = %q", priv.Evidence[0].Actual)
	}
	hostNet := testhost.Result(t, rep, 9100002, cluster.ID)
	if got := fmt.Sprint(failingObjects(hostNet)); hostNet.Result != checks.ResultFailed || got != "[pod kube-system/proxy pod team-b/netdebug]" {
		t.Fatalf("item 2: %s, failing %s", hostNet.Result, got)
	}
	sas := testhost.Result(t, rep, 9100003, cluster.ID)
	if got := fmt.Sprint(failingObjects(sas)); sas.Result != checks.ResultFailed || got != "[serviceaccount team-b/sa-0007]" || sas.Evidence[0].Actual != "1099 of 1100 serviceaccounts pass" {
		t.Fatalf("item 3: %s, failing %s, summary %q", sas.Result, got, sas.Evidence[0].Actual)
	}
	if _, err := os.Stat(filepath.Join(opts.HostRoot, "proc")); err == nil {
		t.Fatal("host root should be empty")
	}
	if rep.KubeCallsByOp["GET pods"] != 1 || rep.KubeCallsByOp["GET serviceaccounts"] != 3 {
		t.Fatalf("calls = %v, want one pods list and three service account pages", rep.KubeCallsByOp)
	}

	// The same cluster keeps its id; another kubeconfig name does not change it.
	rep2, err := Run(ctx, cat, Options{HostRoot: t.TempDir(), NoDocker: true, Kube: kube.Options{Kubeconfig: s.Kubeconfig, Name: "prod"},
		Types: []assets.Type{assets.K8s}, Items: []uint64{9100002}})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Assets[0].ID != cluster.ID || rep2.Assets[0].Name != "prod" {
		t.Fatalf("rescan asset = %+v, want id %d named prod", rep2.Assets[0], cluster.ID)
	}
}

// TestClusterVersionRange: a standard whose range excludes the cluster's
// version does not apply, unless chosen by name.
func TestClusterVersionRange(t *testing.T) {
	s := kubetest.StartT(t, nil)
	cat := kubeCatalog(t, ">= 1.99")
	opts := Options{HostRoot: t.TempDir(), NoDocker: true, Kube: kube.Options{Kubeconfig: s.Kubeconfig}, Items: []uint64{9100002}}
	rep, err := Run(context.Background(), cat, opts)
	if err != nil {
		t.Fatal(err)
	}
	v := testhost.Result(t, rep, 9100002, rep.Assets[0].ID)
	if v.Result != checks.ResultNotApplicable || !strings.Contains(v.Reason, "outside kube-test's range >= 1.99") {
		t.Fatalf("verdict = %+v, want not applicable for the version", v)
	}
	opts.Standards, opts.ForceVersion = []string{"kube-test"}, true
	if rep, err = Run(context.Background(), cat, opts); err != nil {
		t.Fatal(err)
	}
	if v := testhost.Result(t, rep, 9100002, rep.Assets[0].ID); v.Result != checks.ResultNotApplicable || v.Reason != "the cluster has no pods" {
		t.Fatalf("forced verdict = %+v, want judged (and not applicable: no pods)", v)
	}
}

// TestClusterUnreachable: a configured cluster that does not answer is an
// asset recorded as failed with the reason; the node items still run.
func TestClusterUnreachable(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`), 0o600)
	root := testhost.Tree(t, "hardened")
	writeProc(t, root, 5150, "/usr/bin/kubelet", "--anonymous-auth=false")
	rep, err := Run(context.Background(), kubeCatalog(t, ">= 1.30"), Options{HostRoot: root, NoDocker: true, Kube: kube.Options{Kubeconfig: kc}})
	if err != nil {
		t.Fatal(err)
	}
	var cluster, node *assets.Asset
	for i := range rep.Assets {
		switch {
		case rep.Assets[i].Name == "gone":
			cluster = &rep.Assets[i]
		case rep.Assets[i].Type == assets.K8s:
			node = &rep.Assets[i]
		}
	}
	if cluster == nil || node == nil {
		t.Fatalf("assets = %+v, want the cluster gone and this node", rep.Assets)
	}
	if v := testhost.Result(t, rep, 9100001, cluster.ID); v.Status != checks.CheckFailed || !strings.Contains(v.Reason, "127.0.0.1:1") {
		t.Fatalf("cluster verdict = %+v, want check failed naming the server", v)
	}
	found := false
	for _, f := range rep.Failures {
		found = found || f.AssetID == cluster.ID && strings.Contains(f.Suggestion, "kubeconfig")
	}
	if !found {
		t.Fatalf("failures = %+v, want the cluster with a suggestion", rep.Failures)
	}
	if v := testhost.Result(t, rep, 9100004, node.ID); v.Result != checks.ResultPassed {
		t.Fatalf("node verdict = %+v, want passed from the kubelet's flag", v)
	}
	if node.NodeName != "hardened" || node.Cluster == nil || fmt.Sprint(node.Cluster.Components) != "[kubelet]" {
		t.Fatalf("node asset = %+v %+v", node, node.Cluster)
	}
}

// TestNodeKubeletConfig: the kubelet's flag wins over its config file, and
// the config file read is the one --config names, not a default path.
func TestNodeKubeletConfig(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []string
		result checks.CheckResult
	}{
		{"config says no", []string{"--config=/srv/kubelet/config.yaml"}, checks.ResultPassed},
		{"flag overrides config", []string{"--config=/srv/kubelet/config.yaml", "--anonymous-auth=true"}, checks.ResultFailed},
		{"default path is not read", []string{"--config=/srv/kubelet/other.yaml"}, checks.ResultFailed},
		// A file that is not in the kubelet's own root: neither pass nor
		// fail on the flags alone.
		{"config not visible to it", []string{"--config=/inside/the/container.yaml", "--anonymous-auth=false"}, checks.ResultNotApplicable},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := testhost.Tree(t, "hardened")
			writeProc(t, root, 5150, append([]string{"/usr/bin/kubelet"}, c.args...)...)
			writeFile(t, root, "/srv/kubelet/config.yaml", "authentication:\n  anonymous:\n    enabled: false\n")
			writeFile(t, root, "/srv/kubelet/other.yaml", "authentication:\n  anonymous:\n    enabled: true\n")
			writeFile(t, root, "/var/lib/kubelet/config.yaml", "authentication:\n  anonymous:\n    enabled: false\n")
			rep, err := Run(context.Background(), kubeCatalog(t, ">= 1.30"), Options{HostRoot: root, NoDocker: true, NoKube: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Assets) != 1 || rep.Assets[0].Type != assets.K8s {
				t.Fatalf("assets = %+v, want the node", rep.Assets)
			}
			v := testhost.Result(t, rep, 9100004, rep.Assets[0].ID)
			if v.Result != c.result {
				t.Fatalf("verdict = %+v, want %s", v, c.result)
			}
			if c.result == checks.ResultNotApplicable && !strings.Contains(v.Reason, "kubelet's --config file /inside/the/container.yaml is not visible to it") {
				t.Fatalf("reason = %q", v.Reason)
			}
		})
	}
}

// writeProc adds a process to a fixture host tree: its command line, and
// its root directory (a link to the host's "/", as for a process that runs
// on the host itself).
func writeProc(t *testing.T, root string, pid int, argv ...string) {
	t.Helper()
	writeProcIn(t, root, pid, "/", argv...)
}

// writeProcIn adds a process whose root directory is procRoot, a directory
// of the host tree (a container's root file system).
func writeProcIn(t *testing.T, root string, pid int, procRoot string, argv ...string) {
	t.Helper()
	writeFile(t, root, fmt.Sprintf("/proc/%d/cmdline", pid), strings.Join(argv, "\x00")+"\x00")
	link := filepath.Join(root, "proc", strconv.Itoa(pid), "root")
	if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.Symlink(procRoot, link); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A host expected to be a node (the DaemonSet) whose process table shows
// no Kubernetes component is a scan-failed node, not an empty scan.
func TestExpectedNodeWithoutComponents(t *testing.T) {
	root := testhost.Tree(t, "hardened") // processes, none of Kubernetes
	opts := Options{HostRoot: root, NoDocker: true, NoKube: true, Types: []assets.Type{assets.K8s}}
	rep, err := Run(context.Background(), kubeCatalog(t, ">= 1.30"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Assets) != 0 {
		t.Fatalf("assets = %+v, want none when no node is expected", rep.Assets)
	}
	opts.ExpectNode, opts.NodeName = true, "worker-3"
	if rep, err = Run(context.Background(), kubeCatalog(t, ">= 1.30"), opts); err != nil {
		t.Fatal(err)
	}
	if len(rep.Assets) != 1 || rep.Assets[0].Name != "worker-3" || len(rep.Failures) != 1 {
		t.Fatalf("assets %+v, failures %+v, want the node worker-3 scan-failed", rep.Assets, rep.Failures)
	}
	f := rep.Failures[0]
	if !strings.Contains(f.Reason, "no Kubernetes component") || !strings.Contains(f.Suggestion, "/proc") {
		t.Fatalf("failure = %+v", f)
	}
	if v := testhost.Result(t, rep, 9100004, rep.Assets[0].ID); v.Status != checks.CheckFailed {
		t.Fatalf("node item = %+v, want check failed", v)
	}
}
