package kube

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/baselinehq/baseline/checks"
)

// object converts a typed API object to the unstructured document the API
// returns (int64 numbers, omitted empty fields), as Objects yields it.
func object(t *testing.T, kind string, obj runtime.Object) Object {
	t.Helper()
	doc, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	m := obj.(metav1.Object)
	return Object{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName(), Doc: doc}
}

// lists serves all() from fixed lists and records what was asked.
type lists struct {
	objs  map[string][]Object
	asked []string
}

func (l *lists) all(resource string) ([]Object, error) {
	l.asked = append(l.asked, resource)
	return l.objs[resource], nil
}

func derived(t *testing.T, o Object) map[string]any {
	t.Helper()
	d, ok := o.Doc[DerivedKey].(map[string]any)
	if !ok {
		t.Fatalf("%s %s: no derived facts in %v", o.Kind, o.Key(), o.Doc)
	}
	return d
}

func ptr[T any](v T) *T { return &v }

// containerFacts derives one pod and returns its containers' facts by name.
func containerFacts(t *testing.T, p *corev1.Pod) map[string]map[string]any {
	t.Helper()
	objs := []Object{object(t, "pod", p)}
	if err := Derive("pods", objs, (&lists{}).all); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, c := range derived(t, objs[0])["containers"].([]any) {
		cm := c.(map[string]any)
		out[cm["name"].(string)] = cm
	}
	return out
}

func TestDerivePodSecurityContext(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "p"}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		InitContainers: []corev1.Container{{Name: "init", Image: "i"}},
		Containers: []corev1.Container{
			// Inherits runAsNonRoot and the seccomp profile from the pod.
			{Name: "plain", Image: "i"},
			// Its own uid 0 beats the pod's runAsNonRoot.
			{Name: "uid0", Image: "i", SecurityContext: &corev1.SecurityContext{RunAsUser: ptr(int64(0)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}},
			{Name: "priv", Image: "i", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}},
			{Name: "locked", Image: "i", SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
				RunAsUser: ptr(int64(1000)), RunAsNonRoot: ptr(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"net_bind_service"}}}},
			// Escalation is forced back on by CAP_SYS_ADMIN.
			{Name: "sysadmin", Image: "i", SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"CAP_SYS_ADMIN"}, Drop: []corev1.Capability{"NET_RAW"}}}},
			{Name: "rawback", Image: "i", SecurityContext: &corev1.SecurityContext{
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_RAW"}}}},
		},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "i",
			SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr(false)}}}},
	}}
	got := containerFacts(t, p)
	want := map[string]map[string]any{
		"init":     {"type": "init", "privileged": false, "allowPrivilegeEscalation": true, "runsAsRoot": false, "capabilitiesAdded": []any{}, "dropsAllCapabilities": false, "netRaw": true, "seccompProfile": "RuntimeDefault"},
		"plain":    {"type": "container", "privileged": false, "allowPrivilegeEscalation": true, "runsAsRoot": false, "netRaw": true, "seccompProfile": "RuntimeDefault"},
		"uid0":     {"runsAsRoot": true, "seccompProfile": "Unconfined"},
		"priv":     {"privileged": true, "allowPrivilegeEscalation": true, "dropsAllCapabilities": true, "netRaw": true},
		"locked":   {"allowPrivilegeEscalation": false, "runsAsRoot": false, "capabilitiesAdded": []any{"NET_BIND_SERVICE"}, "dropsAllCapabilities": true, "netRaw": false},
		"sysadmin": {"allowPrivilegeEscalation": true, "capabilitiesAdded": []any{"SYS_ADMIN"}, "dropsAllCapabilities": false, "netRaw": false},
		"rawback":  {"netRaw": true, "dropsAllCapabilities": true, "capabilitiesAdded": []any{"NET_RAW"}},
		"debug":    {"type": "ephemeral", "runsAsRoot": true, "seccompProfile": "RuntimeDefault"},
	}
	if len(got) != len(want) {
		t.Fatalf("containers = %v, want %d (init, regular and ephemeral)", got, len(want))
	}
	for name, facts := range want {
		for k, v := range facts {
			if !reflect.DeepEqual(got[name][k], v) {
				t.Errorf("container %s: %s = %#v, want %#v", name, k, got[name][k], v)
			}
		}
	}
}

