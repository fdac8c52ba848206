package kubebench

// The comparison with kube-bench's own engine: a real kube-apiserver and
// etcd (internal/kubetest), stand-ins for kube-scheduler,
// kube-controller-manager and the kubelet, kube-bench's cfg/cis-1.12 run
// through kube-bench's check package (after the variable substitution its
// cmd package does, re-implemented here after it), and the same directory
// loaded by this package and judged by scan.Run. Verdicts must be the same
// check by check, except the differences listed in benchmarks/KUBE-BENCH.md,
// which are asserted exactly.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aquasecurity/kube-bench/check"
	kbcmd "github.com/aquasecurity/kube-bench/cmd"
	"github.com/spf13/viper"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/kubetest"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/scan"
)

// standIn, set in the environment, makes the test binary a stand-in for a
// Kubernetes component: it waits, with its arguments in the process
// table, until it is stopped.
const standIn = "BASELINE_KUBEBENCH_STAND_IN"

// inPIDNamespace, set in the environment, says that the test runs in a
// PID namespace of its own, where the process table holds only its
// processes.
const inPIDNamespace = "BASELINE_KUBEBENCH_PIDNS"

// isolate runs the test again in a PID namespace of its own (with its own
// /proc), so that the audits' `ps` sees only this test's components, not
// those of tests running beside it. It returns false when the namespace
// cannot be made (no privilege): the test then runs here and waits for
// the host to hold no other component.
func isolate(t *testing.T) bool {
	t.Helper()
	if os.Getenv(inPIDNamespace) != "" {
		return false
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return false
	}
	if err := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true").Run(); err != nil {
		t.Logf("no PID namespace (%v): running beside the host's processes", err)
		return false
	}
	args := []string{"--pid", "--fork", "--mount-proc", "--kill-child", os.Args[0],
		"-test.run", "^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count", "1", "-test.v"}
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), inPIDNamespace+"=1")
	out, err := cmd.CombinedOutput()
	text := string(out)
	if testing.Verbose() || err != nil {
		t.Log("in a PID namespace of its own:\n" + text)
	}
	switch {
	case err != nil:
		t.Fatalf("the test in its PID namespace: %v", err)
	case strings.Contains(text, "--- SKIP: "+t.Name()):
		t.Skip("skipped in its PID namespace")
	case !strings.Contains(text, "--- PASS: "+t.Name()):
		t.Fatal("the test in its PID namespace did not pass")
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "checks compared") {
			t.Log(strings.TrimSpace(l))
		}
	}
	return true
}

func TestMain(m *testing.M) {
	if os.Getenv(standIn) != "" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		os.Exit(0)
	}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// kubeBenchDir is kube-bench's module directory (a test dependency at
// exactly the version in go.mod).
func kubeBenchDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aquasecurity/kube-bench").Output()
	if err != nil {
		t.Fatalf("go list kube-bench: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("go list kube-bench: no module directory")
	}
	return dir
}

// Verdict categories shared by both engines (benchmarks/KUBE-BENCH.md,
// "Verdicts").
const (
	vPass   = "pass"   // kube-bench PASS; RESULT_PASSED
	vFail   = "fail"   // kube-bench FAIL, or (strict mapping) WARN for an unscored check whose tests failed; RESULT_FAILED
	vReview = "review" // kube-bench WARN for an unscored check whose tests failed; RESULT_MANUAL for review, the failing tests as evidence
	vManual = "manual" // kube-bench WARN for a manual check or one without tests; RESULT_MANUAL
	vSkip   = "skip"   // kube-bench INFO (type skip); RESULT_NOT_APPLICABLE
	vError  = "error"  // kube-bench FAIL or WARN with the reason that an audit failed; CHECK_FAILED
)

// mappings are the two ways of reporting kube-bench's WARN for an
// unscored check whose tests failed: for review (the default) or as a
// failure (strict).
var mappings = []struct {
	name   string
	strict bool
}{{"review", false}, {"strict", true}}

