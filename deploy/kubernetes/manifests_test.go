package kubernetes_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/cmd/baseline/cli"
	"github.com/baselinehq/baseline/internal/kubetest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/scan"
)

const namespace = "baseline"

// clusterResources are the resources the cluster checks may list.
var clusterResources = checks.KubeResources

type manifest struct {
	file string
	obj  *unstructured.Unstructured
}

// kustomization is the part of kustomization.yaml the tests apply; any
// other field (a patch, a namespace override) is refused, since the tests
// would not see its effect.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

func readKustomization(t *testing.T) kustomization {
	t.Helper()
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := sigsyaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return k
}

// loadManifests decodes every document of the files kustomization.yaml
// lists, in its order; a duplicate key is an error.
func loadManifests(t *testing.T) []manifest {
	t.Helper()
	var out []manifest
	for _, file := range readKustomization(t).Resources {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(f))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			js, err := sigsyaml.YAMLToJSONStrict(doc)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if string(bytes.TrimSpace(js)) == "null" {
				continue // comments only
			}
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(js); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			out = append(out, manifest{file: file, obj: obj})
		}
		f.Close()
	}
	return out
}

func find(t *testing.T, ms []manifest, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, m := range ms {
		if m.obj.GetKind() == kind && m.obj.GetName() == name {
			return m.obj
		}
	}
	t.Fatalf("no %s %s in the manifests", kind, name)
	return nil
}

// typed converts an object, refusing fields its Go type does not have.
func typed[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &v, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return &v
}

// Every manifest in the directory is part of the kustomization, every
// namespaced object names the namespace (so plain kubectl apply -f works
// too), and every container uses the image name the kustomization
// replaces.
func TestKustomizationCoversEveryManifest(t *testing.T) {
	k := readKustomization(t)
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "kustomization.yaml" && !slices.Contains(k.Resources, f) {
			t.Errorf("%s is not listed in kustomization.yaml", f)
		}
	}
	if len(k.Images) != 1 || k.Images[0].Name != "baseline" || k.Images[0].NewName == "" || k.Images[0].NewTag == "" {
		t.Fatalf("kustomization images = %+v, want one placeholder for the image named baseline", k.Images)
	}
	ms := loadManifests(t)
	clusterScoped := map[string]bool{"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true}
	for _, m := range ms {
		if !clusterScoped[m.obj.GetKind()] && m.obj.GetNamespace() != namespace {
			t.Errorf("%s: %s %s has namespace %q, want %q", m.file, m.obj.GetKind(), m.obj.GetName(), m.obj.GetNamespace(), namespace)
		}
	}
	for _, spec := range podSpecs(t, ms) {
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			if c.Image != "baseline" {
				t.Errorf("container %s: image %q, want the placeholder baseline (set in kustomization.yaml)", c.Name, c.Image)
			}
		}
	}
}

func podSpecs(t *testing.T, ms []manifest) map[string]corev1.PodSpec {
	ds := typed[appsv1.DaemonSet](t, find(t, ms, "DaemonSet", "baseline-node"))
	dep := typed[appsv1.Deployment](t, find(t, ms, "Deployment", "baseline-cluster"))
	return map[string]corev1.PodSpec{"node": ds.Spec.Template.Spec, "cluster": dep.Spec.Template.Spec}
}

