// Package scan runs a scan: it discovers the assets of this host, collects
// their facts once, evaluates the selected items on each asset, and returns
// one result per (item, asset). An asset that cannot be checked is recorded
// as failed with its reason; the rest of the scan goes on.
package scan

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/docker"
	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
)

// Options select what a scan covers and how it reaches the host.
type Options struct {
	// Types restricts the asset types; empty means all that the selected
	// standards cover.
	Types []assets.Type
	// Standards restricts the standards by id; empty means every enabled one.
	Standards []string
	// Items restricts the items by CustomerPolicyItemId.
	Items []uint64
	// Assets restricts the assets by CustomerAssetId, name or id prefix.
	Assets []string
	// HostRoot is where the host's file system is mounted ("/" by default).
	HostRoot string
	// DockerHost overrides DOCKER_HOST; NoDocker skips the engine entirely.
	DockerHost string
	NoDocker   bool
	// Kube says how to reach the Kubernetes cluster for cluster items;
	// NoKube skips the cluster's API (node items still run when a
	// Kubernetes component runs on the host). NodeName names this host in
	// the cluster (default $NODE_NAME, then the host name).
	Kube kube.Options
	// KubeClient, when set, is the cluster's client already in use (its
	// identity and lists are shared with the caller); else one is made
	// from Kube.
	KubeClient *kube.Client
	NoKube     bool
	NodeName   string
	// ExpectNode says this host is a Kubernetes node (the DaemonSet): when
	// no component is found in its process table, the node is recorded as
	// a scan-failed asset with the reason instead of being left out.
	ExpectNode bool
	// ForceVersion judges the selected standards whatever the engine's or
	// the cluster's version (a standard chosen by name with --standard).
	ForceVersion bool
	// Workers bounds concurrent inspects and evaluations (default 8).
	Workers int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Progress, when set, is told how many checks are done out of total.
	Progress func(done, total int)
	Logger   *slog.Logger
}

// Result is the outcome of one item on one asset.
type Result struct {
	ItemID  uint64 `json:"CustomerPolicyItemId"`
	AssetID uint64 `json:"CustomerAssetId"`
	checks.Verdict
	CheckedAt time.Time `json:"LastCheckTime"`
}

// AssetFailure records an asset that could not be scanned.
type AssetFailure struct {
	AssetID    uint64    `json:"CustomerAssetId"`
	Reason     string    `json:"Reason"`
	Suggestion string    `json:"Suggestion"`
	CheckTime  time.Time `json:"CheckTime"`
}

// Report is everything one scan produced.
type Report struct {
	StartedAt  time.Time
	FinishedAt time.Time
	// Host is the scanned host, listed in Assets only when host items ran.
	Host      assets.Asset
	Standards []*checks.Standard
	Items     []*checks.Item
	Assets    []assets.Asset
	Results   []Result
	Failures  []AssetFailure
	// EngineCalls counts Engine API requests, in total and by operation.
	EngineCalls     int64
	EngineCallsByOp map[string]int
	// KubeCalls counts Kubernetes API requests, in total and by operation.
	KubeCalls     int64
	KubeCallsByOp map[string]int
}

// ErrNothingSelected is returned when the selection matches no item.
var ErrNothingSelected = fmt.Errorf("no item matches the selection")

