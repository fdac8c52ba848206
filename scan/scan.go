// Package scan runs a scan: it discovers the assets of this host, collects
// their facts once, evaluates the selected items on each asset, and returns
// one result per (item, asset). An asset that cannot be checked is recorded
// as failed with its reason; the rest of the scan goes on.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
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
	// CRIEndpoint names the container runtime's CRI socket (unix://PATH
	// or PATH, under HostRoot); empty finds it as the kubelet does. NoCRI
	// skips the runtime entirely.
	CRIEndpoint string
	NoCRI       bool
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
	// Judged, when set, is given each asset's results as soon as the
	// asset is judged (from the goroutine that judged it; the results are
	// the report's too, and must not be changed).
	Judged func([]results.Result)
	Logger *slog.Logger
	// ImageFiles, when set, keeps images' setuid and setgid files by image
	// id across scans: an image already read is not exported again. Nil
	// exports every image checked.
	ImageFiles ImageFilesCache
	// ImageArchives (docker save tarballs, OCI image archives) and
	// OCILayouts (OCI image layout directories) are judged instead of this
	// host: their images, by the image items, without a Docker engine.
	ImageArchives []string
	OCILayouts    []string
}

// ErrNothingSelected is returned when the selection matches no item.
var ErrNothingSelected = checks.ErrNothingSelected

// Run scans this host.
func Run(ctx context.Context, cat *checks.Catalog, opts Options) (*results.Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	log := logger(opts).With("component", "scan")

	rep := &results.Report{StartedAt: opts.Now()}
	if archiveScan(opts) {
		if err := archiveTypes(opts); err != nil {
			return nil, err
		}
		opts.Types = []assets.Type{assets.Image}
	}
	items, stds, err := selectItems(cat, opts)
	if err != nil {
		return nil, err
	}
	rep.Items, rep.Standards = items, stds
	need := map[assets.Type]bool{}
	needRuntime, needEngine := false, false
	for _, it := range items {
		need[it.AssetType] = true
		if it.Target == checks.TargetCRI {
			needRuntime = true
		} else {
			needEngine = needEngine || it.AssetType != assets.K8s
		}
	}

	hc := &hostContext{root: hostfs.New(opts.HostRoot), audit: newAuditEnv(opts), imageFiles: opts.ImageFiles, now: opts.Now, log: log}
	defer hc.audit.close()
	defer hc.root.Close()
	// An archive scan reads its images from files: neither the engine nor
	// the container runtime is contacted.
	hc.connectEngine(ctx, opts, !archiveScan(opts) && needEngine, log)
	if hc.engine != nil {
		defer hc.engine.Close()
	}
	hc.connectRuntime(ctx, opts, !archiveScan(opts) && needRuntime, log)
	defer hc.rt.close()

	d := &discovery{hc: hc, now: opts.Now, workers: opts.Workers}
	host := d.host()
	rep.Host = host
	var targets []target
	var kd *kubeDiscovery
	if archiveScan(opts) {
		targets = d.archiveTargets(ctx, host, opts)
	} else {
		targets, kd = d.targets(ctx, host, items, need, opts)
	}
	if kd != nil && kd.client != nil {
		defer func() { rep.KubeCalls, rep.KubeCallsByOp = kd.client.Calls() }()
	}
	if len(opts.Assets) > 0 {
		targets = filterTargets(targets, opts.Assets)
		if len(targets) == 0 {
			return nil, fmt.Errorf("no asset matches %s", strings.Join(opts.Assets, ", "))
		}
	}
	rep.Results = evaluate(ctx, targets, items, forcedStandards(opts), opts)
	rep.Assets, rep.Failures = d.reported(targets, host, need[assets.Host])
	rep.Standards, rep.Items = judgedStandards(rep)
	rep.Failures = append(rep.Failures, partialFailures(rep, opts.Now())...)
	rep.FinishedAt = opts.Now()
	if hc.engine != nil {
		rep.EngineCalls, rep.EngineCallsByOp = hc.engine.Calls()
	}
	if hc.rt.client != nil {
		rep.RuntimeCalls, rep.RuntimeCallsByOp = hc.rt.client.Calls()
	}
	return rep, nil
}