// The ClusterRole only reads (get and list: the checks never watch), only
// the resources the cluster checks list plus /version, never secrets, and
// no wildcard; only the cluster daemon's account is bound to it.
func TestClusterRoleIsReadOnly(t *testing.T) {
	ms := loadManifests(t)
	role := typed[rbacv1.ClusterRole](t, find(t, ms, "ClusterRole", "baseline-reader"))
	if role.AggregationRule != nil {
		t.Fatal("the ClusterRole aggregates other roles")
	}
	readVerbs := []string{"get", "list", "watch"}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if !slices.Contains(readVerbs, v) {
				t.Errorf("rule %+v grants %q", r, v)
			}
		}
		for _, u := range r.NonResourceURLs {
			if u != "/version" {
				t.Errorf("rule %+v grants the non-resource URL %q", r, u)
			}
		}
		if len(r.ResourceNames) > 0 {
			t.Errorf("rule %+v names objects", r)
		}
		for _, g := range r.APIGroups {
			if g == "*" {
				t.Errorf("rule %+v grants every API group", r)
			}
		}
		for _, res := range r.Resources {
			switch {
			case res == "secrets" || res == "*" || strings.Contains(res, "/"):
				t.Errorf("rule %+v grants %q", r, res)
			case !slices.Contains(clusterResources, res):
				t.Errorf("rule %+v grants %q, which no cluster check reads", r, res)
			}
			if slices.Contains(r.Verbs, "list") {
				granted[res] = true
			}
		}
	}
	for _, res := range clusterResources {
		if !granted[res] {
			t.Errorf("the ClusterRole does not let the checks list %s", res)
		}
	}
	binding := typed[rbacv1.ClusterRoleBinding](t, find(t, ms, "ClusterRoleBinding", "baseline-reader"))
	want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "baseline", Namespace: namespace}}
	if binding.RoleRef.Name != role.Name || !slices.Equal(binding.Subjects, want) {
		t.Errorf("binding = %+v -> %+v, want the ClusterRole bound to service account baseline only", binding.Subjects, binding.RoleRef)
	}
	for _, m := range ms {
		if k := m.obj.GetKind(); k == "Role" || k == "RoleBinding" || (k == "ClusterRoleBinding" && m.obj.GetName() != binding.Name) {
			t.Errorf("%s: unexpected %s %s", m.file, k, m.obj.GetName())
		}
	}
}

func mountOf(c corev1.Container, volume string) (corev1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

func envOf(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func mainContainer(t *testing.T, spec corev1.PodSpec) corev1.Container {
	t.Helper()
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	return spec.Containers[0]
}

// The node daemon reads the host's root through a read-only mount at
// /host (BASELINE_HOST_ROOT), knows its node from the downward API, runs
// on control-plane nodes, and holds nothing more than reading needs: its
// own PID namespace and network, no token, no Docker socket, a read-only
// root file system, every capability dropped but DAC_READ_SEARCH.
func TestNodeDaemonSetReadsTheHostReadOnly(t *testing.T) {
	ms := loadManifests(t)
	ds := typed[appsv1.DaemonSet](t, find(t, ms, "DaemonSet", "baseline-node"))
	spec := ds.Spec.Template.Spec
	c := mainContainer(t, spec)

	hostPaths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	want := map[string]string{"host": "/", "data": "/var/lib/baseline-node"}
	if fmt.Sprint(hostPaths) != fmt.Sprint(want) {
		t.Errorf("hostPath volumes = %v, want %v (the host's root and the node's store, no Docker socket)", hostPaths, want)
	}
	m, ok := mountOf(c, "host")
	if !ok || m.MountPath != "/host" || !m.ReadOnly || m.RecursiveReadOnly == nil || *m.RecursiveReadOnly != corev1.RecursiveReadOnlyIfPossible {
		t.Errorf("host mount = %+v, want /host read-only, recursively where possible", m)
	}
	for _, ic := range spec.InitContainers {
		if _, ok := mountOf(ic, "host"); ok {
			t.Errorf("init container %s mounts the host's root", ic.Name)
		}
	}
	if e, _ := envOf(c, "BASELINE_HOST_ROOT"); e.Value != "/host" {
		t.Errorf("BASELINE_HOST_ROOT = %q, want /host", e.Value)
	}
	if e, _ := envOf(c, "NODE_NAME"); e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("NODE_NAME = %+v, want the downward API's spec.nodeName", e)
	}
	// The process table is the host's /proc under /host: hostPID would
	// only let uid 0 signal the host's processes.
	if spec.HostPID || spec.HostNetwork || spec.HostIPC {
		t.Errorf("hostPID %v, hostNetwork %v, hostIPC %v: want none", spec.HostPID, spec.HostNetwork, spec.HostIPC)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken || spec.ServiceAccountName != "baseline-node" {
		t.Errorf("service account %q, automount %v: want baseline-node without a token", spec.ServiceAccountName, spec.AutomountServiceAccountToken)
	}
	if !slices.ContainsFunc(spec.Tolerations, func(tl corev1.Toleration) bool {
		return tl.Key == "node-role.kubernetes.io/control-plane" && tl.Operator == corev1.TolerationOpExists && tl.Effect == corev1.TaintEffectNoSchedule
	}) {
		t.Errorf("tolerations %+v do not admit control-plane nodes", spec.Tolerations)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsUser == nil || *spec.SecurityContext.RunAsUser != 0 {
		t.Error("the pod does not say it runs as uid 0 (the owner of most files the node checks read)")
	}
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"DAC_READ_SEARCH"}) {
		t.Fatalf("capabilities = %+v, want ALL dropped and DAC_READ_SEARCH added", sc)
	}
	checkLockedDown(t, "node", spec)
}

// checkLockedDown: every container has a read-only root file system, no
// privilege escalation, no privileged mode, every capability dropped, and
// resource requests and limits.
func checkLockedDown(t *testing.T, name string, spec corev1.PodSpec) {
	t.Helper()
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s/%s: the root file system is writable", name, c.Name)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s/%s: privilege escalation is allowed", name, c.Name)
		}
		if sc != nil && sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s/%s: privileged", name, c.Name)
		}
		if sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%s/%s: capabilities are not all dropped", name, c.Name)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				t.Errorf("%s/%s: no %s request", name, c.Name, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				t.Errorf("%s/%s: no %s limit", name, c.Name, r)
			}
		}
	}
	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil || spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: no RuntimeDefault seccomp profile", name)
	}
}

