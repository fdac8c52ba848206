package scan

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/baselinehq/baseline/assets/kube"
)

// auditEnv is the environment of a scan's shell audits: this process's,
// with KUBECONFIG set so that kubectl in an audit talks to the cluster the
// scan uses (kube-bench's policies are kubectl commands). It is built on
// the first shell audit and its files are removed when the scan ends.
//
//   - The scan's kubeconfig files (--kubeconfig, else KUBECONFIG, else
//     ~/.kube/config) are given as absolute paths.
//   - A chosen context (--kube-context) is given by a private file (0600)
//     that holds only `current-context`, listed first in KUBECONFIG:
//     kubectl takes the current context from the first file that sets
//     one and everything else from the scan's files, so no credential is
//     copied and relative paths keep their meaning.
//   - When the scan reaches no cluster (--no-kube, or none is configured),
//     KUBECONFIG names a private file whose current context does not
//     exist and is named after the reason: kubectl stops at once with
//     "context was not found for specified context: no cluster ...",
//     instead of trying localhost:8080 or the pod's service account.
//   - In a pod without a kubeconfig, kubectl uses the pod's service
//     account, as the scan does: the environment is left as it is.
//
// The values are set on the command, never written into the script.
type auditEnv struct {
	kube   kube.Options
	noKube bool

	once  sync.Once
	env   []string
	temps []string
	err   error
}

func newAuditEnv(opts Options) *auditEnv {
	return &auditEnv{kube: opts.Kube, noKube: opts.NoKube}
}

// environ returns the audits' environment.
func (a *auditEnv) environ() ([]string, error) {
	a.once.Do(func() { a.env, a.err = a.build() })
	return a.env, a.err
}

func (a *auditEnv) build() ([]string, error) {
	base := withoutVar(os.Environ(), "KUBECONFIG")
	if a.noKube {
		return a.noCluster(base, "no cluster for the audits: the scan runs with --no-kube")
	}
	if !kube.Configured(a.kube) {
		return a.noCluster(base, "no cluster for the audits: none is configured (--kubeconfig, KUBECONFIG, ~/.kube/config)")
	}
	files, err := kube.KubeconfigFiles(a.kube)
	if err != nil {
		return a.noCluster(base, "no cluster for the audits: "+err.Error())
	}
	if len(files) == 0 {
		return os.Environ(), nil // the pod's service account
	}
	if a.kube.Context != "" {
		f, err := a.contextFile(a.kube.Context)
		if err != nil {
			return nil, err
		}
		files = append([]string{f}, files...)
	}
	return append(base, "KUBECONFIG="+strings.Join(files, string(os.PathListSeparator))), nil
}

// noCluster makes kubectl fail at once, naming the reason.
func (a *auditEnv) noCluster(base []string, reason string) ([]string, error) {
	f, err := a.contextFile(reason)
	if err != nil {
		return nil, err
	}
	return append(base, "KUBECONFIG="+f), nil
}

// contextFile writes a private kubeconfig that holds only a current
// context.
func (a *auditEnv) contextFile(context string) (string, error) {
	f, err := os.CreateTemp("", "baseline-audit-kubeconfig-*.yaml") // 0600
	if err != nil {
		return "", fmt.Errorf("the audits' kubeconfig: %w", err)
	}
	name := f.Name()
	f.Close()
	a.temps = append(a.temps, name)
	cfg := clientcmdapi.NewConfig()
	cfg.CurrentContext = context
	if err := clientcmd.WriteToFile(*cfg, name); err != nil {
		return "", fmt.Errorf("the audits' kubeconfig: %w", err)
	}
	return name, nil
}

// close removes the files the environment names.
func (a *auditEnv) close() {
	for _, f := range a.temps {
		_ = os.Remove(f)
	}
}

// withoutVar returns env without the variable name.
func withoutVar(env []string, name string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
