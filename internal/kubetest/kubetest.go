// Package kubetest starts a real Kubernetes API server for tests: Debian's
// etcd and a kube-apiserver built from the k8s.io/kubernetes module by
// scripts/kube-test-env.sh (tools/kube-apiserver), each on free loopback
// ports in a private directory. The administrator authenticates with a
// client certificate signed by a CA made for the run. The kubectl of the
// same version, built beside it, serves tests whose audits run kubectl.
package kubetest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/baselinehq/baseline/internal/testhost"
)

// Server is a running API server.
type Server struct {
	// URL is the API server's address; Kubeconfig a file for an
	// administrator (group system:masters).
	URL        string
	Kubeconfig string
	Config     *rest.Config
	// PID is the kube-apiserver process; Flags the flags it runs with.
	PID   int
	Flags map[string]string
	Dir   string

	etcd, apiserver *exec.Cmd
	// exited is closed when the process's Wait returns (one waiter only).
	exited map[*exec.Cmd]chan struct{}
}

// Binary returns the kube-apiserver binary that scripts/kube-test-env.sh
// builds: $BASELINE_KUBE_APISERVER, or the cached build of the version
// tools/kube-apiserver/go.mod requires.
func Binary() (string, error) {
	return cached("kube-apiserver", "BASELINE_KUBE_APISERVER")
}

// KubectlBinary returns the kubectl that scripts/kube-test-env.sh builds
// beside the API server (tools/kube-apiserver/kubectl): $BASELINE_KUBECTL,
// or the cached build of the same version.
func KubectlBinary() (string, error) {
	return cached("kubectl", "BASELINE_KUBECTL")
}

// cached returns a binary built by scripts/kube-test-env.sh: the one the
// environment variable names, or NAME-VERSION in the cache.
func cached(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	cache := os.Getenv("BASELINE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache", "baseline")
	}
	v, err := Version()
	if err != nil {
		return "", err
	}
	p := filepath.Join(cache, name+"-"+v)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s %s is not built (run scripts/kube-test-env.sh build): %w", name, v, err)
	}
	return p, nil
}

// Version is the Kubernetes version the tools module builds.
func Version() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	gomod := filepath.Join(filepath.Dir(file), "..", "..", "tools", "kube-apiserver", "go.mod")
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "k8s.io/kubernetes" && strings.HasPrefix(fs[1], "v") {
			return fs[1], nil
		}
	}
	return "", fmt.Errorf("%s: no k8s.io/kubernetes requirement", gomod)
}

// Require returns the binary, or ends the test: it skips in a unit run
// (testhost.UnitRun) without looking; when the binary or etcd is missing,
// it fails in CI (where .ci/run builds it) and skips elsewhere with the
// reason.
func Require(tb testing.TB) string {
	tb.Helper()
	testhost.Needs(tb, "a Kubernetes API server")
	bin, err := Binary()
	if err == nil {
		if _, err = exec.LookPath("etcd"); err == nil {
			return bin
		}
		err = fmt.Errorf("etcd is not installed (apt-get install etcd-server): %w", err)
	}
	testhost.Missing(tb, "kubetest: "+err.Error(), "make test builds it")
	return ""
}

// RequireKubectl puts the built kubectl first in PATH for the rest of the
// test, as `kubectl` (benchmark audits call it by that name), and returns
// its path; without it the test ends as Require ends it: it fails in CI
// and skips elsewhere with the reason.
func RequireKubectl(t *testing.T) string {
	t.Helper()
	testhost.Needs(t, "kubectl")
	bin, err := KubectlBinary()
	if err != nil {
		testhost.Missing(t, "kubetest: "+err.Error(), "make test builds it")
		return ""
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "kubectl")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return link
}

