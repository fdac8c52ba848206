package scan

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/kubetest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
)

// cisKube is the CIS Kubernetes standard that the test API server's version
// (1.37) maps to; cisKubeBefore judges 1.32 and 1.33.
const (
	cisKube       = "cis-kubernetes-2.0"
	cisKubeBefore = "cis-kubernetes-1.12"
)

// policyItems returns the section 5 items of the CIS Kubernetes standard by
// number.
func policyItems(t testing.TB, cat *checks.Catalog) map[string]*checks.Item {
	t.Helper()
	return standardPolicyItems(t, cat, cisKube)
}

// standardPolicyItems returns the section 5 items of a CIS Kubernetes
// standard by number.
func standardPolicyItems(t testing.TB, cat *checks.Catalog, stdID string) map[string]*checks.Item {
	t.Helper()
	std, ok := cat.Standard(stdID)
	if !ok {
		t.Fatalf("%s is not built in", stdID)
	}
	out := map[string]*checks.Item{}
	for _, it := range std.Items {
		if strings.HasPrefix(it.Number, "5.") {
			out[it.Number] = it
		}
	}
	if len(out) != 34 {
		t.Fatalf("%d section 5 items, want the benchmark's 34", len(out))
	}
	return out
}

// scanPolicies scans the cluster with the CIS Kubernetes standard and
// returns each section 5 verdict on the cluster asset by number.
func scanPolicies(t testing.TB, s *kubetest.Server, cat *checks.Catalog, items map[string]*checks.Item) (map[string]checks.Verdict, *results.Report) {
	t.Helper()
	rep, err := Run(context.Background(), cat, Options{NoDocker: true, HostRoot: t.TempDir(), Kube: kube.Options{Kubeconfig: s.Kubeconfig},
		Types: []assets.Type{assets.K8s}, Standards: []string{cisKube}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Assets) != 1 || rep.Assets[0].Type != assets.K8s || len(rep.Failures) != 0 {
		t.Fatalf("assets %+v, failures %+v: want the cluster only, read without failure", rep.Assets, rep.Failures)
	}
	got := testhost.Verdicts(t, rep, rep.Assets[0].ID)
	out := map[string]checks.Verdict{}
	for num := range items {
		v, ok := got[num]
		if !ok {
			t.Fatalf("no result for %s on the cluster", num)
		}
		out[num] = v
	}
	return out, rep
}

func sortedNumbers(m map[string]*checks.Item) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ---- objects ----

func boolp(v bool) *bool    { return &v }
func int64p(v int64) *int64 { return &v }

// hardenedPod passes every pod item: its own service account without a
// token, a non-root user, no escalation, no capabilities, the runtime's
// seccomp profile, a secret as a file and a container port that is not a
// host port. It is admitted under the restricted Pod Security Standard.
func hardenedPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{
		ServiceAccountName: "app",
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: boolp(true), RunAsUser: int64p(1000),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: boolp(false), ReadOnlyRootFilesystem: boolp(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds", ReadOnly: true}}}},
		Volumes: []corev1.Volume{{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}}},
	}}
}

// variant is the hardened pod with one change.
func variant(ns, name string, change func(p *corev1.Pod, c *corev1.Container)) *corev1.Pod {
	p := hardenedPod(ns, name)
	change(p, &p.Spec.Containers[0])
	return p
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func rule(groups, resources, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
}

func crb(name, role string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: subjects}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: "Group", Name: name}
}

// objects creates API objects, failing the test on the first error.
type objects struct {
	t  testing.TB
	s  *kubetest.Server
	cs *kubernetes.Clientset
}

