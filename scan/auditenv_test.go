package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/kubetest"
	"github.com/baselinehq/baseline/internal/testhost"
)

// twoClusters writes a kubeconfig whose current context is a cluster that
// refuses connections, and whose context "chosen" is the given server's.
func twoClusters(t *testing.T, dir string, s *kubetest.Server) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	chosen := *cfg.Contexts[cfg.CurrentContext]
	cfg.Contexts["chosen"] = &chosen
	cfg.Clusters["other"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	other := chosen
	other.Cluster = "other"
	cfg.Contexts["other"] = &other
	cfg.CurrentContext = "other"
	p := filepath.Join(dir, "two.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// noUserKubeconfig leaves the test without KUBECONFIG and without
// ~/.kube/config, as on a node where only --kubeconfig names the cluster.
func noUserKubeconfig(t *testing.T) {
	t.Helper()
	t.Setenv("KUBECONFIG", "")
	os.Unsetenv("KUBECONFIG")
	t.Setenv("HOME", t.TempDir())
}

// The audits' environment: the scan's kubeconfig as an absolute path
// (over KUBECONFIG), a chosen context in a private file listed first, and
// a file that stops kubectl when the scan reaches no cluster; the files
// are the scan's own and are removed with it. The values reach the audit
// through its environment, never through its text.
func TestAuditEnvironment(t *testing.T) {
	dir := t.TempDir()
	// A name that a shell would run if it were pasted into a script.
	kc := filepath.Join(dir, "k$(touch pwned)`touch pwned2`.kubeconfig")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("KUBECONFIG", "/elsewhere/config")
	rel := filepath.Base(kc)

	kubeconfigOf := func(t *testing.T, a *auditEnv) string {
		t.Helper()
		env, err := a.environ()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		val := ""
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "KUBECONFIG="); ok {
				n++
				val = v
			}
		}
		if n != 1 {
			t.Fatalf("%d KUBECONFIG entries in the audits' environment", n)
		}
		return val
	}

	t.Run("kubeconfig", func(t *testing.T) {
		a := newAuditEnv(Options{Kube: kube.Options{Kubeconfig: rel}})
		defer a.close()
		if got := kubeconfigOf(t, a); got != kc {
			t.Fatalf("KUBECONFIG=%q, want the scan's kubeconfig as an absolute path %q", got, kc)
		}
		env, _ := a.environ()
		out, err := runShell(context.Background(), `printf '%s' "$KUBECONFIG"`, env)
		if err != nil || out != kc {
			t.Fatalf("the audit sees %q (%v), want %q", out, err, kc)
		}
		for _, f := range []string{"pwned", "pwned2"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Fatalf("the kubeconfig's name was run by the shell (%s exists)", f)
			}
		}
	})

	t.Run("context", func(t *testing.T) {
		a := newAuditEnv(Options{Kube: kube.Options{Kubeconfig: kc, Context: "prod; rm -rf /"}})
		list := filepath.SplitList(kubeconfigOf(t, a))
		if len(list) != 2 || list[1] != kc {
			a.close()
			t.Fatalf("KUBECONFIG=%v, want a context file then %s", list, kc)
		}
		fi, err := os.Stat(list[0])
		if err != nil || fi.Mode().Perm() != 0o600 {
			a.close()
			t.Fatalf("context file: %v, mode %v; want 0600", err, fi.Mode())
		}
		cfg, err := clientcmd.LoadFromFile(list[0])
		if err != nil || cfg.CurrentContext != "prod; rm -rf /" || len(cfg.Clusters)+len(cfg.AuthInfos)+len(cfg.Contexts) != 0 {
			a.close()
			t.Fatalf("context file holds %+v (%v), want the current context alone", cfg, err)
		}
		a.close()
		if _, err := os.Stat(list[0]); !os.IsNotExist(err) {
			t.Fatalf("context file after the scan: %v, want it removed", err)
		}
	})

	noCluster := func(t *testing.T, opts Options, reason string) {
		t.Helper()
		a := newAuditEnv(opts)
		f := kubeconfigOf(t, a)
		cfg, err := clientcmd.LoadFromFile(f)
		a.close()
		if err != nil || !strings.Contains(cfg.CurrentContext, reason) || len(cfg.Contexts) != 0 {
			t.Fatalf("no-cluster file %+v (%v), want a current context naming %q and no context", cfg, err, reason)
		}
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("no-cluster file after the scan: %v, want it removed", err)
		}
	}
	t.Run("no-kube", func(t *testing.T) {
		noCluster(t, Options{NoKube: true, Kube: kube.Options{Kubeconfig: kc}}, "--no-kube")
	})
	t.Run("none configured", func(t *testing.T) {
		noUserKubeconfig(t)
		noCluster(t, Options{}, "none is configured")
	})
	t.Run("missing kubeconfig", func(t *testing.T) {
		noCluster(t, Options{Kube: kube.Options{Kubeconfig: filepath.Join(dir, "absent")}}, "absent")
	})
	t.Run("KUBECONFIG", func(t *testing.T) {
		// Without --kubeconfig, the existing files of KUBECONFIG, made
		// absolute.
		t.Setenv("KUBECONFIG", "/elsewhere/config"+string(os.PathListSeparator)+rel)
		a := newAuditEnv(Options{})
		defer a.close()
		if got := kubeconfigOf(t, a); got != kc {
			t.Fatalf("KUBECONFIG=%q, want %q", got, kc)
		}
	})
}