// The cluster daemon is one replica (its store has one writer) on a
// persistent volume, reads the API as the service account baseline, and
// runs as a non-root user with no capability.
func TestClusterDeploymentOwnsOneStore(t *testing.T) {
	ms := loadManifests(t)
	dep := typed[appsv1.Deployment](t, find(t, ms, "Deployment", "baseline-cluster"))
	typed[corev1.PersistentVolumeClaim](t, find(t, ms, "PersistentVolumeClaim", "baseline-data"))
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 || dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %v, strategy %s: want 1 and Recreate", dep.Spec.Replicas, dep.Spec.Strategy.Type)
	}
	spec := dep.Spec.Template.Spec
	if spec.ServiceAccountName != "baseline" || spec.AutomountServiceAccountToken == nil || !*spec.AutomountServiceAccountToken {
		t.Errorf("service account %q, automount %v: want baseline with its token", spec.ServiceAccountName, spec.AutomountServiceAccountToken)
	}
	claim := ""
	for _, v := range spec.Volumes {
		if v.Name == "data" && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
		if v.HostPath != nil {
			t.Errorf("volume %s is a hostPath", v.Name)
		}
	}
	if claim != "baseline-data" {
		t.Errorf("the data volume is not the claim baseline-data")
	}
	c := mainContainer(t, spec)
	if m, ok := mountOf(c, "data"); !ok || m.MountPath != "/var/lib/baseline" {
		t.Errorf("data mount = %+v, want /var/lib/baseline", m)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod security context %+v: want a non-root user", psc)
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		if c.SecurityContext != nil && c.SecurityContext.Capabilities != nil && len(c.SecurityContext.Capabilities.Add) > 0 {
			t.Errorf("%s adds capabilities %v", c.Name, c.SecurityContext.Capabilities.Add)
		}
	}
	checkLockedDown(t, "cluster", spec)
}

func run(args ...string) (int, string) {
	var out bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &out)
	return code, out.String()
}

// Every container's command line parses with the real CLI: the image's
// binary path, the subcommand and its flags.
func TestCommandLinesParse(t *testing.T) {
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for name, spec := range podSpecs(t, loadManifests(t)) {
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			if len(c.Command) != 1 || !strings.Contains(string(dockerfile), "COPY bin/baseline "+c.Command[0]+"\n") {
				t.Errorf("%s/%s: command %q is not the binary deploy/Dockerfile installs", name, c.Name, c.Command)
			}
			code, out := run(append(slices.Clone(c.Args), "--help")...)
			if code != cli.ExitOK || !strings.Contains(out, "Usage:\n  baseline "+c.Args[0]) {
				t.Errorf("%s/%s: baseline %s --help: exit %d\n%s", name, c.Name, strings.Join(c.Args, " "), code, out)
			}
		}
	}
}