func (o objects) namespace(name string, labels map[string]string, policies int) {
	o.t.Helper()
	ctx := context.Background()
	if err := o.s.Namespace(name); err != nil {
		o.t.Fatal(err)
	}
	if len(labels) > 0 {
		ns, err := o.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			o.t.Fatal(err)
		}
		ns.Labels = labels
		if _, err := o.cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
			o.t.Fatal(err)
		}
	}
	for i := range policies {
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: fmt.Sprintf("deny-%d", i)},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
		if _, err := o.cs.NetworkingV1().NetworkPolicies(name).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			o.t.Fatal(err)
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "app"}, AutomountServiceAccountToken: boolp(false)}
	if _, err := o.cs.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		o.t.Fatal(err)
	}
}

func (o objects) pods(pods ...*corev1.Pod) {
	o.t.Helper()
	for _, p := range pods {
		if _, err := o.cs.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			o.t.Fatalf("pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
}

func (o objects) clusterRoles(roles ...*rbacv1.ClusterRole) {
	o.t.Helper()
	for _, r := range roles {
		if _, err := o.cs.RbacV1().ClusterRoles().Create(context.Background(), r, metav1.CreateOptions{}); err != nil {
			o.t.Fatalf("cluster role %s: %v", r.Name, err)
		}
	}
}

func (o objects) bindings(bs ...*rbacv1.ClusterRoleBinding) {
	o.t.Helper()
	for _, b := range bs {
		if _, err := o.cs.RbacV1().ClusterRoleBindings().Create(context.Background(), b, metav1.CreateOptions{}); err != nil {
			o.t.Fatalf("cluster role binding %s: %v", b.Name, err)
		}
	}
}

// TestClusterPolicies judges the section 5 items on one real API server in
// three states:
//
//  1. fresh: only what the API server bootstraps (system:* roles and
//     bindings, cluster-admin, admin, edit, view, the four namespaces and
//     their default service accounts): every automated item passes or is
//     not applicable, and no evidence entry fails;
//  2. compliant objects of every resource the items read: every automated
//     item passes, judging them (none is left not applicable);
//  3. non-compliant objects added, each differing from a compliant one in
//     one setting: every automated item fails, and the objects named in its
//     failing evidence are exactly those expected, never a compliant one nor
//     an excluded one.
func TestClusterPolicies(t *testing.T) {
	s := kubetest.StartT(t, nil)
	cat := testhost.Builtin(t)
	items := policyItems(t, cat)
	o := objects{t: t, s: s, cs: s.Client()}

	// 1. A fresh cluster.
	fresh, _ := scanPolicies(t, s, cat, items)
	for _, num := range sortedNumbers(items) {
		v, it := fresh[num], items[num]
		if !it.Automated {
			// Manual even where the evidence source finds nothing (5.6.3
			// collects pods, and there are none).
			if v.Result != checks.ResultManual {
				t.Errorf("fresh %s: %s, want manual", num, v.Result)
			}
			continue
		}
		if v.Status != checks.CheckFinished || (v.Result != checks.ResultPassed && v.Result != checks.ResultNotApplicable) {
			t.Errorf("fresh %s: %s %s (%s), want passed or not applicable; failing: %v", num, v.Status, v.Result, v.Reason, failingObjects(v))
		}
		for _, e := range v.Evidence {
			if !e.Passed {
				t.Errorf("fresh %s: failing evidence %+v", num, e)
			}
		}
	}
	// The bootstrap bindings and service accounts are judged and pass; the
	// bootstrap cluster roles are all left out by name.
	for _, num := range []string{"5.1.1", "5.1.5", "5.1.7"} {
		if fresh[num].Result != checks.ResultPassed {
			t.Errorf("fresh %s: %s (%s), want passed on the bootstrap objects", num, fresh[num].Result, fresh[num].Reason)
		}
	}
	for _, num := range []string{"5.1.2", "5.1.3", "5.1.4", "5.1.8", "5.1.9", "5.1.10", "5.1.11", "5.1.12", "5.1.13"} {
		if v := fresh[num]; v.Result != checks.ResultNotApplicable || !strings.Contains(v.Reason, "the cluster has no roles or clusterroles besides") ||
			!strings.Contains(v.Reason, "excluded (system:*, cluster-admin, admin, edit, view, */system:*, kube-system/extension-apiserver-authentication-reader)") {
			t.Errorf("fresh %s: %s (%s), want not applicable: every role and cluster role is a bootstrap one", num, v.Result, v.Reason)
		}
	}

	// 2. Compliant objects only.
	o.namespace("secure", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, 1)
	o.namespace("empty", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}, 0) // no pods: needs no policy
	o.pods(hardenedPod("secure", "hardened"))
	o.clusterRoles(
		clusterRole("reader", rule([]string{"", "apps"}, []string{"pods", "configmaps", "deployments"}, []string{"get", "list", "watch"})),
		clusterRole("webhook-viewer", rule([]string{"admissionregistration.k8s.io"}, []string{"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}, []string{"get", "list"})),
		clusterRole("sa-viewer", rule([]string{""}, []string{"serviceaccounts", "nodes"}, []string{"get"})),
		clusterRole("aggregated-empty"), // no rules at all
	)
	o.bindings(crb("readers", "reader", group("readers")), crb("kubeadm-admins", "cluster-admin", group("kubeadm:cluster-admins")))

	compliant, _ := scanPolicies(t, s, cat, items)
	for _, num := range sortedNumbers(items) {
		if v := compliant[num]; items[num].Automated && v.Result != checks.ResultPassed {
			t.Errorf("compliant %s: %s (%s), want passed; failing: %v", num, v.Result, v.Reason, failingObjects(v))
		}
	}

	// 3. Non-compliant objects beside them.
	o.namespace("lab", nil, 1) // no Pod Security Admission label
	o.namespace("privns", map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}, 1)
	o.namespace("nopolicy", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, 0)
	o.namespace("default", nil, 1)
	o.pods(
		hardenedPod("nopolicy", "hardened"),
		hardenedPod("default", "indefault"),
		variant("lab", "priv", func(p *corev1.Pod, c *corev1.Container) {
			// A privileged init container: init containers are judged too.
			p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox",
				SecurityContext: &corev1.SecurityContext{Privileged: boolp(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}
		}),
		variant("lab", "hostpid", func(p *corev1.Pod, c *corev1.Container) { p.Spec.HostPID = true }),
		variant("lab", "hostipc", func(p *corev1.Pod, c *corev1.Container) { p.Spec.HostIPC = true }),
		// On the host network, the container port becomes a host port.
		variant("lab", "hostnet", func(p *corev1.Pod, c *corev1.Container) { p.Spec.HostNetwork = true }),
		variant("lab", "escalate", func(p *corev1.Pod, c *corev1.Container) { c.SecurityContext.AllowPrivilegeEscalation = nil }),
		// The container's uid 0 beats the pod's non-root settings.
		variant("lab", "root", func(p *corev1.Pod, c *corev1.Container) { c.SecurityContext.RunAsUser = int64p(0) }),
		variant("lab", "netraw", func(p *corev1.Pod, c *corev1.Container) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"NET_RAW"}
		}),
		variant("lab", "bindsvc", func(p *corev1.Pod, c *corev1.Container) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}),
		variant("lab", "keepcaps", func(p *corev1.Pod, c *corev1.Container) { c.SecurityContext.Capabilities = nil }),
		variant("lab", "hostproc", func(p *corev1.Pod, c *corev1.Container) {
			p.Spec.HostNetwork = true
			p.Spec.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: boolp(true)}
		}),
		variant("lab", "hostpath", func(p *corev1.Pod, c *corev1.Container) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}})
		}),
		variant("lab", "hostport", func(p *corev1.Pod, c *corev1.Container) { c.Ports[0].HostPort = 8443 }),
		variant("lab", "secretenv", func(p *corev1.Pod, c *corev1.Container) {
			c.Env = []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}}
			c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "api"}}}}
		}),
		variant("lab", "unconfined", func(p *corev1.Pod, c *corev1.Container) {
			c.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}),
		variant("lab", "noseccomp", func(p *corev1.Pod, c *corev1.Container) { p.Spec.SecurityContext.SeccompProfile = nil }),
		variant("lab", "token", func(p *corev1.Pod, c *corev1.Container) { p.Spec.AutomountServiceAccountToken = boolp(true) }),
		// The namespace's default service account, which mounts its token.
		variant("lab", "usesdefault", func(p *corev1.Pod, c *corev1.Container) { p.Spec.ServiceAccountName = "" }),
		// No security context anywhere; its service account mounts no token.
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "lab", Name: "bare"},
			Spec: corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
		// Excluded: kube-system runs the cluster's own privileged pods.
		variant("kube-system", "proxy", func(p *corev1.Pod, c *corev1.Container) {
			p.Spec.HostNetwork, p.Spec.ServiceAccountName = true, ""
			c.SecurityContext = &corev1.SecurityContext{Privileged: boolp(true)}
		}),
	)
	all := []string{"*"}
	o.clusterRoles(
		clusterRole("secret-reader", rule([]string{""}, []string{"secrets"}, []string{"get"})),
		clusterRole("lister-all", rule([]string{""}, all, []string{"list"})),
		clusterRole("wild-group", rule(all, []string{"deployments"}, []string{"get"})),
		clusterRole("pod-creator", rule([]string{""}, []string{"pods"}, []string{"create"})),
		clusterRole("impersonator", rule([]string{""}, []string{"users", "groups"}, []string{"impersonate"})),
		clusterRole("escalator", rule([]string{"rbac.authorization.k8s.io"}, []string{"clusterroles"}, []string{"escalate", "bind"})),
		clusterRole("pv-creator", rule([]string{""}, []string{"persistentvolumes"}, []string{"create"})),
		clusterRole("node-proxy", rule([]string{""}, []string{"nodes/proxy"}, []string{"get"})),
		clusterRole("csr-approver", rule([]string{"certificates.k8s.io"}, []string{"certificatesigningrequests/approval"}, []string{"update"})),
		clusterRole("webhook-admin", rule([]string{"admissionregistration.k8s.io"}, []string{"mutatingwebhookconfigurations"}, []string{"patch"})),
		clusterRole("token-minter", rule([]string{""}, []string{"serviceaccounts/token"}, []string{"create"})),
		// Excluded by name, as the bootstrap roles are.
		clusterRole("system:custom-controller", rule(all, all, all)),
	)
	o.bindings(
		crb("alice-admin", "cluster-admin", rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: "User", Name: "alice"}),
		crb("ci-admin", "cluster-admin", rbacv1.Subject{Kind: "ServiceAccount", Namespace: "lab", Name: "ci"}),
		crb("masters-view", "view", group("system:masters")),
	)
	// Namespaced roles and bindings are judged alike.
	ctx := context.Background()
	for _, r := range []*rbacv1.Role{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "lab", Name: "secret-getter"}, Rules: []rbacv1.PolicyRule{rule([]string{""}, []string{"secrets"}, []string{"get"})}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "lab", Name: "config-reader"}, Rules: []rbacv1.PolicyRule{rule([]string{""}, []string{"configmaps"}, []string{"get"})}},
	} {
		if _, err := o.cs.RbacV1().Roles("lab").Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []*rbacv1.RoleBinding{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "lab", Name: "lab-admin"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "bob"}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "lab", Name: "masters-edit"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
			Subjects: []rbacv1.Subject{group("system:masters")}},
	} {
		if _, err := o.cs.RbacV1().RoleBindings("lab").Create(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string][]string{
		"5.1.1":  {"clusterrolebinding alice-admin", "clusterrolebinding ci-admin", "rolebinding lab/lab-admin"},
		"5.1.2":  {"clusterrole lister-all", "clusterrole secret-reader", "role lab/secret-getter"},
		"5.1.3":  {"clusterrole lister-all", "clusterrole wild-group"},
		"5.1.4":  {"clusterrole pod-creator"},
		"5.1.5":  {"serviceaccount lab/default"},
		"5.1.6":  {"pod lab/token", "pod lab/usesdefault"},
		"5.1.7":  {"clusterrolebinding masters-view", "rolebinding lab/masters-edit"},
		"5.1.8":  {"clusterrole escalator", "clusterrole impersonator"},
		"5.1.9":  {"clusterrole pv-creator"},
		"5.1.10": {"clusterrole lister-all", "clusterrole node-proxy"},
		"5.1.11": {"clusterrole csr-approver"},
		"5.1.12": {"clusterrole webhook-admin"},
		"5.1.13": {"clusterrole token-minter"},
		"5.2.1":  {"namespace lab", "namespace privns"},
		"5.2.2":  {"pod lab/priv"},
		"5.2.3":  {"pod lab/hostpid"},
		"5.2.4":  {"pod lab/hostipc"},
		"5.2.5":  {"pod lab/hostnet", "pod lab/hostproc"},
		"5.2.6":  {"pod lab/bare", "pod lab/escalate", "pod lab/priv"},
		"5.2.7":  {"pod lab/bare", "pod lab/root"},
		"5.2.8":  {"pod lab/bare", "pod lab/keepcaps", "pod lab/netraw", "pod lab/priv"},
		"5.2.9":  {"pod lab/bare", "pod lab/bindsvc", "pod lab/keepcaps", "pod lab/netraw"},
		"5.2.10": {"pod lab/hostproc"},
		"5.2.11": {"pod lab/hostpath"},
		"5.2.12": {"pod lab/hostnet", "pod lab/hostport", "pod lab/hostproc"},
		"5.3.2":  {"namespace nopolicy"},
		"5.4.1":  {"pod lab/secretenv"},
		"5.6.2":  {"pod lab/bare", "pod lab/noseccomp", "pod lab/unconfined"},
		"5.6.3":  {"pod lab/bare"}, // manual: evidence for the reviewer
		"5.6.4":  {"pod default/indefault"},
	}
	never := []string{"pod secure/hardened", "pod nopolicy/hardened", "pod kube-system/proxy", "namespace secure", "namespace empty",
		"namespace kube-system", "namespace default", "clusterrole reader", "clusterrole webhook-viewer", "clusterrole sa-viewer",
		"clusterrole aggregated-empty", "clusterrole system:custom-controller", "clusterrole cluster-admin", "clusterrole admin", "clusterrole edit",
		"clusterrolebinding readers", "clusterrolebinding kubeadm-admins", "clusterrolebinding cluster-admin",
		"serviceaccount secure/default", "serviceaccount kube-system/default", "role lab/config-reader"}

	mixed, rep := scanPolicies(t, s, cat, items)
	for _, num := range sortedNumbers(items) {
		v, it := mixed[num], items[num]
		w, judged := want[num]
		if !judged {
			if it.Automated || v.Result != checks.ResultManual {
				t.Errorf("%s: automated %v, %s: every automated item needs a case here", num, it.Automated, v.Result)
			}
			continue
		}
		wantResult := checks.ResultFailed
		if !it.Automated {
			wantResult = checks.ResultManual
		}
		got := failingObjects(v)
		sort.Strings(got)
		if v.Status != checks.CheckFinished || v.Result != wantResult || fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s %s: %s %s (%s)\n failing %v\n want    %v", num, it.Title, v.Status, v.Result, v.Reason, got, w)
		}
		for _, n := range never {
			for _, g := range got {
				if g == n {
					t.Errorf("%s: compliant or excluded %s is named as failing", num, n)
				}
			}
		}
	}
	// Evidence says what failed, in the object's own terms.
	for num, wantIn := range map[string]string{
		"5.2.2":  "setup",                                   // the privileged container's name
		"5.4.1":  "DB_PASSWORD from secret db key password", // variables and secrets, never values
		"5.2.12": "8443/TCP",
		"5.1.2":  "get secrets",
		"5.2.11": "/var/log",
	} {
		found := false
		for _, e := range mixed[num].Evidence {
			found = found || !e.Passed && strings.Contains(e.Actual, wantIn)
		}
		if !found {
			t.Errorf("%s: no failing evidence shows %q: %+v", num, wantIn, mixed[num].Evidence)
		}
	}
	if got := mixed["5.2.2"].Evidence[0].Actual; !strings.HasPrefix(got, "20 of 21 pods pass") {
		t.Errorf("5.2.2 summary %q, want 20 of 21 pods (kube-system's left out)", got)
	}
	// Each resource is listed once per scan: pods, service accounts and
	// network policies are read by several items and derivations.
	for _, op := range []string{"GET pods", "GET serviceaccounts", "GET networkpolicies", "GET namespaces", "GET clusterroles", "GET clusterrolebindings"} {
		if n := rep.KubeCallsByOp[op]; n != 1 {
			t.Errorf("%s: %d calls, want 1 (calls %v)", op, n, rep.KubeCallsByOp)
		}
	}
	assertVersionMapping(t, s, cat, mixed)
}