// Start starts etcd and kube-apiserver in dir. flags override or add to
// the API server's default flags (a value "" removes a default).
func Start(bin, dir string, flags map[string]string) (*Server, error) {
	s := &Server{Dir: dir, exited: map[*exec.Cmd]chan struct{}{}}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	pki, err := makePKI(dir)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	s.etcd = exec.Command("etcd", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", ports[1]))
	if err := s.startLogged(s.etcd, filepath.Join(dir, "etcd.log")); err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	def := map[string]string{
		"--etcd-servers":                     etcdURL,
		"--bind-address":                     "127.0.0.1",
		"--secure-port":                      fmt.Sprint(ports[2]),
		"--tls-cert-file":                    pki.serverCert,
		"--tls-private-key-file":             pki.serverKey,
		"--client-ca-file":                   pki.caCert,
		"--service-account-issuer":           "https://kubernetes.default.svc",
		"--service-account-key-file":         pki.saKey,
		"--service-account-signing-key-file": pki.saKey,
		"--authorization-mode":               "Node,RBAC",
		"--service-cluster-ip-range":         "10.96.0.0/24",
		"--anonymous-auth":                   "false",
		"--enable-admission-plugins":         "NodeRestriction",
		"--profiling":                        "false",
		"--allow-privileged":                 "true",
		"--cert-dir":                         filepath.Join(dir, "certs"),
	}
	for k, v := range flags {
		if v == "" {
			delete(def, k)
		} else {
			def[k] = v
		}
	}
	s.Flags = def
	names := make([]string, 0, len(def))
	for k := range def {
		names = append(names, k)
	}
	sort.Strings(names)
	args := make([]string, 0, len(names))
	for _, k := range names {
		args = append(args, k+"="+def[k])
	}
	s.apiserver = exec.Command(bin, args...)
	// The process table shows it under its component name, as on a node.
	s.apiserver.Args[0] = "kube-apiserver"
	if err := s.startLogged(s.apiserver, filepath.Join(dir, "apiserver.log")); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	s.PID = s.apiserver.Process.Pid
	s.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	s.Config = &rest.Config{Host: s.URL, QPS: 1000, Burst: 2000,
		TLSClientConfig: rest.TLSClientConfig{CAFile: pki.caCert, CertFile: pki.adminCert, KeyFile: pki.adminKey}}
	s.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: kubetest
  context: {cluster: kubetest, user: admin}
current-context: kubetest
`, s.URL, pki.caCert, pki.adminCert, pki.adminKey)
	if err := os.WriteFile(s.Kubeconfig, []byte(kc), 0o600); err != nil {
		return nil, err
	}
	if err := s.waitReady(90 * time.Second); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// StartT starts a server for one test and stops it when the test ends.
func StartT(t *testing.T, flags map[string]string) *Server {
	t.Helper()
	bin := Require(t)
	s, err := Start(bin, t.TempDir(), flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Client returns an administrator's clientset.
func (s *Server) Client() *kubernetes.Clientset {
	return kubernetes.NewForConfigOrDie(s.Config)
}

func (s *Server) waitReady(limit time.Duration) error {
	cs, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if s.hasExited(s.apiserver) {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		cancel()
		if err == nil && strings.TrimSpace(string(body)) == "ok" {
			// The default namespace and the bootstrap RBAC policy are
			// created just after readiness.
			if err := s.waitBootstrap(cs, deadline); err != nil {
				return err
			}
			return nil
		}
		last = err
		time.Sleep(300 * time.Millisecond)
	}
	logTail, _ := os.ReadFile(filepath.Join(s.Dir, "apiserver.log"))
	if len(logTail) > 3000 {
		logTail = logTail[len(logTail)-3000:]
	}
	return fmt.Errorf("kube-apiserver not ready after %s (last error: %v); log:\n%s", limit, last, logTail)
}

func (s *Server) waitBootstrap(cs *kubernetes.Clientset, deadline time.Time) error {
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err1 := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		_, err2 := cs.RbacV1().ClusterRoles().Get(ctx, "cluster-admin", metav1.GetOptions{})
		cancel()
		if err1 == nil && err2 == nil {
			// No controller manager runs: make the service accounts it
			// would, so that pods can be created as in a real cluster.
			for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
				if err := s.Namespace(ns); err != nil {
					return err
				}
			}
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return errors.New("kube-apiserver: the default namespace and bootstrap roles did not appear")
}

// Namespace creates a namespace (unless it exists) with its default
// service account, as the controller manager would.
func (s *Server) Namespace(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs := s.Client()
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, err = cs.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// Stop stops the API server and etcd.
func (s *Server) Stop() {
	for _, c := range []*exec.Cmd{s.apiserver, s.etcd} {
		done, ok := s.exited[c]
		if c == nil || !ok {
			continue
		}
		_ = c.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
	}
}

func (s *Server) hasExited(c *exec.Cmd) bool {
	select {
	case <-s.exited[c]:
		return true
	default:
		return false
	}
}

// startLogged starts c with its output in logPath; one goroutine waits
// for it and closes its exited channel.
func (s *Server) startLogged(c *exec.Cmd, logPath string) error {
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	c.Stdout, c.Stderr = f, f
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	s.exited[c] = done
	go func() { _ = c.Wait(); f.Close(); close(done) }()
	return nil
}

func freePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

type pkiFiles struct {
	caCert, serverCert, serverKey, adminCert, adminKey, saKey string
}

// makePKI writes a CA, a serving certificate for 127.0.0.1, an
// administrator's client certificate and a service account signing key.
func makePKI(dir string) (*pkiFiles, error) {
	p := &pkiFiles{}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubetest-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.caCert = filepath.Join(dir, "ca.crt")
	if err := writePEM(p.caCert, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	leaf := func(name string, serial int64, tmpl *x509.Certificate) (string, string, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", err
		}
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return "", "", err
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return "", "", err
		}
		c, k := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		if err := writePEM(c, "CERTIFICATE", der); err != nil {
			return "", "", err
		}
		return c, k, writePEM(k, "EC PRIVATE KEY", kder)
	}
	if p.serverCert, p.serverKey, err = leaf("apiserver", 2, &x509.Certificate{Subject: pkix.Name{CommonName: "kube-apiserver"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, err
	}
	if p.adminCert, p.adminKey, err = leaf("admin", 3, &x509.Certificate{Subject: pkix.Name{CommonName: "kubetest-admin", Organization: []string{"system:masters"}},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sader, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	p.saKey = filepath.Join(dir, "sa.key")
	if err := writePEM(p.saKey, "EC PRIVATE KEY", sader); err != nil {
		return nil, err
	}
	return p, nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