// judgedStandards keeps the standards (and their items) that judged at
// least one asset: a Kubernetes standard on a host without Kubernetes was
// not checked, and a report must not say it was.
func judgedStandards(rep *results.Report) ([]*checks.Standard, []*checks.Item) {
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
func partialFailures(rep *results.Report, now time.Time) []results.AssetFailure {
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
	var out []results.AssetFailure
	for _, a := range rep.Assets {
		if n := count[a.ID]; n > 0 {
			out = append(out, results.AssetFailure{AssetID: a.ID, CheckTime: now,
				Reason:     fmt.Sprintf("%d checks could not be carried out; the first: %s", n, first[a.ID]),
				Suggestion: "fix the cause (often: start the Docker engine, or run as root to read the host's files) and rescan the asset"})
		}
	}
	return out
}

// selectItems applies the standard, type and item selections; an unknown
// standard, type or item is named with its command-line flag.
func selectItems(cat *checks.Catalog, opts Options) ([]*checks.Item, []*checks.Standard, error) {
	items, stds, err := cat.Select(checks.Selection{Types: opts.Types, Standards: opts.Standards, Items: opts.Items})
	var unknownStd *checks.UnknownStandardError
	var unknownType *checks.UnknownTypeError
	var unknownItem *checks.UnknownItemError
	switch {
	case errors.As(err, &unknownStd):
		return nil, nil, fmt.Errorf("--standard: %w", err)
	case errors.As(err, &unknownType):
		return nil, nil, fmt.Errorf("--type: %w", err)
	case errors.As(err, &unknownItem):
		return nil, nil, fmt.Errorf("--item: %w", err)
	}
	return items, stds, err
}

// target is an asset with its facts, or the reason it could not be read.
type target struct {
	asset assets.Asset
	// role is, for a k8s asset, whether it is a node or the cluster.
	role  checks.Target
	facts checks.Facts
	// version is the engine's or the cluster's version, matched against
	// each standard's range.
	version string
	// semver is version parsed (nil when empty or not a version), once
	// per distinct version in a scan, not once per item.
	semver     *semver.Version
	failure    string
	suggestion string
	// read, when set, reads the asset's facts (its inspect): evaluate
	// calls it just before judging the asset, and keeps only the asset
	// and its failure afterwards.
	read func(ctx context.Context) target
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
// parallel, and returns results in target then item order. A target with
// a read is read first; each target's facts are dropped once it is judged,
// so that targets ends with the assets as read and their failures.
func evaluate(ctx context.Context, targets []target, items []*checks.Item, forced map[string]bool, opts Options) []results.Result {
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
	versions := &versionCache{parsed: map[string]*semver.Version{}}
	perTarget := make([][]results.Result, len(targets))
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
			if t.read != nil {
				t = t.read(ctx)
			}
			t.semver = versions.parse(t.version)
			its := byType[kind{t.asset.Type, t.role}]
			if cf, ok := t.facts.(*clusterFacts); ok && t.failure == "" {
				cf.prepare(ctx, judgedItems(its, t, forced))
			}
			out := make([]results.Result, 0, len(its))
			for _, it := range its {
				out = append(out, results.Result{ItemID: it.ID, AssetID: t.asset.ID, Verdict: judge(ctx, it, t, forced[it.Standard.ID]), CheckedAt: opts.Now()})
			}
			perTarget[i] = out
			if opts.Judged != nil && len(out) > 0 {
				opts.Judged(out)
			}
			t.facts, t.read = nil, nil
			targets[i] = t
			if opts.Progress != nil {
				mu.Lock()
				done += len(its)
				opts.Progress(done, total)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	n := 0
	for _, r := range perTarget {
		n += len(r)
	}
	var out []results.Result
	if n > 0 {
		out = make([]results.Result, 0, n)
	}
	for _, r := range perTarget {
		out = append(out, r...)
	}
	return out
}

// versionCache parses each distinct engine or cluster version once.
type versionCache struct {
	mu     sync.Mutex
	parsed map[string]*semver.Version
}

func (c *versionCache) parse(version string) *semver.Version {
	if version == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.parsed[version]
	if !ok {
		v, _ = semver.NewVersion(version) // nil when it is not a version
		c.parsed[version] = v
	}
	return v
}

// judgedItems are the items that judge evaluates on t (those of a
// standard whose version range includes t's, or chosen by name).
func judgedItems(its []*checks.Item, t target, forced map[string]bool) []*checks.Item {
	var out []*checks.Item
	for _, it := range its {
		if inRange(it, t, forced[it.Standard.ID]) {
			out = append(out, it)
		}
	}
	return out
}

// inRange says whether t's engine or cluster version is in the range of
// the item's standard, or the standard was chosen by name (forced).
func inRange(it *checks.Item, t target, forced bool) bool {
	c := it.Standard.Engines
	if c == nil || t.version == "" || forced {
		return true
	}
	return t.semver == nil || c.Check(t.semver)
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
	if !inRange(it, t, forced) {
		what := "engine"
		if t.asset.Type == assets.K8s {
			what = "Kubernetes"
		}
		return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable,
			Reason: fmt.Sprintf("%s %s is outside %s's range %s (choose a standard with --standard to judge it anyway)", what, t.version, it.Standard.ID, it.Standard.EnginesText)}
	}
	return it.Evaluate(ctx, t.facts)
}