// assertVersionMapping: a scan that names no standard judges the test API
// server (Kubernetes 1.37) by CIS Kubernetes 2.0, with the verdicts want,
// and reports every 1.12 item not applicable for the version; 1.12 chosen
// by name whatever the version judges the same objects alike.
func assertVersionMapping(t *testing.T, s *kubetest.Server, cat *checks.Catalog, want map[string]checks.Verdict) {
	t.Helper()
	opts := Options{NoDocker: true, HostRoot: t.TempDir(), Kube: kube.Options{Kubeconfig: s.Kubeconfig}, Types: []assets.Type{assets.K8s}}
	rep, err := Run(context.Background(), cat, opts)
	if err != nil {
		t.Fatal(err)
	}
	cluster := testhost.OnlyAsset(t, rep, assets.K8s)
	same := func(what, num string, v checks.Verdict) {
		t.Helper()
		w := want[num]
		got, wantObjects := failingObjects(v), failingObjects(w)
		sort.Strings(got)
		sort.Strings(wantObjects)
		if v.Status != w.Status || v.Result != w.Result || fmt.Sprint(got) != fmt.Sprint(wantObjects) {
			t.Errorf("%s %s: %s %s (%s) failing %v; want %s %s failing %v", what, num, v.Status, v.Result, v.Reason, got, w.Status, w.Result, wantObjects)
		}
	}
	for num, it := range policyItems(t, cat) {
		same(cisKube+" by the version", num, testhost.Result(t, rep, it.ID, cluster.ID))
	}
	before := standardPolicyItems(t, cat, cisKubeBefore)
	for num, it := range before {
		v := testhost.Result(t, rep, it.ID, cluster.ID)
		if v.Result != checks.ResultNotApplicable || !strings.Contains(v.Reason, "Kubernetes "+strings.TrimPrefix(cluster.Cluster.Version, "v")+" is outside "+cisKubeBefore+"'s range >= 1.32.0-0, < 1.34.0-0") {
			t.Errorf("%s %s by the version: %s (%s), want not applicable: the test API server is not 1.32 or 1.33", cisKubeBefore, num, v.Result, v.Reason)
		}
	}
	opts.Standards, opts.ForceVersion = []string{cisKubeBefore}, true
	if rep, err = Run(context.Background(), cat, opts); err != nil {
		t.Fatal(err)
	}
	forced := testhost.Verdicts(t, rep, cluster.ID)
	if len(forced) != len(before) {
		t.Fatalf("%d results of %s chosen by name, want its %d section 5 items", len(forced), cisKubeBefore, len(before))
	}
	for num := range before {
		same(cisKubeBefore+" by name", num, forced[num])
	}
}