// kubeBenchVerdict reads kube-bench's state and reason, after the mapping.
func kubeBenchVerdict(c *check.Check, strict bool) string {
	switch {
	case c.State == check.INFO:
		return vSkip
	case c.Reason == "Test marked as a manual test", c.Reason == "There are no tests":
		return vManual
	case c.Reason == "No tests defined":
		if c.Scored {
			return vFail
		}
		return vManual
	case c.Reason != "":
		return vError
	case c.State == check.PASS:
		return vPass
	case c.State == check.WARN && !c.Scored && !strict:
		return vReview
	}
	return vFail
}

func ourVerdict(v checks.Verdict) string {
	switch {
	case v.Status == checks.CheckFailed:
		return vError
	case v.Result == checks.ResultPassed:
		return vPass
	case v.Result == checks.ResultFailed:
		return vFail
	case v.Result == checks.ResultManual && v.Reason == checks.ReviewReason:
		return vReview
	case v.Result == checks.ResultManual:
		return vManual
	case v.Result == checks.ResultNotApplicable:
		return vSkip
	}
	return "unknown " + string(v.Status) + " " + string(v.Result)
}

// kubeBenchRun is one check as kube-bench ran it.
type kubeBenchRun struct {
	target string
	check  *check.Check
}

// runKubeBench runs targets of a benchmark version as kube-bench's run
// command does: the configuration read with viper (the version's
// config.yaml merged in), each file's variables substituted, then its
// controls run by kube-bench's runner with its filter (scored and
// unscored checks). kube-bench has no kubeconfig option: its audits'
// kubectl reads KUBECONFIG, set to kubeconfig for the run.
func runKubeBench(t *testing.T, cfgDir, version string, targets []string, kubeconfig string) []kubeBenchRun {
	t.Helper()
	if err := os.Setenv("KUBECONFIG", kubeconfig); err != nil {
		t.Fatal(err)
	}
	defer os.Unsetenv("KUBECONFIG")
	v := viper.New()
	v.SetConfigFile(filepath.Join(cfgDir, "config.yaml"))
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfgDir, version, "config.yaml")); err == nil {
		v.SetConfigFile(filepath.Join(cfgDir, version, "config.yaml"))
		if err := v.MergeInConfig(); err != nil {
			t.Fatal(err)
		}
	}
	filter, err := kbcmd.NewRunFilter(kbcmd.FilterOpts{Scored: true, Unscored: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []kubeBenchRun
	for _, target := range targets {
		in, err := os.ReadFile(filepath.Join(cfgDir, version, target+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		typeConf := v.Sub(target)
		if typeConf == nil {
			t.Fatalf("no %s section", target)
		}
		binmap := kbBinaries(typeConf)
		s := string(in)
		s, binSubs := kbSubstitute(s, "bin", binmap)
		for _, ft := range [][2]string{{"confs", "defaultconf"}, {"svc", "defaultsvc"}, {"kubeconfig", "defaultkubeconfig"}, {"cafile", "defaultcafile"}, {"datadirs", "defaultdatadir"}} {
			ext := map[string]string{"confs": "conf", "svc": "svc", "kubeconfig": "kubeconfig", "cafile": "cafile", "datadirs": "datadir"}[ft[0]]
			s, _ = kbSubstitute(s, ext, kbFiles(t, typeConf, ft[0], ft[1]))
		}
		controls, err := check.NewControls(check.NodeType(target), []byte(s), "")
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		// The environment audit kube-bench generates for env tests.
		for _, g := range controls.Groups {
			for _, c := range g.Checks {
				if c.Tests == nil || c.DisableEnvTesting {
					continue
				}
				for _, ti := range c.Tests.TestItems {
					if ti.Env != "" && c.AuditEnv == "" {
						bin := ""
						if len(binSubs) == 1 {
							bin = binSubs[0]
						}
						c.AuditEnv = fmt.Sprintf("cat \"/proc/$(/bin/ps -C %s -o pid= | tr -d ' ')/environ\" | tr '\\0' '\\n'", bin)
					}
				}
			}
		}
		controls.RunChecks(check.NewRunner(), filter, map[string]bool{})
		for _, g := range controls.Groups {
			for _, c := range g.Checks {
				out = append(out, kubeBenchRun{target: target, check: c})
			}
		}
	}
	return out
}

// kbBinaries is kube-bench's getBinaries: the first running binary of each
// component (else the component's name when optional); nothing at all
// when a mandatory component runs none.
func kbBinaries(v *viper.Viper) map[string]string {
	binmap := map[string]string{}
	for _, component := range v.GetStringSlice("components") {
		s := v.Sub(component)
		if s == nil {
			continue
		}
		bins := s.GetStringSlice("bins")
		if len(bins) == 0 {
			continue
		}
		bin := ""
		for _, b := range bins {
			if kbVerifyBin(b) {
				bin = b
				break
			}
		}
		if bin == "" && !s.GetBool("optional") {
			return nil
		}
		if bin == "" {
			bin = component
		}
		binmap[component] = bin
	}
	return binmap
}

// kbVerifyBin is kube-bench's verifyBin: `ps -C` with the first word, and
// the whole name at the start of one of the command lines.
func kbVerifyBin(bin string) bool {
	bin = strings.Trim(bin, "'\"")
	proc := strings.Fields(bin)[0]
	out, _ := exec.Command("/bin/ps", "-C", proc, "-o", "cmd", "--no-headers").Output()
	re := regexp.MustCompile(`^(\S*\/)*` + bin)
	for _, l := range strings.Split(string(out), "\n") {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// kbFiles is kube-bench's getFiles: the first existing candidate, else
// the default, else the component's name.
func kbFiles(t *testing.T, v *viper.Viper, list, def string) map[string]string {
	m := map[string]string{}
	for _, component := range v.GetStringSlice("components") {
		s := v.Sub(component)
		if s == nil {
			continue
		}
		file := ""
		for _, c := range s.GetStringSlice(list) {
			if _, err := os.Stat(c); err == nil {
				file = c
				break
			} else if !os.IsNotExist(err) && !strings.HasSuffix(err.Error(), "not a directory") {
				t.Fatalf("looking for %s: %v", c, err)
			}
		}
		if file == "" {
			file = component
			if s.IsSet(def) {
				file = s.GetString(def)
			}
		}
		m[component] = file
	}
	return m
}

// kbSubstitute is kube-bench's makeSubstitutions.
func kbSubstitute(s, ext string, m map[string]string) (string, []string) {
	var subs []string
	for k, v := range m {
		if v == "" {
			continue
		}
		sub := v
		if len(strings.Fields(v)) > 1 {
			sub = "'" + v + "'"
		}
		before := s
		s = strings.ReplaceAll(s, "$"+k+ext, sub)
		if before != s {
			subs = append(subs, v)
		}
	}
	return s, subs
}

// standIns starts stand-ins for components, each under its own name in
// bin (so that the process table shows it as the component), and stops
// them when the test ends.
func startStandIn(t *testing.T, bin, name string, args ...string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(bin, name)
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, args...)
	cmd.Env = append(os.Environ(), standIn+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

// componentNames are the command names of Kubernetes components (as the
// process table truncates them) that the benchmark's audits look for.
var componentNames = map[string]bool{"kube-apiserver": true, "kube-apiserver-": true, "etcd": true, "kube-scheduler": true,
	"kube-controller": true, "kubelet": true, "kube-proxy": true, "hyperkube": true}

// foreignComponents lists the component processes that are not this
// test's (their command lines do not mention its directory): another
// test's API server would show in every `ps | grep` audit.
func foreignComponents(t *testing.T, mine string) []string {
	t.Helper()
	procs, err := LocalHost{}.Processes()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range procs {
		name := filepath.Base(p.Args[0])
		if len(name) > commLen {
			name = name[:commLen]
		}
		if !componentNames[p.Comm] && !componentNames[name] {
			continue
		}
		if cl := strings.Join(p.Args, " "); !strings.Contains(cl, mine) {
			out = append(out, fmt.Sprintf("%d %s", p.PID, cl))
		}
	}
	return out
}

// waitAlone waits until this test's components are the only ones.
func waitAlone(t *testing.T, mine string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		f := foreignComponents(t, mine)
		if len(f) == 0 {
			return
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("other Kubernetes components run on this host for %s; the audits would see them:\n%s", limit, strings.Join(f, "\n"))
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		time.Sleep(2 * time.Second)
	}
}

// difference is a documented difference: what kube-bench reports, what
// we report (see benchmarks/KUBE-BENCH.md), under the default mapping;
// under the strict one a review is a failure.
type difference struct{ kubeBench, ours, why string }

// under returns the difference's verdicts under a mapping.
func (d difference) under(strict bool) (kubeBench, ours string) {
	if !strict {
		return d.kubeBench, d.ours
	}
	fail := func(v string) string {
		if v == vReview {
			return vFail
		}
		return v
	}
	return fail(d.kubeBench), fail(d.ours)
}

// row is one check's verdicts by both engines.
type row struct {
	target, id, kubeBench, ours, reason string
	itemID                              uint64
}

// twoContexts writes a kubeconfig whose current context names a cluster
// that refuses connections and whose context "chosen" is the test API
// server's: only a scan that gives its audits the chosen context reaches
// the server.
func twoContexts(t *testing.T, srv *kubetest.Server, dir string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(srv.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	chosen := *cfg.Contexts[cfg.CurrentContext]
	other := chosen
	other.Cluster = "elsewhere"
	cfg.Clusters["elsewhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	cfg.Contexts["chosen"], cfg.Contexts["elsewhere"] = &chosen, &other
	cfg.CurrentContext = "elsewhere"
	p := filepath.Join(dir, "two-contexts.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompatibility runs kube-bench's cfg/cis-1.12 (master, controlplane,
// etcd, node, policies) and the constructed cases of testdata/cases
// through both engines on one set of processes, under both mappings of
// an unscored check whose tests fail. The policies' kubectl audits reach
// the test API server: kube-bench's through KUBECONFIG, ours through the
// scan's kubeconfig and context alone (no KUBECONFIG, no ~/.kube/config).
func TestCompatibility(t *testing.T) {
	apiserverBin := kubetest.Require(t)
	kubetest.RequireKubectl(t)
	if isolate(t) {
		return
	}
	kb := kubeBenchDir(t)
	baseline := testbin.Path(t)

	dir := t.TempDir()
	bin, files, kdir := filepath.Join(dir, "bin"), filepath.Join(dir, "files"), filepath.Join(dir, "kube")
	for _, d := range []string{bin, files, kdir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, text string) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	encryption := write("encryption.yaml", `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
      - identity: {}
`)
	// The kubelet's client CA, under a name of its own: 4.1.7 drops the
	// process lines that mention "apiserver".
	kubeletCA := write("kubelet-ca.crt", "")
	policy := write("audit-policy.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n")

	// etcd (started by kubetest with this environment) carries a marker
	// in its environment for the cases' env test.
	t.Setenv("BASELINE_KUBEBENCH_MARKER", "yes")
	// The API server, under its component's name so that kube-bench's
	// `ps -C kube-apiserver` finds it.
	if err := os.Symlink(apiserverBin, filepath.Join(bin, "kube-apiserver")); err != nil {
		t.Fatal(err)
	}
	pki := func(name string) string { return filepath.Join(kdir, name) }
	srv, err := kubetest.Start(filepath.Join(bin, "kube-apiserver"), kdir, map[string]string{
		"--audit-log-path":                              filepath.Join(files, "audit.log"),
		"--audit-log-maxage":                            "30",
		"--audit-log-maxbackup":                         "10",
		"--audit-log-maxsize":                           "100",
		"--audit-policy-file":                           policy,
		"--encryption-provider-config":                  encryption,
		"--encryption-provider-config-automatic-reload": "true",
		"--kubelet-client-certificate":                  pki("apiserver.crt"),
		"--kubelet-client-key":                          pki("apiserver.key"),
		"--kubelet-certificate-authority":               pki("ca.crt"),
		"--request-timeout":                             "300s",
		"--service-account-lookup":                      "true",
		"--service-account-extend-token-expiration":     "false",
		"--tls-cipher-suites":                           "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	// A binding of cluster-admin under another name, which 5.1.1 is
	// about.
	_, err = srv.Client().RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ops-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "alice"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Pods for the policies' pod checks (no kubelet runs them): one that
	// keeps to the recommendations, one privileged on the host's network.
	if err := srv.Namespace("shop"); err != nil {
		t.Fatal(err)
	}
	no, yes := false, true
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.PodSpec{AutomountServiceAccountToken: &no,
			Containers: []corev1.Container{{Name: "web", Image: "busybox", SecurityContext: &corev1.SecurityContext{Privileged: &no, AllowPrivilegeEscalation: &no}}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "debug"}, Spec: corev1.PodSpec{HostNetwork: true,
			Containers: []corev1.Container{{Name: "debug", Image: "busybox", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}},
	} {
		if _, err := srv.Client().CoreV1().Pods("shop").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The scan names the cluster by its kubeconfig and context only, as
	// on a node where nothing else does: no KUBECONFIG, no ~/.kube/config
	// (kube-bench's run sets KUBECONFIG for itself).
	kubeconfig := twoContexts(t, srv, dir)
	kubeOpts := kube.Options{Kubeconfig: kubeconfig, Context: "chosen"}
	t.Setenv("KUBECONFIG", "")
	os.Unsetenv("KUBECONFIG")
	t.Setenv("HOME", t.TempDir())

	// Stand-ins for the other components: their flags are what the
	// audits read. The controller manager gives --bind-address its value
	// after a space, as a person may; the kubelet turns
	// RotateKubeletServerCertificate off, and has --config-dir but no
	// --config.
	startStandIn(t, bin, "kube-scheduler", "--profiling=false", "--bind-address=127.0.0.1", "--kubeconfig="+srv.Kubeconfig)
	startStandIn(t, bin, "kube-controller-manager", "--profiling=false", "--use-service-account-credentials=true",
		"--service-account-private-key-file="+pki("sa.key"), "--root-ca-file="+pki("ca.crt"), "--terminated-pod-gc-threshold=10",
		"--feature-gates=RotateKubeletServerCertificate=true", "--bind-address", "127.0.0.1", "--kubeconfig="+srv.Kubeconfig)
	startStandIn(t, bin, "kubelet", "--anonymous-auth=false", "--authorization-mode=Webhook", "--client-ca-file="+kubeletCA,
		"--read-only-port=0", "--streaming-connection-idle-timeout=4h0m0s", "--make-iptables-util-chains=true", "--event-qps=5",
		"--tls-cert-file="+filepath.Join(files, "kubelet.crt"), "--tls-private-key-file="+filepath.Join(files, "kubelet.key"), "--rotate-certificates=true",
		"--feature-gates=RotateKubeletServerCertificate=false", "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"--pod-max-pids=1024", "--seccomp-default=true", "--config-dir="+filepath.Join(files, "kubelet.conf.d"), "--kubeconfig="+srv.Kubeconfig)

	runs := []struct {
		name, cfgDir, version string
		targets               []string
		diffs                 map[string]difference
	}{
		{"cis-1.12", filepath.Join(kb, "cfg"), "cis-1.12", []string{"master", "controlplane", "etcd", "node", "policies"}, cis112Differences},
		{"cases", filepath.Join("testdata", "cases"), "cases-1.0", []string{"master", "controlplane", "etcd"}, caseDifferences},
	}
	// cis112 keeps scan.Run's verdicts of cis-1.12 by mapping, for the
	// command line below.
	cis112 := map[bool]map[uint64]string{}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			var rows map[bool][]row
			for attempt := 1; ; attempt++ {
				waitAlone(t, dir, 5*time.Minute)
				rows = compareOnce(t, run.cfgDir, run.version, run.targets, srv.Kubeconfig, kubeOpts)
				if len(foreignComponents(t, dir)) == 0 {
					break
				}
				if attempt == 3 {
					t.Fatal("other Kubernetes components kept starting during the comparison")
				}
			}
			for _, m := range mappings {
				same, documented := assertDifferences(t, m.name, rows[m.strict], run.diffs, m.strict)
				reviews := 0
				for _, r := range rows[m.strict] {
					if r.ours == vReview {
						reviews++
					}
				}
				t.Logf("%s, %s mapping: %d checks compared, %d identical verdicts, %d documented differences, %d reviews", run.version, m.name, len(rows[m.strict]), same, documented, reviews)
				if run.name == "cis-1.12" {
					cis112[m.strict] = map[uint64]string{}
					for _, r := range rows[m.strict] {
						cis112[m.strict][r.itemID] = r.ours
					}
				}
			}
		})
	}

	// The command line: scan --kube-bench-cfg judges the directory's
	// standard alone, with the verdicts of scan.Run; the cluster and the
	// mapping come from flags or from the configuration file.
	t.Run("cli", func(t *testing.T) {
		scanJSON := func(t *testing.T, args ...string) (report.Document, time.Duration) {
			t.Helper()
			args = append([]string{"--data-dir", t.TempDir(), "scan", "--no-store", "--no-docker", "--format", "json", "--progress", "never"}, args...)
			start := time.Now()
			out, err := exec.Command(baseline, args...).Output()
			took := time.Since(start)
			if err != nil {
				t.Fatalf("baseline %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			var doc report.Document
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			return doc, took
		}
		same := func(t *testing.T, doc report.Document, stdID string, want map[uint64]string) {
			t.Helper()
			if len(doc.Standards) != 1 || doc.Standards[0].ID != stdID {
				t.Fatalf("standards %+v, want %s alone", doc.Standards, stdID)
			}
			if len(doc.Results) != len(want) {
				t.Fatalf("%d results from the command, %d from scan.Run", len(doc.Results), len(want))
			}
			for _, r := range doc.Results {
				if got := ourVerdict(r.Verdict); got != want[r.ItemID] {
					t.Errorf("item %d: the command reports %s, scan.Run %s (%s)", r.ItemID, got, want[r.ItemID], r.Reason)
				}
				if strings.Contains(r.Reason, "stopped (limit") {
					t.Errorf("item %d: an audit waited for its time limit: %s", r.ItemID, r.Reason)
				}
			}
		}

		cfg := filepath.Join("testdata", "cases")
		std, err := Load(Options{Dir: cfg, Version: "cases-1.0"})
		if err != nil {
			t.Fatal(err)
		}
		cat := &checks.Catalog{}
		if err := cat.Add(std); err != nil {
			t.Fatal(err)
		}
		rep, err := scan.Run(context.Background(), cat, scan.Options{NoDocker: true, NoKube: true, HostRoot: "/", Standards: []string{std.ID}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[uint64]string{}
		for _, r := range rep.Results {
			want[r.ItemID] = ourVerdict(r.Verdict)
		}
		if len(want) != len(std.Items) {
			t.Fatalf("%d results from scan.Run, %d items", len(want), len(std.Items))
		}
		doc, _ := scanJSON(t, "--kube-bench-cfg", cfg, "--kube-bench-version", "1.37", "--no-kube")
		same(t, doc, "kube-bench-cases-1.0", want)

		// kube-bench's cis-1.12 with the policies' kubectl: the cluster by
		// --kubeconfig and --kube-context (the default mapping), then by
		// the configuration file with kube_bench.strict.
		if len(cis112) != 2 {
			t.Fatal("no verdicts of cis-1.12 to compare with")
		}
		doc, took := scanJSON(t, "--kube-bench-cfg", filepath.Join(kb, "cfg"), "--kube-bench-version", "cis-1.12", "--kubeconfig", kubeconfig, "--kube-context", "chosen")
		same(t, doc, "kube-bench-cis-1.12", cis112[false])
		t.Logf("scan --kube-bench-cfg cis-1.12 --kubeconfig --kube-context, no KUBECONFIG: %s", took.Round(10*time.Millisecond))
		conf := filepath.Join(t.TempDir(), "config.yaml")
		text := fmt.Sprintf("kubernetes:\n  kubeconfig: %q\n  context: chosen\nkube_bench:\n  strict: true\n", kubeconfig)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		doc, took = scanJSON(t, "--config", conf, "--kube-bench-cfg", filepath.Join(kb, "cfg"), "--kube-bench-version", "cis-1.12")
		same(t, doc, "kube-bench-cis-1.12", cis112[true])
		t.Logf("the same from the configuration file, strict: %s", took.Round(10*time.Millisecond))
	})
}

// assertDifferences checks that the verdicts are the same except the
// documented differences, each exactly as documented.
func assertDifferences(t *testing.T, mapping string, rows []row, diffs map[string]difference, strict bool) (same, documented int) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		key := r.target + " " + r.id
		d, listed := diffs[key]
		kb, ours := d.under(strict)
		switch {
		case r.kubeBench == r.ours && !listed:
			same++
		case r.kubeBench == r.ours:
			t.Errorf("%s mapping, %s: both report %s, but a difference is documented (%s): update benchmarks/KUBE-BENCH.md and the list", mapping, key, r.ours, d.why)
		case !listed:
			t.Errorf("%s mapping, %s: kube-bench %s, we %s (%s): an undocumented difference", mapping, key, r.kubeBench, r.ours, r.reason)
		case kb != r.kubeBench || ours != r.ours:
			t.Errorf("%s mapping, %s: kube-bench %s, we %s; documented: kube-bench %s, we %s (%s)", mapping, key, r.kubeBench, r.ours, kb, ours, d.why)
		default:
			documented++
		}
		if strings.Contains(r.reason, "stopped (limit") {
			t.Errorf("%s mapping, %s: an audit waited for its time limit (%s)", mapping, key, r.reason)
		}
		seen[key] = true
	}
	for key := range diffs {
		if !seen[key] {
			t.Errorf("%s: documented difference for a check that did not run", key)
		}
	}
	return same, documented
}

// compareOnce runs kube-bench once (its kubectl given kubeconfig through
// KUBECONFIG) and ours under each mapping (the cluster given by
// kubeOpts), and pairs their verdicts, by mapping.
func compareOnce(t *testing.T, cfgDir, version string, targets []string, kubeconfig string, kubeOpts kube.Options) map[bool][]row {
	t.Helper()
	start := time.Now()
	runs := runKubeBench(t, cfgDir, version, targets, kubeconfig)
	t.Logf("kube-bench: %s", time.Since(start).Round(10*time.Millisecond))
	out := map[bool][]row{}
	for _, m := range mappings {
		std, err := Load(Options{Dir: cfgDir, Version: version, Targets: targets, Strict: m.strict})
		if err != nil {
			t.Fatal(err)
		}
		ours := map[uint64]*checks.Item{}
		for _, it := range std.Items {
			ours[it.ID] = it
		}
		cat := &checks.Catalog{}
		if err := cat.Add(std); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rep, err := scan.Run(context.Background(), cat, scan.Options{NoDocker: true, Kube: kubeOpts, HostRoot: "/", Standards: []string{std.ID}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ours, %s mapping: %s", m.name, time.Since(start).Round(10*time.Millisecond))
		var node *assets.Asset
		for i := range rep.Assets {
			if rep.Assets[i].Type == assets.K8s {
				node = &rep.Assets[i]
			}
		}
		if node == nil {
			t.Fatal("the scan found no Kubernetes node on this host")
		}
		verdicts := map[uint64]checks.Verdict{}
		for _, r := range rep.Results {
			if r.AssetID == node.ID {
				verdicts[r.ItemID] = r.Verdict
			}
		}

		var rows []row
		for _, run := range runs {
			c := run.check
			id := ItemID(std.ID, run.target, c.ID)
			it, ok := ours[id]
			if !ok {
				t.Errorf("%s %s: not loaded", run.target, c.ID)
				continue
			}
			// The same commands, with the same substitutions.
			if it.Source != nil && (it.Source.Shell != c.Audit || it.Source.ConfigShell != c.AuditConfig) {
				t.Errorf("%s %s: audit\n%q, %q\nkube-bench runs\n%q, %q", run.target, c.ID, it.Source.Shell, it.Source.ConfigShell, c.Audit, c.AuditConfig)
			}
			v, ok := verdicts[id]
			if !ok {
				t.Errorf("%s %s: no result", run.target, c.ID)
				continue
			}
			r := row{target: run.target, id: c.ID, kubeBench: kubeBenchVerdict(c, m.strict), ours: ourVerdict(v), itemID: id}
			r.reason = fmt.Sprintf("kube-bench %s %q actual %q; ours %s %q", c.State, clip(c.Reason), clip(c.ActualValue), v.Result, clip(v.Reason))
			for i, e := range v.Evidence {
				if i == 3 {
					r.reason += fmt.Sprintf(" [%d more]", len(v.Evidence)-i)
					break
				}
				r.reason += fmt.Sprintf(" [%s: %q vs %s]", e.Subject, clip(e.Actual), e.Expected)
			}
			if r.ours == vReview && (len(v.Evidence) == 0 || allPassed(v.Evidence)) {
				t.Errorf("%s %s: a review without the failing tests as evidence: %s", run.target, c.ID, r.reason)
			}
			rows = append(rows, r)
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].target < rows[j].target })
		if testing.Verbose() {
			for _, r := range rows {
				mark := " "
				if r.kubeBench != r.ours {
					mark = "≠"
				}
				t.Logf("%s %-6s %-12s %-7s kube-bench %-6s ours %-6s %s", mark, m.name, r.target, r.id, r.kubeBench, r.ours, r.reason)
			}
		}
		out[m.strict] = rows
	}
	return out
}

// allPassed reports whether every piece of evidence passed.
func allPassed(ev []checks.Evidence) bool {
	for _, e := range ev {
		if !e.Passed {
			return false
		}
	}
	return true
}

// clip shortens a text for the test's log.
func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// cis112Differences are the documented differences on this test's
// processes, by target and check (benchmarks/KUBE-BENCH.md says why).
var cis112Differences = map[string]difference{
	"master 1.3.7": {vFail, vPass, "kube-bench: --bind-address 127.0.0.1 (value after a space) read as true"},
}

// caseDifferences are those of the constructed cases (testdata/cases).
var caseDifferences = map[string]difference{
	"master 1.1.1":       {vPass, vFail, "kube-bench: --config found inside --config-dir"},
	"master 1.2.1":       {vFail, vPass, "kube-bench: a path without audit_config is never read"},
	"master 1.3.7":       {vFail, vPass, "kube-bench: 2.5 is not a whole number, so gte fails"},
	"master 1.3.8":       {vFail, vError, "a value that is no number: kube-bench fails the test, we could not judge it"},
	"master 1.3.9":       {vFail, vError, "a value that is no mode: kube-bench fails the test, we could not judge it"},
	"controlplane 3.1.1": {vError, vSkip, "the target's component does not run: kube-bench runs the audit without its binary, we do not run it"},
}