// Each daemon's configuration file, as the ConfigMap holds it, works with
// its pod's command lines and environment: the init container switches
// the k8s period task on, and the daemon starts with the API key from the
// Secret's variables, in UTC, with the cluster's API switched off on
// nodes only.
func TestDaemonsStartWithTheirConfiguration(t *testing.T) {
	ms := loadManifests(t)
	cm := typed[corev1.ConfigMap](t, find(t, ms, "ConfigMap", "baseline-config"))
	for name, spec := range podSpecs(t, ms) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			c := mainContainer(t, spec)
			cfgMount, ok := mountOf(c, "config")
			if !ok {
				t.Fatal("no config mount")
			}
			for file, content := range cm.Data {
				if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			local := func(args []string) []string {
				out := slices.Clone(args)
				for i, a := range out {
					if strings.HasPrefix(a, cfgMount.MountPath+"/") {
						out[i] = filepath.Join(dir, strings.TrimPrefix(a, cfgMount.MountPath+"/"))
					}
				}
				return out
			}
			// The pod's environment, with the Secret's and the downward
			// API's values stood in for.
			setPodEnv(t, c)
			// The API key, and on nodes the cluster daemon's key to upload
			// with: the key id and the secret key of the Secret.
			want := map[string]string{"BASELINE_API_SECRET_ID": "secret-id", "BASELINE_API_SECRET_KEY": "secret-key"}
			if name == "node" {
				want["BASELINE_UPSTREAM_SECRET_ID"], want["BASELINE_UPSTREAM_SECRET_KEY"] = "secret-id", "secret-key"
			}
			if got := secretRefs(t, c); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("variables from the Secret = %v, want %v", got, want)
			}
			// The store and the API address are the test's.
			t.Setenv("BASELINE_DATA_DIR", filepath.Join(dir, "data"))
			t.Setenv("BASELINE_API_LISTEN", "127.0.0.1:0")

			if len(spec.InitContainers) != 1 {
				t.Fatalf("%d init containers, want the schedule one", len(spec.InitContainers))
			}
			if code, out := run(local(spec.InitContainers[0].Args)...); code != cli.ExitOK || !strings.Contains(out, "k8s period task enabled") {
				t.Fatalf("init: exit %d\n%s", code, out)
			}

			ctx, cancel := context.WithCancel(context.Background())
			var stderr testhost.Buffer
			done := make(chan int, 1)
			go func() { done <- cli.Run(ctx, local(c.Args), io.Discard, &stderr) }()
			addr := regexp.MustCompile(`serving the compliance API on (http://\S+)`)
			var url string
			for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if m := addr.FindStringSubmatch(stderr.String()); m != nil {
					url = m[1]
				}
				select {
				case code := <-done:
					cancel()
					t.Fatalf("the daemon exited with %d:\n%s", code, stderr.String())
				default:
				}
			}
			if url == "" {
				cancel()
				t.Fatalf("the daemon did not start:\n%s", stderr.String())
			}
			code, out := run("--server", url, "--secret-id", "test-secret-id", "--secret-key", "test-secret-key", "schedule", "show", "--format", "json")
			cancel()
			if exit := <-done; exit != cli.ExitOK {
				t.Errorf("the daemon exited with %d:\n%s", exit, stderr.String())
			}
			if code != cli.ExitOK {
				t.Fatalf("schedule show through the API with the Secret's key: exit %d\n%s", code, out)
			}
			var tasks []struct {
				AssetType  string
				PeriodRule struct{ Enable bool }
			}
			if err := json.Unmarshal([]byte(out), &tasks); err != nil {
				t.Fatalf("schedule show: %v\n%s", err, out)
			}
			for _, pt := range tasks {
				if pt.PeriodRule.Enable != (pt.AssetType == string(assets.K8s)) {
					t.Errorf("period task %s: enabled %v, want only the k8s one", pt.AssetType, pt.PeriodRule.Enable)
				}
			}
			if len(tasks) != len(assets.Types) {
				t.Errorf("%d period tasks, want one per asset type", len(tasks))
			}
			logs := stderr.String()
			if !strings.Contains(logs, `"timezone":"UTC"`) || !strings.Contains(logs, `"keys":1`) {
				t.Errorf("the daemon's start-up log lacks UTC or its one key:\n%s", logs)
			}
			if wantUp := map[string]string{"node": serviceURL(t, ms), "cluster": ""}[name]; !strings.Contains(logs, `"upstream":"`+wantUp+`"`) {
				t.Errorf("the daemon's start-up log does not name the upstream %q:\n%s", wantUp, logs)
			}
		})
	}
}