func TestDerivePodRootAndSeccompDefaults(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "p"}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr(int64(0))},
		Containers: []corev1.Container{
			{Name: "bare", Image: "i"},
			// A container uid beats the pod's root uid.
			{Name: "uid", Image: "i", SecurityContext: &corev1.SecurityContext{RunAsUser: ptr(int64(65534)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("p.json")}}},
			// runAsNonRoot does not beat the pod's explicit uid 0.
			{Name: "nonroot", Image: "i", SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr(true)}},
		},
	}}
	got := containerFacts(t, p)
	for name, want := range map[string][2]any{"bare": {true, "Unset"}, "uid": {false, "Localhost"}, "nonroot": {true, "Unset"}} {
		if got[name]["runsAsRoot"] != want[0] || got[name]["seccompProfile"] != want[1] {
			t.Errorf("container %s: runsAsRoot %v seccomp %v, want %v %v", name, got[name]["runsAsRoot"], got[name]["seccompProfile"], want[0], want[1])
		}
	}
	// Nothing set at all: root, unconfined by default.
	got = containerFacts(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "q"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}})
	if got["c"]["runsAsRoot"] != true || got["c"]["seccompProfile"] != "Unset" || got["c"]["allowPrivilegeEscalation"] != true {
		t.Errorf("bare pod = %v", got["c"])
	}
}

func TestDerivePodHostProcessPortsSecrets(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "p"}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr(true)}},
		InitContainers:  []corev1.Container{{Name: "init", Image: "i", Ports: []corev1.ContainerPort{{ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP}}}},
		Containers: []corev1.Container{
			{Name: "web", Image: "i",
				Ports: []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 9090}},
				Env: []corev1.EnvVar{{Name: "PLAIN", Value: "x"},
					{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
					{Name: "FROM_CM", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"}}}},
				EnvFrom: []corev1.EnvFromSource{{Prefix: "API_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "api"}}},
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}},
			{Name: "linux", Image: "i", SecurityContext: &corev1.SecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr(false)}}},
		},
	}}
	got := containerFacts(t, p)
	checks := []struct {
		name, key string
		want      any
	}{
		{"init", "hostProcess", true},
		{"web", "hostProcess", true},
		{"linux", "hostProcess", false},
		{"init", "hostPorts", []any{"5353/UDP"}},
		{"web", "hostPorts", []any{"8080/TCP"}},
		{"linux", "hostPorts", []any{}},
		{"web", "secretEnv", []any{"DB_PASSWORD from secret db key password", "every key of secret api (prefix API_)"}},
		{"init", "secretEnv", []any{}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(got[c.name][c.key], c.want) {
			t.Errorf("container %s: %s = %#v, want %#v", c.name, c.key, got[c.name][c.key], c.want)
		}
	}
}

func TestDerivePodToken(t *testing.T) {
	sa := func(ns, name string, automount *bool) Object {
		return object(t, "serviceaccount", &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, AutomountServiceAccountToken: automount})
	}
	l := &lists{objs: map[string][]Object{"serviceaccounts": {
		sa("app", "default", nil), sa("app", "quiet", ptr(false)), sa("app", "loud", ptr(true)), sa("other", "quiet", nil),
	}}}
	pod := func(name, saName string, automount *bool) Object {
		return object(t, "pod", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
			Spec: corev1.PodSpec{ServiceAccountName: saName, AutomountServiceAccountToken: automount, Containers: []corev1.Container{{Name: "c", Image: "i"}}}})
	}
	pods := []Object{
		pod("implicit-default", "", nil),        // default SA, unset: mounted
		pod("sa-says-no", "quiet", nil),         // the SA's false applies
		pod("pod-says-yes", "quiet", ptr(true)), // the pod's field wins
		pod("pod-says-no", "loud", ptr(false)),
		pod("sa-unset-elsewhere", "loud", nil),
		pod("missing-sa", "gone", nil), // unknown SA: the default, mounted
	}
	if err := Derive("pods", pods, l.all); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]any{
		"implicit-default": {"default", true}, "sa-says-no": {"quiet", false}, "pod-says-yes": {"quiet", true},
		"pod-says-no": {"loud", false}, "sa-unset-elsewhere": {"loud", true}, "missing-sa": {"gone", true},
	}
	for _, p := range pods {
		d := derived(t, p)
		if w := want[p.Name]; d["serviceAccountName"] != w[0] || d["automountServiceAccountToken"] != w[1] {
			t.Errorf("pod %s: service account %v, automount %v; want %v %v", p.Name, d["serviceAccountName"], d["automountServiceAccountToken"], w[0], w[1])
		}
	}
	if fmt.Sprint(l.asked) != "[serviceaccounts]" {
		t.Errorf("pods read %v, want the service accounts once", l.asked)
	}
}

