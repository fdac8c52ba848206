package kube

import (
	"fmt"
	"strings"
)

// DerivedKey is the document key under which Derive records its facts.
const DerivedKey = "baseline"

// Derive adds the facts the cluster checks need under each object's
// "baseline" key (documented in benchmarks/README.md, "Kubernetes
// objects"). all lists other resources (once per scan). Derive writes only
// the documents of objs and only reads the others; calls that read a
// resource must not run concurrently with the Derive of that resource.
func Derive(resource string, objs []Object, all func(resource string) ([]Object, error)) error {
	agg := NewAggregates()
	for _, other := range Needs(resource) {
		list, err := all(other)
		if err != nil {
			return fmt.Errorf("%s: %w", NeedsWhat(resource, other), err)
		}
		for _, o := range list {
			agg.Count(other, o)
		}
	}
	for i := range objs {
		DeriveObject(resource, &objs[i], agg)
	}
	return nil
}

// Aggregates are what the derived facts of one resource need of others:
// counts and settings by namespace or by service account, never the
// objects themselves, so that a cluster can be read page by page.
type Aggregates struct {
	// automount holds the automountServiceAccountToken of the service
	// accounts that set it, by "namespace/name".
	automount map[string]bool
	// podsByNamespace, policiesByNamespace and podsByAccount count pods
	// and network policies by namespace, and pods by "namespace/service
	// account".
	podsByNamespace, policiesByNamespace, podsByAccount map[string]int64
}

// NewAggregates returns empty aggregates.
func NewAggregates() *Aggregates {
	return &Aggregates{automount: map[string]bool{}, podsByNamespace: map[string]int64{},
		policiesByNamespace: map[string]int64{}, podsByAccount: map[string]int64{}}
}

// Needs lists the resources whose objects must be counted (Count) before
// the facts of resource's objects can be derived.
func Needs(resource string) []string {
	switch resource {
	case "pods":
		return []string{"serviceaccounts"}
	case "namespaces":
		return []string{"pods", "networkpolicies"}
	case "serviceaccounts":
		return []string{"pods"}
	}
	return nil
}

// NeedsWhat names, in an error, what the facts of resource needed of
// other (one of Needs(resource)).
func NeedsWhat(resource, other string) string {
	switch {
	case resource == "pods":
		return "pods' service accounts"
	case resource == "namespaces" && other == "pods":
		return "namespaces' pods"
	case resource == "namespaces":
		return "namespaces' network policies"
	}
	return "service accounts' pods"
}

// Count adds an object of resource to the aggregates.
func (a *Aggregates) Count(resource string, o Object) {
	switch resource {
	case "serviceaccounts":
		if v, ok := o.Doc["automountServiceAccountToken"].(bool); ok {
			a.automount[o.Key()] = v
		}
	case "pods":
		a.podsByNamespace[o.Namespace]++
		a.podsByAccount[o.Namespace+"/"+podServiceAccount(o.Doc)]++
	case "networkpolicies":
		a.policiesByNamespace[o.Namespace]++
	}
}

// DeriveObject adds the derived facts of an object of resource, from the
// aggregates of the resources it Needs.
func DeriveObject(resource string, o *Object, a *Aggregates) {
	switch resource {
	case "pods":
		setDerived(o, derivePod(*o, a.automount))
	case "namespaces":
		setDerived(o, map[string]any{"pods": a.podsByNamespace[o.Name], "networkPolicies": a.policiesByNamespace[o.Name]})
	case "serviceaccounts":
		setDerived(o, map[string]any{"pods": a.podsByAccount[o.Key()]})
	case "roles", "clusterroles":
		setDerived(o, map[string]any{"grants": strList(grants(o.Doc))})
	case "rolebindings", "clusterrolebindings":
		setDerived(o, map[string]any{"subjects": strList(subjects(*o))})
	}
}

func setDerived(o *Object, facts map[string]any) {
	if o.Doc == nil {
		o.Doc = map[string]any{}
	}
	o.Doc[DerivedKey] = facts
}

// podServiceAccount is the pod's service account: spec.serviceAccountName,
// or the deprecated spec.serviceAccount, or "default".
func podServiceAccount(doc map[string]any) string {
	spec := mapAt(doc, "spec")
	for _, k := range []string{"serviceAccountName", "serviceAccount"} {
		if s, _ := spec[k].(string); s != "" {
			return s
		}
	}
	return "default"
}

// derivePod computes a pod's effective settings. automount holds the
// automountServiceAccountToken of the service accounts that set it, by
// "namespace/name".
func derivePod(o Object, automount map[string]bool) map[string]any {
	spec := mapAt(o.Doc, "spec")
	podSC := mapAt(spec, "securityContext")
	sa := podServiceAccount(o.Doc)
	mount, ok := spec["automountServiceAccountToken"].(bool)
	if !ok {
		if mount, ok = automount[o.Namespace+"/"+sa]; !ok {
			mount = true
		}
	}
	var containers []any
	for _, kind := range []struct{ field, name string }{
		{"initContainers", "init"}, {"containers", "container"}, {"ephemeralContainers", "ephemeral"},
	} {
		for _, c := range listAt(spec, kind.field) {
			if cm, ok := c.(map[string]any); ok {
				containers = append(containers, deriveContainer(cm, kind.name, podSC))
			}
		}
	}
	if containers == nil {
		containers = []any{}
	}
	return map[string]any{
		"serviceAccountName":           sa,
		"automountServiceAccountToken": mount,
		"containers":                   containers,
	}
}