// keyPaths lists the dotted key paths of a YAML document's mappings.
func keyPaths(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, sub := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		keyPaths(p, sub, out)
	}
}

func yamlKeys(t *testing.T, name string, data []byte) map[string]any {
	t.Helper()
	var doc any
	if err := sigsyaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := map[string]any{}
	keyPaths("", doc, out)
	return out
}

// The daemons' configuration files use only keys that the example
// configuration documents (the daemon ignores an unknown key, so a typo
// would pass silently), and only the node daemon stays off the cluster's
// API. The node daemon forwards to the Service baseline-api and keeps its
// own API on loopback; the cluster daemon listens on every interface at
// the port the Service sends to.
func TestConfigurationKeysAreKnown(t *testing.T) {
	example, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	known := yamlKeys(t, "config.example.yaml", example)
	cm := typed[corev1.ConfigMap](t, find(t, loadManifests(t), "ConfigMap", "baseline-config"))
	for _, name := range []string{"node", "cluster"} {
		data, ok := cm.Data[name+".yaml"]
		if !ok {
			t.Fatalf("the ConfigMap has no %s.yaml", name)
		}
		keys := yamlKeys(t, name+".yaml", []byte(data))
		for k := range keys {
			if _, ok := known[k]; !ok {
				t.Errorf("%s.yaml: %s is not a configuration key", name, k)
			}
		}
		disabled, _ := keys["kubernetes.disabled"].(bool)
		if disabled != (name == "node") {
			t.Errorf("%s.yaml: kubernetes.disabled is %v", name, disabled)
		}
		// Nodes forward to the cluster daemon's Service and keep their own
		// API on loopback; the cluster daemon listens where the Service
		// sends.
		upstream, _ := keys["upstream.server"].(string)
		listen, _ := keys["api.listen"].(string)
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			t.Fatalf("%s.yaml: api.listen %q: %v", name, listen, err)
		}
		switch name {
		case "node":
			if want := serviceURL(t, loadManifests(t)); upstream != want {
				t.Errorf("node.yaml: upstream.server %q, want the Service's %q", upstream, want)
			}
			if host != "127.0.0.1" {
				t.Errorf("node.yaml: api.listen %q, want loopback (port-forward only)", listen)
			}
		case "cluster":
			if upstream != "" {
				t.Errorf("cluster.yaml: upstream.server %q, want none", upstream)
			}
			if host != "0.0.0.0" || port != strconv.Itoa(apiContainerPort(t, loadManifests(t))) {
				t.Errorf("cluster.yaml: api.listen %q, want every interface on the port the Service sends to", listen)
			}
		}
		if keys["data_dir"] != "/var/lib/baseline" {
			t.Errorf("%s.yaml: data_dir %v, want the data volume's mount /var/lib/baseline", name, keys["data_dir"])
		}
	}
}

// setPodEnv sets a container's environment, with stand-ins for the
// Secret's values (test-secret-id, test-secret-key) and the downward
// API's (node-1).
func setPodEnv(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			t.Setenv(e.Name, e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			t.Setenv(e.Name, "test-"+e.ValueFrom.SecretKeyRef.Key)
		case e.ValueFrom.FieldRef != nil:
			t.Setenv(e.Name, "node-1")
		}
	}
}

// secretRefs maps each variable taken from a Secret to the key it takes;
// every one must come from the Secret baseline-api.
func secretRefs(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			if e.ValueFrom.SecretKeyRef.Name != "baseline-api" {
				t.Errorf("%s comes from secret %s", e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
			out[e.Name] = e.ValueFrom.SecretKeyRef.Key
		}
	}
	return out
}