// Run scans this host.
func Run(ctx context.Context, cat *checks.Catalog, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "scan")

	rep := &Report{StartedAt: opts.Now()}
	items, stds, err := selectItems(cat, opts)
	if err != nil {
		return nil, err
	}
	rep.Items, rep.Standards = items, stds
	need := map[assets.Type]bool{}
	for _, it := range items {
		need[it.AssetType] = true
	}

	hc := &hostContext{root: hostfs.New(opts.HostRoot), audit: newAuditEnv(opts)}
	defer hc.audit.close()
	dockerItems := need[assets.Host] || need[assets.Container] || need[assets.Image]
	if !opts.NoDocker && dockerItems {
		hc.engine, hc.engineErr = docker.Connect(opts.DockerHost)
		if hc.engineErr == nil {
			defer hc.engine.Close()
			hc.daemon, hc.engineErr = hc.engine.Daemon(ctx)
		}
		if hc.engineErr != nil {
			log.Warn("docker engine unavailable", "err", hc.engineErr)
		}
	} else if opts.NoDocker {
		hc.engineErr = fmt.Errorf("disabled by --no-docker")
	} else {
		hc.engineErr = fmt.Errorf("not needed: no selected item reads the Docker engine")
	}

	d := &discovery{hc: hc, now: opts.Now, workers: opts.Workers}
	host := d.host()
	rep.Host = host
	engineVersion := ""
	if hc.daemon != nil {
		engineVersion = hc.daemon.Version
	}
	targets := []target{{asset: host, facts: &assetFacts{host: hc}, version: engineVersion}}
	if need[assets.Container] || need[assets.Image] {
		targets = append(targets, d.engineAssets(ctx, host, need[assets.Container], need[assets.Image])...)
	}
	if need[assets.K8s] {
		var kd *kubeDiscovery
		if needTarget(items, checks.TargetCluster) {
			var cluster *target
			if cluster, kd = d.kubeCluster(ctx, opts); cluster != nil {
				targets = append(targets, *cluster)
			}
		}
		if needTarget(items, checks.TargetNode) {
			if node := d.kubeNode(host, opts, kd); node != nil {
				targets = append(targets, *node)
			}
		}
		if kd != nil && kd.client != nil {
			defer func() { rep.KubeCalls, rep.KubeCallsByOp = kd.client.Calls() }()
		}
	}
	if len(opts.Assets) > 0 {
		targets = filterTargets(targets, opts.Assets)
		if len(targets) == 0 {
			return nil, fmt.Errorf("no asset matches %s", strings.Join(opts.Assets, ", "))
		}
	}
	for _, t := range targets {
		if t.asset.Type == assets.Host && !need[assets.Host] && d.failure == "" {
			continue // the host was only the way to its containers and images
		}
		rep.Assets = append(rep.Assets, t.asset)
		if t.failure != "" {
			rep.Failures = append(rep.Failures, AssetFailure{AssetID: t.asset.ID, Reason: t.failure, Suggestion: t.suggestion, CheckTime: opts.Now()})
		}
	}
	if d.failure != "" {
		rep.Failures = append(rep.Failures, AssetFailure{AssetID: host.ID, Reason: d.failure, Suggestion: d.suggestion, CheckTime: opts.Now()})
	}

	rep.Results = evaluate(ctx, targets, items, forcedStandards(opts), opts)
	rep.Standards, rep.Items = judgedStandards(rep)
	rep.Failures = append(rep.Failures, partialFailures(rep, opts.Now())...)
	rep.FinishedAt = opts.Now()
	if hc.engine != nil {
		rep.EngineCalls, rep.EngineCallsByOp = hc.engine.Calls()
	}
	return rep, nil
}

// judgedStandards keeps the standards (and their items) that judged at
// least one asset: a Kubernetes standard on a host without Kubernetes was
// not checked, and a report must not say it was.
func judgedStandards(rep *Report) ([]*checks.Standard, []*checks.Item) {
	judged := map[string]bool{}
	byID := map[uint64]*checks.Item{}
	for _, it := range rep.Items {
		byID[it.ID] = it
	}
	for _, r := range rep.Results {
		if it := byID[r.ItemID]; it != nil {
			judged[it.Standard.ID] = true
		}
	}
	if len(judged) == 0 {
		return rep.Standards, rep.Items // nothing at all: keep the selection
	}
	var stds []*checks.Standard
	for _, s := range rep.Standards {
		if judged[s.ID] {
			stds = append(stds, s)
		}
	}
	var items []*checks.Item
	for _, it := range rep.Items {
		if judged[it.Standard.ID] {
			items = append(items, it)
		}
	}
	return stds, items
}