const kubectlStandard = `standard: {id: kc, name: kubectl audits, version: "1", asset_types: [host]}
category: kubectl
asset_type: host
items:
  - {id: 9300001, number: "1", title: the chosen cluster answers, risk: low, assessment: automated,
     audit: "kubectl get namespace kube-system -o name",
     tests: {test_items: [{compare: {op: has, value: namespace/kube-system}}]}}
`

// kubectl in an audit talks to the scan's cluster: the kubeconfig and
// context of the scan's options, with no KUBECONFIG and no ~/.kube/config
// in the environment (and a current context that names another cluster);
// without a cluster it stops at once, saying why.
func TestKubectlAuditsReachTheScansCluster(t *testing.T) {
	kubetest.RequireKubectl(t)
	s := kubetest.StartT(t, nil)
	kc := twoClusters(t, t.TempDir(), s)
	noUserKubeconfig(t)
	cat, err := checks.Load(checks.Tree{FS: fstest.MapFS{"kc/standard.yaml": {Data: []byte(kubectlStandard)}}, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(opts Options) (checks.Verdict, time.Duration) {
		t.Helper()
		opts.HostRoot, opts.NoDocker, opts.Types = t.TempDir(), true, []assets.Type{assets.Host}
		start := time.Now()
		rep, err := Run(context.Background(), cat, opts)
		if err != nil {
			t.Fatal(err)
		}
		return testhost.Result(t, rep, 9300001, rep.Host.ID), time.Since(start)
	}
	if v, d := run(Options{Kube: kube.Options{Kubeconfig: kc, Context: "chosen"}}); v.Result != checks.ResultPassed {
		t.Fatalf("--kubeconfig with --kube-context chosen: %+v after %s, want passed", v, d)
	}
	for _, c := range []struct {
		name   string
		opts   Options
		reason string
	}{
		{"--no-kube", Options{NoKube: true, Kube: kube.Options{Kubeconfig: kc, Context: "chosen"}}, "the scan runs with --no-kube"},
		{"no cluster configured", Options{}, "none is configured"},
	} {
		v, d := run(c.opts)
		if v.Status != checks.CheckFailed || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("%s: %+v, want a failed check naming %q", c.name, v, c.reason)
		}
		if d > 5*time.Second {
			t.Errorf("%s: the scan took %s, want kubectl to stop at once", c.name, d)
		}
		t.Logf("%s: %s in %s", c.name, v.Reason, d.Round(time.Millisecond))
	}
	// The kubeconfig's own current context (another cluster, which
	// refuses connections) is what kubectl uses without --kube-context.
	if v, _ := run(Options{Kube: kube.Options{Kubeconfig: kc}}); v.Status != checks.CheckFailed || !strings.Contains(v.Reason, "127.0.0.1:1") {
		t.Errorf("without --kube-context: %+v, want kubectl to reach the current context's cluster", v)
	}
}