// apiContainerPort is the cluster daemon's container port that the
// Service baseline-api sends to, checking that the Service selects the
// Deployment's pods (and not the nodes').
func apiContainerPort(t *testing.T, ms []manifest) int {
	t.Helper()
	svc := typed[corev1.Service](t, find(t, ms, "Service", "baseline-api"))
	dep := typed[appsv1.Deployment](t, find(t, ms, "Deployment", "baseline-cluster"))
	ds := typed[appsv1.DaemonSet](t, find(t, ms, "DaemonSet", "baseline-node"))
	selects := func(labels map[string]string) bool {
		for k, v := range svc.Spec.Selector {
			if labels[k] != v {
				return false
			}
		}
		return len(svc.Spec.Selector) > 0
	}
	if !selects(dep.Spec.Template.Labels) || selects(ds.Spec.Template.Labels) {
		t.Fatalf("the Service selects %v: want the cluster daemon's pods only", svc.Spec.Selector)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("the Service has %d ports, want the API's", len(svc.Spec.Ports))
	}
	tp := svc.Spec.Ports[0].TargetPort
	for _, p := range mainContainer(t, dep.Spec.Template.Spec).Ports {
		if (tp.StrVal != "" && p.Name == tp.StrVal) || (tp.StrVal == "" && p.ContainerPort == tp.IntVal) {
			return int(p.ContainerPort)
		}
	}
	t.Fatalf("the Service's target port %s is not a port of the cluster daemon's container", tp.String())
	return 0
}

// serviceURL is the in-cluster address of the Service baseline-api.
func serviceURL(t *testing.T, ms []manifest) string {
	t.Helper()
	svc := typed[corev1.Service](t, find(t, ms, "Service", "baseline-api"))
	apiContainerPort(t, ms)
	return fmt.Sprintf("http://%s.%s.svc:%d", svc.Name, svc.Namespace, svc.Spec.Ports[0].Port)
}

// startDaemon runs a workload's daemon in this process, as its pod would
// with the ConfigMap's file and the environment set before the call;
// the store and the API address are the test's. It returns the API's
// URL; the daemon is stopped at cleanup and must exit 0.
func startDaemon(t *testing.T, c corev1.Container, cm *corev1.ConfigMap) (string, *testhost.Buffer) {
	t.Helper()
	cfgMount, ok := mountOf(c, "config")
	if !ok {
		t.Fatal("no config mount")
	}
	dir := t.TempDir()
	args := slices.Clone(c.Args)
	for i, a := range args {
		if file, ok := strings.CutPrefix(a, cfgMount.MountPath+"/"); ok {
			args[i] = filepath.Join(dir, file)
			if err := os.WriteFile(args[i], []byte(cm.Data[file]), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("BASELINE_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("BASELINE_API_LISTEN", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &testhost.Buffer{}
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, args, io.Discard, stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != cli.ExitOK {
			t.Errorf("%s exited with %d:\n%s", c.Name, code, stderr.String())
		}
	})
	addr := regexp.MustCompile(`serving the compliance API on (http://\S+)`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], stderr
		}
	}
	t.Fatalf("the daemon did not start:\n%s", stderr.String())
	return "", nil
}