// partialFailures records as scan-failed each asset on which some checks
// could not be carried out although the asset itself was read, so that
// the list of scan-failed assets says why.
func partialFailures(rep *Report, now time.Time) []AssetFailure {
	recorded := map[uint64]bool{}
	for _, f := range rep.Failures {
		recorded[f.AssetID] = true
	}
	count := map[uint64]int{}
	first := map[uint64]string{}
	for _, r := range rep.Results {
		if r.Status != checks.CheckFailed || recorded[r.AssetID] {
			continue
		}
		count[r.AssetID]++
		if first[r.AssetID] == "" {
			first[r.AssetID] = r.Reason
		}
	}
	var out []AssetFailure
	for _, a := range rep.Assets {
		if n := count[a.ID]; n > 0 {
			out = append(out, AssetFailure{AssetID: a.ID, CheckTime: now,
				Reason:     fmt.Sprintf("%d checks could not be carried out; the first: %s", n, first[a.ID]),
				Suggestion: "fix the cause (often: start the Docker engine, or run as root to read the host's files) and rescan the asset"})
		}
	}
	return out
}

// selectItems applies the standard, type and item selections.
func selectItems(cat *checks.Catalog, opts Options) ([]*checks.Item, []*checks.Standard, error) {
	wantStd := map[string]bool{}
	for _, s := range opts.Standards {
		if _, ok := cat.Standard(s); !ok {
			return nil, nil, fmt.Errorf("--standard: no standard %q", s)
		}
		wantStd[s] = true
	}
	wantType := map[assets.Type]bool{}
	for _, t := range opts.Types {
		wantType[t] = true
	}
	wantItem := map[uint64]bool{}
	for _, id := range opts.Items {
		if _, ok := cat.Item(id); !ok {
			return nil, nil, fmt.Errorf("--item: no item with id %d", id)
		}
		wantItem[id] = true
	}
	var items []*checks.Item
	var stds []*checks.Standard
	for _, s := range cat.Standards {
		if len(wantStd) > 0 && !wantStd[s.ID] || len(wantStd) == 0 && !s.Enabled {
			continue
		}
		n := 0
		for _, it := range s.Items {
			if len(wantType) > 0 && !wantType[it.AssetType] || len(wantItem) > 0 && !wantItem[it.ID] {
				continue
			}
			items = append(items, it)
			n++
		}
		if n > 0 {
			stds = append(stds, s)
		}
	}
	if len(items) == 0 {
		return nil, nil, ErrNothingSelected
	}
	return items, stds, nil
}

// target is an asset with its facts, or the reason it could not be read.
type target struct {
	asset assets.Asset
	// role is, for a k8s asset, whether it is a node or the cluster.
	role  checks.Target
	facts checks.Facts
	// version is the engine's or the cluster's version, matched against
	// each standard's range.
	version    string
	failure    string
	suggestion string
}

func needTarget(items []*checks.Item, role checks.Target) bool {
	for _, it := range items {
		if it.AssetType == assets.K8s && it.Target == role {
			return true
		}
	}
	return false
}

// forcedStandards are the standards named on the command line: they are
// judged whatever the engine's or the cluster's version.
func forcedStandards(opts Options) map[string]bool {
	out := map[string]bool{}
	if !opts.ForceVersion {
		return out
	}
	for _, s := range opts.Standards {
		out[s] = true
	}
	return out
}