func TestDeriveNamespacesAndServiceAccounts(t *testing.T) {
	pod := func(ns, name, sa string) Object {
		return object(t, "pod", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "c", Image: "i"}}}})
	}
	np := func(ns, name string) Object {
		return object(t, "networkpolicy", &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	}
	l := &lists{objs: map[string][]Object{
		"pods":            {pod("a", "1", ""), pod("a", "2", "web"), pod("a", "3", "web"), pod("b", "1", "web")},
		"networkpolicies": {np("a", "deny"), np("a", "allow-dns"), np("c", "deny")},
	}}
	nss := []Object{}
	for _, n := range []string{"a", "b", "c", "empty"} {
		nss = append(nss, object(t, "namespace", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}))
	}
	if err := Derive("namespaces", nss, l.all); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{"a": {3, 2}, "b": {1, 0}, "c": {0, 1}, "empty": {0, 0}}
	for _, ns := range nss {
		d := derived(t, ns)
		if w := want[ns.Name]; d["pods"] != w[0] || d["networkPolicies"] != w[1] {
			t.Errorf("namespace %s: pods %v network policies %v, want %v", ns.Name, d["pods"], d["networkPolicies"], w)
		}
	}

	sas := []Object{}
	for _, k := range [][2]string{{"a", "default"}, {"a", "web"}, {"b", "web"}, {"b", "default"}} {
		sas = append(sas, object(t, "serviceaccount", &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: k[0], Name: k[1]}}))
	}
	if err := Derive("serviceaccounts", sas, l.all); err != nil {
		t.Fatal(err)
	}
	wantSA := map[string]int64{"a/default": 1, "a/web": 2, "b/web": 1, "b/default": 0}
	for _, sa := range sas {
		if got := derived(t, sa)["pods"]; got != wantSA[sa.Key()] {
			t.Errorf("service account %s: pods %v, want %d", sa.Key(), got, wantSA[sa.Key()])
		}
	}
	// The other resources were read, never written.
	for _, p := range l.objs["pods"] {
		if _, ok := p.Doc[DerivedKey]; ok {
			t.Errorf("pod %s was given derived facts by another resource's derivation", p.Key())
		}
	}
}

func TestDeriveGrants(t *testing.T) {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "mixed"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, Verbs: []string{"escalate", "bind"}},
		{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests/approval"}, Verbs: []string{"update"}},
		// Resource names do not narrow the grant's string.
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"one"}, Verbs: []string{"get"}},
		{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
		{NonResourceURLs: []string{"/metrics", "*"}, Verbs: []string{"get"}},
	}}
	empty := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "empty"}}
	objs := []Object{object(t, "clusterrole", role)}
	if err := Derive("clusterroles", objs, (&lists{}).all); err != nil {
		t.Fatal(err)
	}
	want := []any{"get secrets", "list secrets", "get configmaps", "list configmaps", "escalate clusterroles", "bind clusterroles",
		"update certificatesigningrequests/approval", "* *", "get /metrics", "get *"}
	if got := derived(t, objs[0])["grants"]; !reflect.DeepEqual(got, want) {
		t.Errorf("grants = %v\nwant     %v", got, want)
	}
	roles := []Object{object(t, "role", empty)}
	if err := Derive("roles", roles, (&lists{}).all); err != nil {
		t.Fatal(err)
	}
	if got := derived(t, roles[0])["grants"]; !reflect.DeepEqual(got, []any{}) {
		t.Errorf("a role without rules grants %#v, want nothing", got)
	}
}

func TestDeriveSubjects(t *testing.T) {
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "b"},
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:masters"}, {Kind: "User", Name: "alice"},
			{Kind: "ServiceAccount", Name: "ci"}, {Kind: "ServiceAccount", Namespace: "tools", Name: "deployer"}}}
	objs := []Object{object(t, "rolebinding", rb)}
	if err := Derive("rolebindings", objs, (&lists{}).all); err != nil {
		t.Fatal(err)
	}
	want := []any{"Group system:masters", "User alice", "ServiceAccount app/ci", "ServiceAccount tools/deployer"}
	if got := derived(t, objs[0])["subjects"]; !reflect.DeepEqual(got, want) {
		t.Errorf("subjects = %v, want %v", got, want)
	}
}

func TestDeriveListErrors(t *testing.T) {
	failing := func(r string) ([]Object, error) { return nil, errors.New("forbidden: " + r) }
	for res, needs := range map[string]string{"pods": "serviceaccounts", "namespaces": "pods", "serviceaccounts": "pods"} {
		err := Derive(res, []Object{{Kind: "x", Name: "n", Doc: map[string]any{}}}, failing)
		if err == nil || !strings.Contains(err.Error(), "forbidden: "+needs) {
			t.Errorf("Derive(%s) with %s unreadable = %v, want the error", res, needs, err)
		}
	}
	// Resources without derivations, and those needing nothing else, never list.
	for _, res := range []string{"nodes", "networkpolicies", "roles", "clusterroles", "rolebindings", "clusterrolebindings"} {
		if err := Derive(res, nil, failing); err != nil {
			t.Errorf("Derive(%s) = %v", res, err)
		}
	}
}

// Every resource a kube source may name (checks.KubeResources) can be
// listed, and nothing else is.
func TestResourcesMatchTheChecks(t *testing.T) {
	if len(resources) != len(checks.KubeResources) {
		t.Fatalf("%d listable resources, %d in checks.KubeResources", len(resources), len(checks.KubeResources))
	}
	for _, r := range checks.KubeResources {
		if _, ok := resources[r]; !ok {
			t.Errorf("checks.KubeResources names %q, which the client cannot list", r)
		}
	}
}