// A node's results reach the cluster daemon, as the manifests wire them:
// the cluster daemon and a node daemon start with their ConfigMap files
// and their pods' environment (one key in the Secret, as the README
// creates it), the node's upstream standing in for the Service's DNS
// name; a scan on the node daemon (a fixture control-plane node) appears
// in the cluster daemon's store as an upload of that node, with the same
// results as the node's own store.
func TestNodeResultsReachTheClusterDaemon(t *testing.T) {
	ms := loadManifests(t)
	cm := typed[corev1.ConfigMap](t, find(t, ms, "ConfigMap", "baseline-config"))
	specs := podSpecs(t, ms)
	cluster, node := mainContainer(t, specs["cluster"]), mainContainer(t, specs["node"])
	key := []string{"--secret-id", "test-secret-id", "--secret-key", "test-secret-key"}

	setPodEnv(t, cluster)
	clusterURL, _ := startDaemon(t, cluster, cm)
	// The node's pod: its environment (the configuration is read at
	// start, so the cluster daemon keeps its own), the fixture node's
	// files as the host's root, the cluster daemon's address for the
	// Service's.
	setPodEnv(t, node)
	t.Setenv("BASELINE_HOST_ROOT", testhost.Tree(t, "k8s-good"))
	t.Setenv("BASELINE_UPSTREAM_SERVER", clusterURL)
	nodeURL, nodeLog := startDaemon(t, node, cm)

	if code, out := run(append(append([]string{"--server", nodeURL}, key...), "recheck", "--type", "k8s")...); code != cli.ExitOK {
		t.Fatalf("a scan on the node daemon: exit %d\n%s", code, out)
	}
	type asset struct {
		CustomerAssetId       uint64
		AssetName             string
		PassedPolicyItemCount int
		FailedPolicyItemCount int
	}
	list := func(url string) []asset {
		t.Helper()
		code, out := run(append(append([]string{"--server", url}, key...), "assets", "--type", "k8s", "--format", "json")...)
		if code != cli.ExitOK {
			t.Fatalf("assets on %s: exit %d\n%s", url, code, out)
		}
		var l struct{ List []asset }
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("assets: %v\n%s", err, out)
		}
		return l.List
	}
	var onCluster []asset
	for deadline := time.Now().Add(30 * time.Second); len(onCluster) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the node's scan did not reach the cluster daemon within 30s; node daemon's log:\n%s", nodeLog.String())
		}
		onCluster = list(clusterURL)
	}
	onNode := list(nodeURL)
	if len(onNode) != 1 || len(onCluster) != 1 || onCluster[0] != onNode[0] || onNode[0].PassedPolicyItemCount == 0 {
		t.Errorf("K8s assets: node daemon %+v, cluster daemon %+v; want the node on both, alike", onNode, onCluster)
	}
	if !strings.Contains(nodeLog.String(), `"msg":"task forwarded"`) {
		t.Errorf("the node daemon did not log the forwarding:\n%s", nodeLog.String())
	}
}

// warnings collects the API server's warnings.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// testStandard has one cluster item per resource the cluster checks read:
// each passes when the resource lists (and is not empty).
func testStandard() checks.Tree {
	var b strings.Builder
	b.WriteString("standard:\n  id: deploy-kubernetes-test\n  name: Every resource the cluster checks read\n  version: \"1\"\n  asset_types: [k8s]\n")
	b.WriteString("category: Test\nasset_type: k8s\nitems:\n")
	for i, r := range clusterResources {
		fmt.Fprintf(&b, "  - id: %d\n    number: %q\n    title: The %s are listed\n    risk: low\n    assessment: automated\n", 9200001+i, fmt.Sprint(i+1), r)
		fmt.Fprintf(&b, "    source: {kind: kube, resource: %s}\n    tests:\n      test_items:\n        - {path: \"{.metadata.name}\", set: true}\n", r)
	}
	return checks.Tree{FS: fstest.MapFS{"deploy-kubernetes-test/standard.yaml": {Data: []byte(b.String())}}, Origin: "test"}
}