func filterTargets(ts []target, sel []string) []target {
	var out []target
	for _, t := range ts {
		for _, s := range sel {
			if matchAsset(t.asset, s) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func matchAsset(a assets.Asset, sel string) bool {
	if id, err := strconv.ParseUint(sel, 10, 64); err == nil && id == a.ID {
		return true
	}
	if sel == a.Name || strings.TrimPrefix(sel, "/") == a.Name {
		return true
	}
	ref := strings.TrimPrefix(a.Ref, "sha256:")
	s := strings.TrimPrefix(sel, "sha256:")
	return len(s) >= 4 && strings.HasPrefix(ref, s)
}

// evaluate runs every item of each target's asset type, targets in
// parallel, and returns results in target then item order.
func evaluate(ctx context.Context, targets []target, items []*checks.Item, forced map[string]bool, opts Options) []Result {
	type kind struct {
		t    assets.Type
		role checks.Target
	}
	byType := map[kind][]*checks.Item{}
	total := 0
	for _, it := range items {
		k := kind{it.AssetType, it.Target}
		byType[k] = append(byType[k], it)
	}
	for _, t := range targets {
		total += len(byType[kind{t.asset.Type, t.role}])
	}
	perTarget := make([][]Result, len(targets))
	var mu sync.Mutex
	done := 0
	sem := make(chan struct{}, opts.Workers)
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			t := targets[i]
			its := byType[kind{t.asset.Type, t.role}]
			out := make([]Result, 0, len(its))
			for _, it := range its {
				out = append(out, Result{ItemID: it.ID, AssetID: t.asset.ID, Verdict: judge(ctx, it, t, forced[it.Standard.ID]), CheckedAt: opts.Now()})
			}
			perTarget[i] = out
			if opts.Progress != nil {
				mu.Lock()
				done += len(its)
				opts.Progress(done, total)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	var results []Result
	for _, r := range perTarget {
		results = append(results, r...)
	}
	return results
}

// judge evaluates one item on one target. A standard whose version range
// does not include the target's engine or cluster version does not apply,
// unless it was chosen by name (forced).
func judge(ctx context.Context, it *checks.Item, t target, forced bool) checks.Verdict {
	if t.failure != "" {
		return checks.Failed(t.failure)
	}
	if err := ctx.Err(); err != nil {
		return checks.Failed("scan interrupted: " + err.Error())
	}
	if c := it.Standard.Engines; c != nil && t.version != "" && !forced {
		if v, err := semver.NewVersion(t.version); err == nil && !c.Check(v) {
			what := "engine"
			if t.asset.Type == assets.K8s {
				what = "Kubernetes"
			}
			return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable,
				Reason: fmt.Sprintf("%s %s is outside %s's range %s (choose a standard with --standard to judge it anyway)", what, t.version, it.Standard.ID, it.Standard.EnginesText)}
		}
	}
	return it.Evaluate(ctx, t.facts)
}

// discovery finds the assets of this host.
type discovery struct {
	hc      *hostContext
	now     func() time.Time
	workers int
	// failure is set when the engine's assets could not be listed.
	failure, suggestion string
}

// host describes this host. Its id derives from the machine id, falling
// back to the engine's id and the host name.
func (d *discovery) host() assets.Asset {
	hc := d.hc
	name := ""
	if data, err := hc.root.ReadFile("/etc/hostname"); err == nil {
		name = strings.TrimSpace(string(data))
	}
	if name == "" && hc.daemon != nil {
		name = hc.daemon.Name
	}
	if name == "" {
		name, _ = os.Hostname()
	}
	key := ""
	if data, err := hc.root.ReadFile("/etc/machine-id"); err == nil {
		key = strings.TrimSpace(string(data))
	}
	if key == "" && hc.daemon != nil {
		key = hc.daemon.ID
	}
	if key == "" {
		key = name
	}
	det := &assets.HostDetails{HostName: name, HostIP: hostIP(), InstanceID: key}
	if hc.daemon != nil {
		det.DockerVersion, det.ContainerdVersion = hc.daemon.Version, hc.daemon.ContainerdVersion
	}
	return assets.Asset{ID: assets.StableID(assets.Host, key), Type: assets.Host, Name: name, Ref: key, NodeName: name, Host: det}
}

// engineAssets lists and inspects containers and images, once each.
func (d *discovery) engineAssets(ctx context.Context, host assets.Asset, wantContainers, wantImages bool) []target {
	hc := d.hc
	cs, ims, err := hc.lists(ctx)
	if err != nil {
		d.failure = "could not list containers and images: " + err.Error()
		d.suggestion = "check that the Docker engine runs and that baseline can reach its socket (DOCKER_HOST, --docker-host)"
		return nil
	}
	var refs []func() target
	if wantContainers {
		for _, c := range cs {
			refs = append(refs, func() target { return d.container(ctx, host, c) })
		}
	}
	if wantImages {
		for _, im := range ims {
			refs = append(refs, func() target { return d.image(ctx, host, im) })
		}
	}
	out := make([]target, len(refs))
	sem := make(chan struct{}, d.workers)
	var wg sync.WaitGroup
	for i, f := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = f()
		}()
	}
	wg.Wait()
	return out
}

func (d *discovery) container(ctx context.Context, host assets.Asset, c docker.ContainerRef) target {
	name := strings.TrimPrefix(firstOr(c.Names, c.ID[:12]), "/")
	a := assets.Asset{
		ID: assets.StableID(assets.Container, host.Ref, c.ID), Type: assets.Container, Name: name, Ref: c.ID, NodeName: host.Name,
		Container: &assets.ContainerDetails{ContainerID: c.ID, Name: name, ImageName: c.Image, State: runState(c.State)},
	}
	doc, err := d.hc.engine.InspectContainer(ctx, c.ID)
	if err != nil {
		return target{asset: a, failure: err.Error(), suggestion: "the container may have been removed during the scan; rescan it"}
	}
	if s, ok := dig(doc, "State", "Status").(string); ok {
		a.Container.State = runState(s)
	}
	if created, ok := doc["Created"].(string); ok {
		a.Container.CreateTime, _ = time.Parse(time.RFC3339Nano, created)
	}
	if labels, ok := dig(doc, "Config", "Labels").(map[string]any); ok {
		a.Container.PodName, _ = labels["io.kubernetes.pod.name"].(string)
	}
	env := maskEnv(doc)
	return target{asset: a, facts: &assetFacts{host: d.hc, ref: c.ID, doc: doc, env: env}, version: d.hc.daemon.Version}
}

func (d *discovery) image(ctx context.Context, host assets.Asset, im docker.ImageRef) target {
	name := "<none>"
	repo, tag := "<none>", "<none>"
	for _, t := range im.RepoTags {
		if t != "<none>:<none>" {
			name = t
			if i := strings.LastIndex(t, ":"); i > 0 && !strings.Contains(t[i:], "/") {
				repo, tag = t[:i], t[i+1:]
			} else {
				repo = t
			}
			break
		}
	}
	if name == "<none>" {
		name = strings.TrimPrefix(im.ID, "sha256:")[:12]
	}
	a := assets.Asset{
		ID: assets.StableID(assets.Image, host.Ref, im.ID), Type: assets.Image, Name: name, Ref: im.ID, NodeName: host.Name,
		Image: &assets.ImageDetails{ImageID: im.ID, Name: name, Tag: tag, Repository: repo},
	}
	doc, err := d.hc.engine.InspectImage(ctx, im.ID)
	if err != nil {
		return target{asset: a, failure: err.Error(), suggestion: "the image may have been removed during the scan; rescan it"}
	}
	env := maskEnv(doc)
	return target{asset: a, facts: &assetFacts{host: d.hc, ref: im.ID, doc: doc, env: env}, version: d.hc.daemon.Version}
}

// maskEnv returns the document's Config.Env as a map and replaces the
// values in the document itself, so that evidence never shows them.
func maskEnv(doc map[string]any) map[string]string {
	env := map[string]string{}
	cfg, _ := doc["Config"].(map[string]any)
	list, _ := cfg["Env"].([]any)
	for i, e := range list {
		s, _ := e.(string)
		k, v, _ := strings.Cut(s, "=")
		env[k] = v
		list[i] = k + "=<masked>"
	}
	return env
}

func runState(s string) assets.RunState {
	switch s {
	case "running":
		return assets.StateNormal
	case "paused":
		return assets.StatePaused
	case "exited", "created":
		return assets.StateStopped
	}
	return assets.StateAbnormal
}

func dig(doc map[string]any, keys ...string) any {
	var cur any = doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// Sorted returns the report's assets in type, then name order.
func (r *Report) Sorted() []assets.Asset {
	out := append([]assets.Asset(nil), r.Assets...)
	order := map[assets.Type]int{}
	for i, t := range assets.Types {
		order[t] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return order[out[i].Type] < order[out[j].Type]
		}
		return out[i].Name < out[j].Name
	})
	return out
}
