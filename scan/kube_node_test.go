package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/kubetest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
)

const cisK8s = cisKubeBefore

// cisK8sStandards are the built-in CIS Kubernetes standards: 2.0 has the
// items of 1.12, and the fixture nodes get the same verdicts from both.
var cisK8sStandards = []string{cisKubeBefore, cisKube}

// cisK8sNodeItems returns the built-in CIS Kubernetes 1.12 items of the
// sections whose numbers start with one of prefixes ("1.", "2." ...).
func cisK8sNodeItems(t *testing.T, cat *checks.Catalog, prefixes ...string) []*checks.Item {
	t.Helper()
	return standardNodeItems(t, cat, cisK8s, prefixes...)
}

// standardNodeItems returns a CIS Kubernetes standard's items of the
// sections whose numbers start with one of prefixes.
func standardNodeItems(t *testing.T, cat *checks.Catalog, stdID string, prefixes ...string) []*checks.Item {
	t.Helper()
	std, ok := cat.Standard(stdID)
	if !ok {
		t.Fatalf("%s is not built in", stdID)
	}
	var out []*checks.Item
	for _, it := range std.Items {
		for _, p := range prefixes {
			if strings.HasPrefix(it.Number, p) {
				out = append(out, it)
				break
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s items numbered %v", stdID, prefixes)
	}
	return out
}

// scanK8sNode scans a host root with only the given items and returns the
// node asset and the verdict of each item on it, by number.
func scanK8sNode(t *testing.T, cat *checks.Catalog, root string, items []*checks.Item) (assets.Asset, map[string]checks.Verdict) {
	t.Helper()
	rep, got := scanK8sNodeReport(t, cat, root, items)
	return rep.Assets[0], got
}

// scanK8sNodeReport is scanK8sNode with the whole report; the items are of
// one standard.
func scanK8sNodeReport(t *testing.T, cat *checks.Catalog, root string, items []*checks.Item) (*results.Report, map[string]checks.Verdict) {
	t.Helper()
	ids := make([]uint64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	rep, err := Run(context.Background(), cat, Options{HostRoot: root, NoDocker: true, NoKube: true,
		Types: []assets.Type{assets.K8s}, Standards: []string{items[0].Standard.ID}, Items: ids})
	if err != nil {
		t.Fatal(err)
	}
	node := testhost.OnlyAsset(t, rep, assets.K8s)
	if node.Cluster == nil {
		t.Fatalf("assets = %+v, want one ASSET_K8S node", rep.Assets)
	}
	for _, r := range rep.Results {
		if r.AssetID != node.ID {
			t.Fatalf("result of item %d on asset %d, not on the node %d", r.ItemID, r.AssetID, node.ID)
		}
	}
	out := testhost.Verdicts(t, rep, node.ID)
	if len(out) != len(items) {
		t.Fatalf("%d results for %d items", len(out), len(items))
	}
	return rep, out
}

// assertAutomated asserts the result of every automated item.
func assertAutomated(t *testing.T, items []*checks.Item, got map[string]checks.Verdict, want checks.CheckResult) int {
	t.Helper()
	n := 0
	for _, it := range items {
		if !it.Automated {
			continue
		}
		n++
		v := got[it.Number]
		if v.Status != checks.CheckFinished || v.Result != want {
			t.Errorf("%s: got %s/%s %q, want %s; evidence %+v", it.Number, v.Status, v.Result, v.Reason, want, v.Evidence)
		}
	}
	return n
}

// assertManual asserts that no manual item is ever passed or failed: it is
// reported as manual (with whatever evidence it collected) or, where its
// subject is absent, as not applicable.
func assertManual(t *testing.T, items []*checks.Item, got map[string]checks.Verdict) {
	t.Helper()
	for _, it := range items {
		if it.Automated {
			continue
		}
		v := got[it.Number]
		if v.Status != checks.CheckFinished || (v.Result != checks.ResultManual && v.Result != checks.ResultNotApplicable) {
			t.Errorf("manual %s: got %s/%s %q, want RESULT_MANUAL or RESULT_NOT_APPLICABLE", it.Number, v.Status, v.Result, v.Reason)
		}
	}
}

// evidenceSources joins the sources of a verdict's evidence.
func evidenceSources(v checks.Verdict) string {
	var s []string
	for _, e := range v.Evidence {
		s = append(s, e.Source)
	}
	return strings.Join(s, "; ")
}

var allComponents = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-proxy", "kube-scheduler", "kubelet"}

// TestCISKubernetesNodeGood: on a kubeadm-style control plane node set up
// as the benchmark asks, every automated item of sections 1-4 passes, and
// no manual item is passed or failed, under CIS Kubernetes 1.12 and 2.0.
func TestCISKubernetesNodeGood(t *testing.T) {
	for _, std := range cisK8sStandards {
		t.Run(std, func(t *testing.T) { nodeGood(t, std) })
	}
}

func nodeGood(t *testing.T, stdID string) {
	cat := testhost.Builtin(t)
	items := standardNodeItems(t, cat, stdID, "1.", "2.", "3.", "4.")
	node, got := scanK8sNode(t, cat, testhost.Tree(t, "k8s-good"), items)
	comps := slices.Clone(node.Cluster.Components)
	slices.Sort(comps)
	if !slices.Equal(comps, allComponents) {
		t.Errorf("node components = %v, want %v", comps, allComponents)
	}
	if n := assertAutomated(t, items, got, checks.ResultPassed); n != 65 {
		t.Errorf("%d automated items in sections 1-4, want 65", n)
	}
	assertManual(t, items, got)
	// Evidence never carries the encryption configuration's keys (1.2.28
	// shows key names only).
	for n, v := range got {
		for _, e := range v.Evidence {
			if strings.Contains(e.Actual, "Zml4dHVyZS1rZXktbm90") {
				t.Errorf("%s: evidence %+v shows an encryption key", n, e)
			}
		}
	}
	// The kubelet's --anonymous-auth=false flag wins over its config
	// file's anonymous.enabled: true.
	if e := got["4.2.1"].Evidence; len(e) != 1 || e[0].Actual != "false" {
		t.Errorf("4.2.1 evidence = %+v, want the flag's false", e)
	}
	// The scheduler's profiling setting comes from the file its --config names.
	if e := got["1.4.1"].Evidence; len(e) != 1 || e[0].Actual != "false" || !strings.Contains(e[0].Source, "/etc/kubernetes/kube-scheduler-config.yaml") {
		t.Errorf("1.4.1 evidence = %+v, want enableProfiling false from the scheduler's --config", e)
	}
}

// TestCISKubernetesNodeBad: on a node that gets every automated item of
// sections 1-4 wrong, every one fails, under CIS Kubernetes 1.12 and 2.0;
// files at kubeadm's default paths that are compliant are decoys, since the
// running processes name others.
func TestCISKubernetesNodeBad(t *testing.T) {
	for _, std := range cisK8sStandards {
		t.Run(std, func(t *testing.T) { nodeBad(t, std) })
	}
}

func nodeBad(t *testing.T, stdID string) {
	cat := testhost.Builtin(t)
	items := standardNodeItems(t, cat, stdID, "1.", "2.", "3.", "4.")
	_, got := scanK8sNode(t, cat, testhost.Tree(t, "k8s-bad"), items)
	if n := assertAutomated(t, items, got, checks.ResultFailed); n != 65 {
		t.Errorf("%d automated items in sections 1-4, want 65", n)
	}
	assertManual(t, items, got)

	// The verdicts follow the files the processes name, not the compliant
	// files at the default paths.
	for _, c := range []struct{ number, file, decoy string }{
		{"4.1.9", "file /etc/kubernetes/kubelet/config.yaml", "/var/lib/kubelet/config.yaml"},
		{"4.1.10", "file /etc/kubernetes/kubelet/config.yaml", "/var/lib/kubelet/config.yaml"},
		{"4.2.1", "with --config /etc/kubernetes/kubelet/config.yaml", "/var/lib/kubelet/config.yaml"},
		{"4.2.2", "with --config /etc/kubernetes/kubelet/config.yaml", "/var/lib/kubelet/config.yaml"},
		{"4.2.10", "with --config /etc/kubernetes/kubelet/config.yaml", "/var/lib/kubelet/config.yaml"},
		{"1.1.11", "file /var/lib/etcd-data", "/var/lib/etcd;"},
		{"1.1.12", "file /var/lib/etcd-data", "/var/lib/etcd;"},
		{"1.1.15", "file /srv/kubernetes/scheduler.conf", "/etc/kubernetes/scheduler.conf"},
	} {
		src := evidenceSources(got[c.number]) + ";"
		if !strings.Contains(src, c.file) || strings.Contains(src, c.decoy) {
			t.Errorf("%s: evidence from %q, want %q and never the decoy %s", c.number, src, c.file, c.decoy)
		}
	}
	// The kubelet's --make-iptables-util-chains=false flag wins over its
	// config file's makeIPTablesUtilChains: true.
	for _, e := range got["4.2.6"].Evidence {
		if e.Actual != "false" {
			t.Errorf("4.2.6 evidence %+v, want the flag's false", e)
		}
	}
	// Authorization read from the API server's --authorization-config file.
	if e := got["1.2.6"].Evidence; len(e) != 1 || e[0].Actual != "AlwaysAllow" || !strings.Contains(e[0].Source, "--authorization-config /etc/kubernetes/authorization.yaml") {
		t.Errorf("1.2.6 evidence = %+v, want AlwaysAllow from the --authorization-config file", e)
	}
	// Every admin kubeconfig is judged: admin.conf is fine, super-admin.conf is not.
	var failing []string
	for _, e := range got["1.1.13"].Evidence {
		if !e.Passed {
			failing = append(failing, e.Source)
		}
	}
	if !slices.Equal(failing, []string{"file /etc/kubernetes/super-admin.conf"}) {
		t.Errorf("1.1.13 failing files = %v, want only super-admin.conf", failing)
	}
}

// TestCISKubernetesWorkerNode: on a worker (only the kubelet and
// kube-proxy run, no control plane files), the control plane and etcd
// items do not apply, each with its reason, and the worker items are
// judged as on any node.
func TestCISKubernetesWorkerNode(t *testing.T) {
	cat := testhost.Builtin(t)
	root := testhost.Tree(t, "k8s-good")
	for _, p := range []string{"proc/1101", "proc/1102", "proc/1103", "proc/1104", "etc/kubernetes/manifests", "etc/kubernetes/admin.conf",
		"etc/kubernetes/super-admin.conf", "etc/kubernetes/scheduler.conf", "etc/kubernetes/controller-manager.conf",
		"etc/kubernetes/pki", "etc/cni", "var/lib/etcd"} {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	items := cisK8sNodeItems(t, cat, "1.", "2.", "3.", "4.")
	node, got := scanK8sNode(t, cat, root, items)
	comps := slices.Clone(node.Cluster.Components)
	slices.Sort(comps)
	if !slices.Equal(comps, []string{"kube-proxy", "kubelet"}) {
		t.Errorf("node components = %v, want kube-proxy and kubelet", comps)
	}
	reasons := map[string]string{
		"1.1.1": "no API server static pod manifest", "1.1.3": "no controller manager static pod manifest",
		"1.1.5": "no scheduler static pod manifest", "1.1.7": "no etcd static pod manifest",
		"1.1.13": "no file matches", "1.1.19": "no file matches",
		"1.2.": "kube-apiserver does not run on this node", "1.3.": "kube-controller-manager does not run on this node",
		"1.4.": "kube-scheduler does not run on this node", "2.": "etcd does not run on this node",
		"3.2.": "kube-apiserver does not run on this node",
	}
	for _, it := range items {
		v := got[it.Number]
		if strings.HasPrefix(it.Number, "4.") || strings.HasPrefix(it.Number, "3.1.") || it.Number == "1.1.9" || it.Number == "1.1.10" {
			continue
		}
		if v.Status != checks.CheckFinished || v.Result != checks.ResultNotApplicable {
			t.Errorf("%s: got %s/%s %q, want not applicable on a worker", it.Number, v.Status, v.Result, v.Reason)
			continue
		}
		for prefix, why := range reasons {
			if (it.Number == prefix || strings.HasPrefix(it.Number, prefix) && strings.HasSuffix(prefix, ".")) && !strings.Contains(v.Reason, why) {
				t.Errorf("%s: reason %q, want %q", it.Number, v.Reason, why)
			}
		}
	}
	worker := cisK8sNodeItems(t, cat, "4.")
	if n := assertAutomated(t, worker, got, checks.ResultPassed); n != 12 {
		t.Errorf("%d automated items in section 4, want 12", n)
	}
	assertManual(t, items, got)
}

// liveAPIServerVerdicts scans this machine's real process table with the
// given items once the API server pid is the only kube-apiserver running
// (a process source judges every kube-apiserver, and other tests may run
// one), and returns the verdicts; every piece of evidence must come from
// that pid.
func liveAPIServerVerdicts(t *testing.T, cat *checks.Catalog, items []*checks.Item, pid int) map[string]checks.Verdict {
	t.Helper()
	mine := fmt.Sprintf("process kube-apiserver (pid %d)", pid)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		procs, err := hostfs.New("/").FindProcesses("kube-apiserver")
		if err != nil {
			t.Fatal(err)
		}
		why := ""
		for _, p := range procs {
			if p.PID != pid {
				why = fmt.Sprintf("another kube-apiserver runs (pid %d)", p.PID)
			}
		}
		if why == "" {
			_, got := scanK8sNode(t, cat, "/", items)
			for n, v := range got {
				for _, e := range v.Evidence {
					if !strings.HasPrefix(e.Source, mine) {
						why = fmt.Sprintf("%s has evidence from %s", n, e.Source)
					}
				}
			}
			if why == "" {
				return got
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: this test needs its own kube-apiserver to be the only one", why)
		}
		t.Logf("%s; scanning again in 2s", why)
		time.Sleep(2 * time.Second)
	}
}

// TestCISKubernetesAPIServerLive starts the real kube-apiserver twice, one
// after the other, once with the flags the benchmark asks for and once
// with insecure ones, and scans this machine's process table with the
// 1.2.x items: the verdicts judge the flags of the running process. The
// insecure server keeps what it needs to start and become ready (RBAC for
// the bootstrap roles, the client CA for the test's administrator, TLS and
// a service account key), so those items pass there too.
func TestCISKubernetesAPIServerLive(t *testing.T) {
	bin := kubetest.Require(t)
	cat := testhost.Builtin(t)
	items := cisK8sNodeItems(t, cat, "1.2.")
	for _, c := range []struct {
		name  string
		flags func(dir string) map[string]string
		// fails lists the automated items that must fail; every other
		// automated item must pass.
		fails []string
	}{
		{"compliant", func(dir string) map[string]string {
			return map[string]string{
				"--kubelet-client-certificate":              filepath.Join(dir, "admin.crt"),
				"--kubelet-client-key":                      filepath.Join(dir, "admin.key"),
				"--kubelet-certificate-authority":           filepath.Join(dir, "ca.crt"),
				"--audit-log-path":                          filepath.Join(dir, "audit.log"),
				"--audit-log-maxage":                        "30",
				"--audit-log-maxbackup":                     "10",
				"--audit-log-maxsize":                       "100",
				"--etcd-certfile":                           filepath.Join(dir, "admin.crt"),
				"--etcd-keyfile":                            filepath.Join(dir, "admin.key"),
				"--etcd-cafile":                             filepath.Join(dir, "ca.crt"),
				"--service-account-extend-token-expiration": "false",
			}
		}, nil},
		{"insecure", func(dir string) map[string]string {
			tokens := filepath.Join(dir, "tokens.csv")
			if err := os.WriteFile(tokens, []byte("live-test-token,tester,1001\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return map[string]string{
				"--token-auth-file":           tokens,
				"--authorization-mode":        "AlwaysAllow,RBAC",
				"--enable-admission-plugins":  "AlwaysAdmit",
				"--disable-admission-plugins": "ServiceAccount,NamespaceLifecycle",
				"--profiling":                 "true",
				"--service-account-lookup":    "false",
				"--audit-log-maxage":          "7",
			}
		}, []string{"1.2.2", "1.2.4", "1.2.5", "1.2.6", "1.2.7", "1.2.10", "1.2.12", "1.2.13", "1.2.14", "1.2.15",
			"1.2.16", "1.2.17", "1.2.18", "1.2.19", "1.2.21", "1.2.23", "1.2.26", "1.2.30"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := kubetest.Start(bin, dir, c.flags(dir))
			if err != nil {
				t.Fatal(err)
			}
			// Stopped before the next server starts: never two at once.
			defer s.Stop()
			got := liveAPIServerVerdicts(t, cat, items, s.PID)
			fails := map[string]bool{}
			for _, n := range c.fails {
				fails[n] = true
			}
			for _, it := range items {
				v := got[it.Number]
				want := checks.ResultPassed
				switch {
				case !it.Automated:
					want = checks.ResultManual
				case fails[it.Number]:
					want = checks.ResultFailed
				}
				if v.Status != checks.CheckFinished || v.Result != want {
					t.Errorf("%s: got %s/%s %q, want %s; evidence %+v", it.Number, v.Status, v.Result, v.Reason, want, v.Evidence)
				}
			}
			// The evidence shows the values the server runs with.
			for number, flag := range map[string]string{"1.2.15": "--profiling", "1.2.17": "--audit-log-maxage", "1.2.6": "--authorization-mode"} {
				e := got[number].Evidence
				if len(e) == 0 || e[0].Actual != s.Flags[flag] {
					t.Errorf("%s: evidence %+v, want %s=%s as the server runs", number, e, flag, s.Flags[flag])
				}
			}
		})
	}
}

// TestCISKubernetesKubeProxyMetrics: 4.3.1 reads kube-proxy's flag, else
// the file its --config names, and passes on the default (loopback). The
// file is read as kube-proxy sees it: in its container when it runs in one
// (a kubeadm DaemonSet), where the node's file at the same path is a
// decoy; when kube-proxy's own root has no such file, the item does not
// apply rather than pass on a value it could not read.
func TestCISKubernetesKubeProxyMetrics(t *testing.T) {
	cat := testhost.Builtin(t)
	items := cisK8sNodeItems(t, cat, "4.3.1")
	const ctr = "/var/lib/containers/kube-proxy/rootfs"
	for _, c := range []struct {
		name string
		args []string
		// inContainer runs kube-proxy in a container whose file says
		// loopback, while the node's file at the same path says all
		// interfaces.
		inContainer bool
		remove      bool
		result      checks.CheckResult
		reason      string
	}{
		{"config file on loopback", []string{"--config=/var/lib/kube-proxy/config.conf"}, false, false, checks.ResultPassed, ""},
		{"config file in its container", []string{"--config=/var/lib/kube-proxy/config.conf"}, true, false, checks.ResultPassed, ""},
		{"config file not visible to it", []string{"--config=/var/lib/kube-proxy/config.conf"}, false, true, checks.ResultNotApplicable, "is not visible to it"},
		{"flag on all interfaces", []string{"--metrics-bind-address=0.0.0.0:10249"}, false, false, checks.ResultFailed, ""},
		{"flag on IPv6 loopback", []string{"--metrics-bind-address=[::1]:10249"}, false, false, checks.ResultPassed, ""},
		{"default", nil, false, false, checks.ResultPassed, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := testhost.Tree(t, "k8s-good")
			argv := append([]string{"/usr/local/bin/kube-proxy"}, c.args...)
			if c.inContainer {
				data, err := os.ReadFile(filepath.Join(root, "var/lib/kube-proxy/config.conf"))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, root, ctr+"/var/lib/kube-proxy/config.conf", string(data))
				writeFile(t, root, "/var/lib/kube-proxy/config.conf", "metricsBindAddress: 0.0.0.0:10249\n")
				writeProcIn(t, root, 1301, ctr, argv...)
			} else {
				writeProc(t, root, 1301, argv...)
			}
			if c.remove {
				if err := os.Remove(filepath.Join(root, "var/lib/kube-proxy/config.conf")); err != nil {
					t.Fatal(err)
				}
			}
			_, got := scanK8sNode(t, cat, root, items)
			v := got["4.3.1"]
			if v.Status != checks.CheckFinished || v.Result != c.result || !strings.Contains(v.Reason, c.reason) {
				t.Errorf("4.3.1: got %s/%s %q, want %s %q; evidence %+v", v.Status, v.Result, v.Reason, c.result, c.reason, v.Evidence)
			}
			if c.inContainer && !strings.Contains(evidenceSources(v), "(as pid 1301 sees it)") {
				t.Errorf("4.3.1: evidence from %q, want kube-proxy's own file", evidenceSources(v))
			}
		})
	}
}