// The manifests against a real API server: every object is created with
// strict field validation and without a warning; then a cluster scan as
// the service account baseline, with a token from the TokenRequest API,
// lists every resource and carries out every check (the built-in
// standards' cluster items, and one item per resource), while the same
// token may not create a pod, list secrets or watch; the node daemon's
// account may not even list pods.
func TestManifestsOnAnAPIServer(t *testing.T) {
	s := kubetest.StartT(t, nil)
	ctx := context.Background()
	cfg := rest.CopyConfig(s.Config)
	warn := &warnings{}
	cfg.WarningHandler = warn
	dyn := dynamic.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))
	for _, m := range loadManifests(t) {
		gvk := m.obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %s: %v", m.file, gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == "namespace" {
			ri = dyn.Resource(mapping.Resource).Namespace(m.obj.GetNamespace())
		}
		if _, err := ri.Create(ctx, m.obj, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
			t.Fatalf("%s: creating %s %s: %v", m.file, m.obj.GetKind(), m.obj.GetName(), err)
		}
	}
	if len(warn.list) > 0 {
		t.Errorf("the API server warned: %q", warn.list)
	}

	// Something of every resource to list.
	admin := s.Client()
	if err := s.Namespace("team-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Pods("team-a").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.NetworkingV1().NetworkPolicies("team-a").Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().Roles("team-a").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings("team-a").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: "team-a"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	kubeconfig, cs := asServiceAccount(t, s, "baseline")
	// RBAC's cache catches up with the new binding.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			break
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			t.Fatalf("the service account cannot list pods: %v", err)
		}
	}

	cat, err := checks.Load(checks.Tree{FS: benchmarks.FS(), Origin: benchmarks.Origin}, testStandard())
	if err != nil {
		t.Fatal(err)
	}
	var builtin []string
	for _, it := range cat.Items() {
		if it.AssetType == assets.K8s && it.Target == checks.TargetCluster && it.Standard.ID != "deploy-kubernetes-test" {
			builtin = append(builtin, it.Standard.ID+" "+it.Number)
		}
	}
	t.Logf("%d cluster items of the built-in standards run beside the %d test items", len(builtin), len(clusterResources))

	rep, err := scan.Run(ctx, cat, scan.Options{NoDocker: true, HostRoot: t.TempDir(), Kube: kube.Options{Kubeconfig: kubeconfig},
		Types: []assets.Type{assets.K8s}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Failures {
		t.Errorf("asset %d failed: %s", f.AssetID, f.Reason)
	}
	if len(rep.Assets) != 1 || rep.Assets[0].Cluster == nil {
		t.Fatalf("assets = %+v, want the cluster", rep.Assets)
	}
	cluster := rep.Assets[0]
	ks, err := admin.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cluster.Ref != string(ks.UID) || !slices.Contains(cluster.Cluster.Nodes, "node-1") {
		t.Errorf("cluster = %+v, want kube-system's UID %s and the node node-1", cluster, ks.UID)
	}
	judged := map[uint64]checks.Verdict{}
	for _, r := range rep.Results {
		judged[r.ItemID] = r.Verdict
		if r.Status == checks.CheckFailed {
			it, _ := cat.Item(r.ItemID)
			t.Errorf("item %d (%s %s) could not be checked: %s", r.ItemID, it.Standard.ID, it.Number, r.Reason)
		}
	}
	if len(judged) != len(builtin)+len(clusterResources) {
		t.Errorf("%d items judged, want %d", len(judged), len(builtin)+len(clusterResources))
	}
	for i, res := range clusterResources {
		if v := judged[uint64(9200001+i)]; v.Result != checks.ResultPassed {
			t.Errorf("%s: %s %s %s", res, v.Status, v.Result, v.Reason)
		}
	}
	byOp := rep.KubeCallsByOp
	var ops []string
	for op := range byOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, res := range clusterResources {
		if byOp["GET "+res] == 0 {
			t.Errorf("%s was not listed; calls: %v", res, ops)
		}
	}
	for _, op := range ops {
		if !strings.HasPrefix(op, "GET ") {
			t.Errorf("the scan made a %s call", op)
		}
	}

	// The same token reads nothing else and writes nothing.
	_, err = cs.CoreV1().Pods(namespace).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "intruder"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("creating a pod as baseline: %v, want Forbidden", err)
	}
	if _, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing secrets as baseline: %v, want Forbidden", err)
	}
	if w, err := cs.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		if w != nil {
			w.Stop()
		}
		t.Errorf("watching pods as baseline: %v, want Forbidden", err)
	}
	_, nodeCS := asServiceAccount(t, s, "baseline-node")
	if _, err := nodeCS.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1}); !apierrors.IsForbidden(err) {
		t.Errorf("listing pods as baseline-node: %v, want Forbidden", err)
	}
}

// asServiceAccount gets a token for a service account of the namespace
// through the TokenRequest API and writes a kubeconfig that uses it.
func asServiceAccount(t *testing.T, s *kubetest.Server, name string) (string, *kubernetes.Clientset) {
	t.Helper()
	ttl := int64(3600)
	tr, err := s.Client().CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &ttl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthority: s.Config.CAFile}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name}
	kc.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return path, kubernetes.NewForConfigOrDie(cfg)
}