// deriveContainer merges the pod's and the container's securityContext
// into the settings the container runs with.
func deriveContainer(c map[string]any, kind string, podSC map[string]any) map[string]any {
	sc := mapAt(c, "securityContext")
	name, _ := c["name"].(string)
	privileged, _ := sc["privileged"].(bool)
	caps := mapAt(sc, "capabilities")
	added := capNames(listAt(caps, "add"))
	dropped := capNames(listAt(caps, "drop"))

	// The kernel allows escalation (no_new_privs unset) unless the field is
	// false; privileged or CAP_SYS_ADMIN containers always may escalate.
	escalation := true
	if v, ok := sc["allowPrivilegeEscalation"].(bool); ok && !v {
		escalation = false
	}
	if privileged || contains(added, "SYS_ADMIN") || contains(added, "ALL") {
		escalation = true
	}

	// Root unless the user is a non-zero uid, or runAsNonRoot holds and no
	// uid is given (the kubelet then refuses an image that runs as root).
	root := true
	if uid, ok := effective(sc, podSC, "runAsUser"); ok {
		root = asInt(uid) == 0
	} else if v, _ := effective(sc, podSC, "runAsNonRoot"); v != nil {
		nonRoot, _ := v.(bool)
		root = !nonRoot
	}

	netRaw := privileged || contains(added, "NET_RAW") || contains(added, "ALL") ||
		(!contains(dropped, "NET_RAW") && !contains(dropped, "ALL"))

	seccomp := "Unset"
	for _, s := range []map[string]any{sc, podSC} {
		if t, _ := mapAt(s, "seccompProfile")["type"].(string); t != "" {
			seccomp = t
			break
		}
	}

	hostProcess := false
	for _, s := range []map[string]any{sc, podSC} {
		if v, ok := mapAt(s, "windowsOptions")["hostProcess"].(bool); ok {
			hostProcess = v
			break
		}
	}

	hostPorts := []any{}
	for _, p := range listAt(c, "ports") {
		pm, _ := p.(map[string]any)
		if hp := asInt(pm["hostPort"]); hp > 0 {
			proto, _ := pm["protocol"].(string)
			if proto == "" {
				proto = "TCP"
			}
			hostPorts = append(hostPorts, fmt.Sprintf("%d/%s", hp, proto))
		}
	}

	secretEnv := []any{}
	for _, e := range listAt(c, "env") {
		em, _ := e.(map[string]any)
		ref := mapAt(mapAt(em, "valueFrom"), "secretKeyRef")
		if ref == nil {
			continue
		}
		envName, _ := em["name"].(string)
		secret, _ := ref["name"].(string)
		key, _ := ref["key"].(string)
		secretEnv = append(secretEnv, fmt.Sprintf("%s from secret %s key %s", envName, secret, key))
	}
	for _, e := range listAt(c, "envFrom") {
		em, _ := e.(map[string]any)
		ref := mapAt(em, "secretRef")
		if ref == nil {
			continue
		}
		secret, _ := ref["name"].(string)
		entry := "every key of secret " + secret
		if prefix, _ := em["prefix"].(string); prefix != "" {
			entry += " (prefix " + prefix + ")"
		}
		secretEnv = append(secretEnv, entry)
	}

	return map[string]any{
		"name":                     name,
		"type":                     kind,
		"privileged":               privileged,
		"allowPrivilegeEscalation": escalation,
		"runsAsRoot":               root,
		"capabilitiesAdded":        strList(added),
		"dropsAllCapabilities":     contains(dropped, "ALL"),
		"netRaw":                   netRaw,
		"seccompProfile":           seccomp,
		"hostProcess":              hostProcess,
		"hostPorts":                hostPorts,
		"secretEnv":                secretEnv,
	}
}

// effective returns the container's setting, else the pod's.
func effective(sc, podSC map[string]any, key string) (any, bool) {
	if v, ok := sc[key]; ok && v != nil {
		return v, true
	}
	if v, ok := podSC[key]; ok && v != nil {
		return v, true
	}
	return nil, false
}

// capNames normalises capability names: upper case, without "CAP_".
func capNames(l []any) []string {
	var out []string
	for _, v := range l {
		s, _ := v.(string)
		s = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "CAP_")
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// grants lists a role's rules as "verb resource" strings, one per verb and
// resource (or non-resource URL) pair: "get secrets", "create pods/exec",
// "* *", "get /metrics". API groups and resource names are not part of
// the string: a grant is judged by what it names, whichever group.
func grants(doc map[string]any) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, r := range listAt(doc, "rules") {
		rm, _ := r.(map[string]any)
		verbs := stringsOf(listAt(rm, "verbs"))
		for _, target := range append(stringsOf(listAt(rm, "resources")), stringsOf(listAt(rm, "nonResourceURLs"))...) {
			for _, v := range verbs {
				add(v + " " + target)
			}
		}
	}
	return out
}

// subjects lists a binding's subjects as "Kind name", service accounts as
// "ServiceAccount namespace/name" (the binding's namespace when the
// subject names none).
func subjects(o Object) []string {
	var out []string
	for _, s := range listAt(o.Doc, "subjects") {
		sm, _ := s.(map[string]any)
		kind, _ := sm["kind"].(string)
		name, _ := sm["name"].(string)
		if kind == "ServiceAccount" {
			ns, _ := sm["namespace"].(string)
			if ns == "" {
				ns = o.Namespace
			}
			name = ns + "/" + name
		}
		out = append(out, kind+" "+name)
	}
	return out
}

func mapAt(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func listAt(m map[string]any, key string) []any {
	v, _ := m[key].([]any)
	return v
}

func stringsOf(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func strList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// asInt reads a JSON number (int64 from the API, float64 from other
// decoders); anything else is -1.
func asInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case float64:
		return int64(n)
	}
	return -1
}
