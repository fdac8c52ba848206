package scan

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
)

// kubeComponents are the processes that make a host a Kubernetes node.
var kubeComponents = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubelet", "kube-proxy"}

// nodeComponents lists the Kubernetes components running on the host.
func (h *hostContext) nodeComponents() ([]string, error) {
	var found []string
	for _, name := range kubeComponents {
		procs, err := h.root.FindProcesses(name)
		if err != nil {
			return nil, err
		}
		if len(procs) > 0 {
			found = append(found, name)
		}
	}
	return found, nil
}

// kubeDiscovery finds the Kubernetes assets: this host as a node when a
// component runs on it, and the cluster when one is configured.
type kubeDiscovery struct {
	client  *kube.Client
	info    kube.Info
	infoErr error
}

// connect reaches the cluster when one is configured; an unreachable
// cluster is still an asset, recorded as failed with the reason.
func (d *discovery) kubeCluster(ctx context.Context, opts Options) (*target, *kubeDiscovery) {
	if opts.NoKube || opts.KubeClient == nil && !kube.Configured(opts.Kube) {
		return nil, nil
	}
	kd := &kubeDiscovery{client: opts.KubeClient}
	name := opts.Kube.Name
	if kd.client == nil {
		kd.client, kd.infoErr = kube.Connect(opts.Kube)
	}
	if kd.infoErr == nil {
		kd.info, kd.infoErr = kd.client.Info(ctx)
	}
	if name == "" {
		name = kd.info.Name
	}
	if name == "" {
		name = "kubernetes"
	}
	a := assets.Asset{Type: assets.K8s, Name: name, Ref: kd.info.UID,
		Cluster: &assets.ClusterDetails{ClusterName: name, Version: kd.info.Version}}
	if kd.infoErr != nil {
		// Without the cluster's identity, the id derives from where it
		// was looked for, so that rescans find the same failed asset.
		a.ID = assets.StableID(assets.K8s, "cluster", name, kd.info.Server)
		return &target{asset: a, role: checks.TargetCluster, failure: kd.infoErr.Error(),
			suggestion: "check the kubeconfig (--kubeconfig, KUBECONFIG), that the API server answers, and that the credentials may list the objects (deploy/kubernetes/rbac.yaml)"}, kd
	}
	a.ID = assets.StableID(assets.K8s, "cluster", kd.info.UID)
	a.NodeName = name
	// The node list is one paged call, shared with items on nodes.
	nodes, err := kd.client.Objects(ctx, "nodes")
	if err != nil {
		logger(opts).Warn("could not list the cluster's nodes", "cluster", name, "err", err)
	}
	for _, n := range nodes {
		a.Cluster.Nodes = append(a.Cluster.Nodes, n.Name)
	}
	return &target{asset: a, role: checks.TargetCluster, facts: &clusterFacts{client: kd.client}, version: strings.TrimPrefix(kd.info.Version, "v")}, kd
}

func logger(opts Options) *slog.Logger {
	if opts.Logger != nil {
		return opts.Logger
	}
	return slog.Default()
}

// NodeName names a host as a Kubernetes node and in a task's scope: the
// configured name (--node-name, kubernetes.node_name) when set, then
// NODE_NAME (a pod's node), then the host's own name.
func NodeName(configured, hostName string) string {
	if configured != "" {
		return configured
	}
	if n := os.Getenv("NODE_NAME"); n != "" {
		return n
	}
	return hostName
}

