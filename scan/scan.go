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
	// Workers bounds concurrent inspects and evaluations (default
	// DefaultWorkers).
	Workers int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Progress, when set, is told how many checks are done out of total.
	Progress func(done, total int)
	// Judged, when set, is given each asset's results as soon as the
	// asset is judged, from the goroutine that judged it (calls may come
	// at once, in any order): what writes them to a store.
	Judged func(assets.Asset, []results.Result)
	// Ordered, when set, is given each asset's results once the asset and
	// every asset ahead of it are judged: in the report's order (target
	// then item), one call at a time: what writes an output.
	//
	// The results given to either are the report's too unless Streamed,
	// and must not be changed.
	Ordered func(assets.Asset, []results.Result)
	// Streamed leaves the report's Results empty: each asset's results go
	// to Judged and Ordered only, and a scan holds no more of them than
	// those of the assets judged ahead of their turn (ResultCount says how
	// many there were).
	Streamed bool
	Logger   *slog.Logger
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

// DefaultWorkers is how many assets are inspected and judged at once
// unless Options.Workers says otherwise. Each holds its inspect, its facts
// and its verdicts until handed over (about 0.2 MB for a container): four
// keep two cores busy while the engine answers the next inspects, and
// eight only held twice as many (1 MB more of a scan's peak heap, for no
// shorter scan).
const DefaultWorkers = 4

// Run scans this host.
func Run(ctx context.Context, cat *checks.Catalog, opts Options) (*results.Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
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
	ev := evaluate(ctx, targets, items, forcedStandards(opts), opts)
	rep.Results, rep.ResultCount = ev.results, ev.count
	rep.Assets, rep.Failures = d.reported(targets, host, need[assets.Host])
	rep.Standards, rep.Items = judgedStandards(rep, ev.standards)
	rep.Failures = append(rep.Failures, partialFailures(rep, ev.unchecked, opts.Now())...)
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
func judgedStandards(rep *results.Report, judged map[string]bool) ([]*checks.Standard, []*checks.Item) {
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
func partialFailures(rep *results.Report, unchecked map[uint64]*uncheckedChecks, now time.Time) []results.AssetFailure {
	recorded := map[uint64]bool{}
	for _, f := range rep.Failures {
		recorded[f.AssetID] = true
	}
	var out []results.AssetFailure
	for _, a := range rep.Assets {
		if u := unchecked[a.ID]; u != nil && !recorded[a.ID] {
			out = append(out, results.AssetFailure{AssetID: a.ID, CheckTime: now,
				Reason:     fmt.Sprintf("%d checks could not be carried out; the first: %s", u.n, u.first),
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

// evaluation is what evaluate yields besides the assets as read: the
// results (unless streamed), and what the report needs of them.
type evaluation struct {
	// results are in target then item order; nil when opts.Streamed.
	results []results.Result
	// count is how many results were judged, kept or streamed.
	count int
	// standards are those that judged at least one asset.
	standards map[string]bool
	// unchecked counts, per asset, the checks that could not be carried
	// out, with the first one's reason.
	unchecked map[uint64]*uncheckedChecks
}

type uncheckedChecks struct {
	n     int
	first string
}

// evaluate runs every item of each target's asset type, targets in
// parallel, and hands over each target's results as soon as it is judged
// (opts.Judged) and in target then item order (opts.Ordered, and kept
// unless opts.Streamed): a target judged before those ahead of it waits
// for them there, and no target is started while parkedResults wait so
// (handover.turn). A target with a read is read first;
// each target's facts are dropped once it is judged, so that targets ends
// with the assets as read and their failures.
func evaluate(ctx context.Context, targets []target, items []*checks.Item, forced map[string]bool, opts Options) *evaluation {
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
	order := newHandover(len(targets), items, opts)
	sem := make(chan struct{}, opts.Workers)
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			order.turn(i)
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
			t.facts, t.read = nil, nil
			targets[i] = t
			order.judged(i, t.asset, out, total)
		}(i)
	}
	wg.Wait()
	return order.ev
}

// parkedResults bounds the results that an ordered handover holds for
// targets judged ahead of their turn, while one ahead of them is still
// being judged (an image whose files are read for the first time, a slow
// engine's answer): about 1 MB. Beyond it, no other target is started
// until the one whose turn it is has been judged, so that a scan's
// memory does not grow with the assets behind a slow one; the next
// targets' workers wait instead, and the scan takes longer only by the
// time they wait.
const parkedResults = 2048

// handover passes judged targets' results on at once (opts.Judged) and in
// target order, one target at a time (opts.Ordered), and tallies what the
// report needs of them.
type handover struct {
	opts  Options
	items map[uint64]*checks.Item
	ev    *evaluation

	mu      sync.Mutex
	turned  *sync.Cond // signalled when targets are handed over
	next    int
	waiting []*judgedTarget // by target index, until those ahead are handed over
	parked  int             // results in waiting
	held    int             // targets not started for the parked ones (turn)
	done    int             // checks done, for opts.Progress
}

type judgedTarget struct {
	asset assets.Asset
	out   []results.Result
}

func newHandover(targets int, items []*checks.Item, opts Options) *handover {
	h := &handover{opts: opts, items: make(map[uint64]*checks.Item, len(items)), waiting: make([]*judgedTarget, targets),
		ev: &evaluation{standards: map[string]bool{}, unchecked: map[uint64]*uncheckedChecks{}}}
	h.turned = sync.NewCond(&h.mu)
	for _, it := range items {
		h.items[it.ID] = it
	}
	return h
}

// turn waits before target i is started while parkedResults or more wait
// for their turn, unless the turn is target i's (the target every parked
// one waits for, which is therefore never kept waiting). Targets are
// started in order, so the one whose turn it is has always been started.
// Without opts.Ordered nothing is parked.
func (h *handover) turn(i int) {
	if h.opts.Ordered == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i != h.next && h.parked >= parkedResults {
		h.held++
		h.turned.Wait()
		h.held--
	}
}

// judged takes target i's results and hands over every target whose turn
// has come.
func (h *handover) judged(i int, a assets.Asset, out []results.Result, total int) {
	if h.opts.Judged != nil && len(out) > 0 {
		h.opts.Judged(a, out)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waiting[i] = &judgedTarget{asset: a, out: out}
	h.parked += len(out)
	for h.next < len(h.waiting) && h.waiting[h.next] != nil {
		jt := h.waiting[h.next]
		h.waiting[h.next] = nil
		h.next++
		h.parked -= len(jt.out)
		h.handOver(jt)
	}
	h.turned.Broadcast()
	if h.opts.Progress != nil {
		h.done += len(out)
		h.opts.Progress(h.done, total)
	}
}

func (h *handover) handOver(jt *judgedTarget) {
	ev := h.ev
	ev.count += len(jt.out)
	for _, r := range jt.out {
		if it := h.items[r.ItemID]; it != nil {
			ev.standards[it.Standard.ID] = true
		}
		if r.Status == checks.CheckFailed {
			u := ev.unchecked[r.AssetID]
			if u == nil {
				u = &uncheckedChecks{first: r.Reason}
				ev.unchecked[r.AssetID] = u
			}
			u.n++
		}
	}
	if h.opts.Ordered != nil && len(jt.out) > 0 {
		h.opts.Ordered(jt.asset, jt.out)
	}
	if !h.opts.Streamed {
		ev.results = append(ev.results, jt.out...)
	}
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