// kubeNode describes this host as a node of the cluster. It returns nil
// when no Kubernetes component runs on it, unless a node is expected: then
// the node is a target that failed, with the reason.
func (d *discovery) kubeNode(host assets.Asset, opts Options, kd *kubeDiscovery) *target {
	comps, err := d.hc.nodeComponents()
	if len(comps) == 0 && !opts.ExpectNode {
		if err != nil {
			logger(opts).Debug("no process table to find Kubernetes components in", "err", err)
		}
		return nil
	}
	node := NodeName(opts.NodeName, host.Name)
	cluster := opts.Kube.Name
	version := ""
	if kd != nil && kd.infoErr == nil {
		cluster, version = kd.info.Name, kd.info.Version
	}
	name := node
	if cluster != "" {
		name = cluster + "/" + node
	}
	t := &target{role: checks.TargetNode, version: strings.TrimPrefix(version, "v"),
		asset: assets.Asset{ID: assets.StableID(assets.K8s, "node", host.Ref), Type: assets.K8s, Name: name, Ref: host.Ref, NodeName: node,
			Cluster: &assets.ClusterDetails{ClusterName: cluster, Version: version, Components: comps}}}
	if len(comps) == 0 {
		t.failure = fmt.Sprintf("no Kubernetes component (%s) in the process table under %s", strings.Join(kubeComponents, ", "), d.hc.root.Dir())
		if err != nil {
			t.failure += ": " + err.Error()
		}
		t.suggestion = "make the host's /proc visible under the host root (mount / with its submounts, or share the host's PID namespace and mount /proc), or do not expect a node here"
		return t
	}
	t.facts = &assetFacts{host: d.hc}
	return t
}

// clusterFacts serves kube sources from the cluster's API: each resource
// is listed once per scan and its derived facts computed once.
type clusterFacts struct {
	client  *kube.Client
	derived sync.Map // resource → *derivedList
	// observed caches each source's subjects: items on the same objects
	// share one list of subjects.
	observed sync.Map // resources and excludes → *observedList
	// pass, when set, is what the cluster pass judged (prepare): the
	// sources it covers are not listed again.
	pass *clusterPass
}

type observedList struct {
	once sync.Once
	obs  checks.Observation
	err  error
}

type derivedList struct {
	once sync.Once
	objs []kube.Object
	err  error
}

var _ checks.Facts = (*clusterFacts)(nil)

// objects lists a resource with its derived facts.
func (f *clusterFacts) objects(ctx context.Context, resource string) ([]kube.Object, error) {
	v, _ := f.derived.LoadOrStore(resource, &derivedList{})
	d := v.(*derivedList)
	d.once.Do(func() {
		d.objs, d.err = f.client.Objects(ctx, resource)
		if d.err == nil {
			d.err = kube.Derive(resource, d.objs, func(r string) ([]kube.Object, error) { return f.client.Objects(ctx, r) })
		}
	})
	return d.objs, d.err
}

// Observe implements checks.Facts: every object of the resources that no
// exclude pattern names is one subject.
func (f *clusterFacts) Observe(ctx context.Context, src *checks.Source) (checks.Observation, error) {
	if src.Kind != checks.SourceKube {
		return checks.Observation{}, fmt.Errorf("source kind %s does not read the cluster (target the item at node)", src.Kind)
	}
	if f.pass != nil {
		if obs, ok, err := f.pass.observation(src); ok {
			return obs, err
		}
	}
	v, _ := f.observed.LoadOrStore(sourceKey(src), &observedList{})
	l := v.(*observedList)
	l.once.Do(func() { l.obs, l.err = f.observe(ctx, src) })
	return l.obs, l.err
}

func (f *clusterFacts) observe(ctx context.Context, src *checks.Source) (checks.Observation, error) {
	what := strings.Join(src.Resources, " and ")
	obs := checks.Observation{Collection: what}
	excluded := 0
	for _, r := range src.Resources {
		objs, err := f.objects(ctx, r)
		if err != nil {
			return checks.Observation{}, err
		}
		for _, o := range objs {
			if excludedObject(o, src.Exclude) {
				excluded++
				continue
			}
			obs.Subjects = append(obs.Subjects, checks.Subject{Name: o.Kind + " " + o.Key(), Doc: o.Doc})
		}
	}
	if len(obs.Subjects) == 0 {
		obs.Empty = emptyCluster(src, excluded)
	}
	return obs, nil
}

func excludedObject(o kube.Object, patterns []string) bool {
	key := o.Key()
	for _, p := range patterns {
		if ok, _ := path.Match(p, key); ok {
			return true
		}
	}
	return false
}
