package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/checks/kubebench"
	"github.com/baselinehq/baseline/internal/residency"
	"github.com/baselinehq/baseline/internal/version"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/scan"
	"github.com/baselinehq/baseline/store"
)

// runFlags are the options of every command that runs a scan.
type runFlags struct {
	format      string
	by          string
	details     bool
	output      string
	exitCode    bool
	noDocker    bool
	dockerHost  string
	noCRI       bool
	criEndpoint string
	noKube      bool
	expectNode  bool
	progress    string
	noStore     bool
	keepTasks   int
	// extra are standards loaded for this run only (scan --kube-bench-cfg).
	extra []*checks.Standard
	// signer signs an export format's output (set by execScan).
	signer *report.Signer
}

func (f *runFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "table", "output format: table, json, or an export format: csv, xlsx, html, sarif, junit, pdf")
	fl.StringVar(&f.by, "by", string(report.BySummary), "table view: summary (the failed items, the checks that could not be carried out, the summary), asset or item (every finding with its evidence)")
	fl.BoolVar(&f.details, "details", false, "table view: every asset and every finding with its evidence (same as --by asset)")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file (written whole or not at all)")
	fl.BoolVar(&f.exitCode, "exit-code", false, "exit with 2 when a scored item fails (for CI)")
	fl.BoolVar(&f.noDocker, "no-docker", false, "do not contact a Docker engine; host file and process checks only")
	fl.StringVar(&f.dockerHost, "docker-host", "", "Docker engine address (default: DOCKER_HOST or the local socket)")
	fl.BoolVar(&f.noCRI, "no-cri", false, "do not contact the node's container runtime (containerd, CRI-O) through the CRI")
	fl.StringVar(&f.criEndpoint, "cri-endpoint", os.Getenv("BASELINE_CRI_ENDPOINT"), "the container runtime's CRI socket under --host-root (env BASELINE_CRI_ENDPOINT; default: the kubelet's --container-runtime-endpoint, then the usual containerd and CRI-O sockets)")
	fl.BoolVar(&f.noKube, "no-kube", false, "do not contact a Kubernetes API server (node checks still run on a node; kubectl in a benchmark audit is given no cluster)")
	fl.BoolVar(&f.expectNode, "expect-node", false, "this host is a Kubernetes node: finding no component in its process table is a scan failure, not an empty scan")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (on a terminal), always, never")
	fl.BoolVar(&f.noStore, "no-store", false, "do not record the task, in the store or with --server on the daemon (print only)")
	keep, _ := strconv.Atoi(envOr("BASELINE_KEEP_TASKS", "100"))
	fl.IntVar(&f.keepTasks, "keep-tasks", keep, "retention: keep the results of this many tasks, prune older ones (env BASELINE_KEEP_TASKS)")
}

func (f *runFlags) check() error {
	if f.format != "table" && f.format != "json" {
		if _, err := report.EncoderFor(f.format); err != nil || f.format == "json" {
			return fmt.Errorf("--format: %q is not table, json, csv, xlsx, html, sarif, junit or pdf", f.format)
		}
	}
	switch report.View(f.by) {
	case report.BySummary, report.ByAsset, report.ByItem:
	default:
		return fmt.Errorf("--by: %q is not summary, asset or item", f.by)
	}
	if f.details {
		if f.by == string(report.ByItem) {
			return fmt.Errorf("--details is --by asset; give one of --details and --by item")
		}
		f.by = string(report.ByAsset)
	}
	if f.keepTasks < 1 {
		return fmt.Errorf("--keep-tasks: must be at least 1 (got %d)", f.keepTasks)
	}
	return nil
}

// loadSigner loads the signing key when the output is an export format
// (before the scan, so that a bad key fails at once).
func (f *runFlags) loadSigner(g *globals) (err error) {
	if f.format != "table" && f.format != "json" {
		f.signer, err = loadSigner(g.signingKey, g.dataDir)
	}
	return err
}

type scanFlags struct {
	runFlags
	types     []string
	standards []string
	assets    []string
	items     []string
	// imageArchives and ociLayouts are images judged without a daemon.
	imageArchives, ociLayouts []string
	// kubeBenchCfg, kubeBenchVersion and kubeBenchStrict: see addKubeBench.
	kubeBenchCfg, kubeBenchVersion string
	kubeBenchStrict                bool
}

func newScanCmd(g *globals) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Scan this host, its containers and its images, and record the task",
		Long: `Scan this host against the enabled standards: the host and its Docker daemon,
every container (running, paused, stopped, created) and every local image.
With --image-archive or --oci-layout, the images of those files are judged
instead, by the image items, without a Docker engine (items that need a
running engine are not applicable); an image whose layers do not match their
digests is recorded as failed with the reason, and the others are judged.
The task and its results are recorded in the store (see --data-dir) unless
--no-store is given. With --server (and --secret-id, --secret-key), the scan
runs here and is uploaded to that daemon instead, which records it as a task
of its own (trigger upload) and whose id is printed; the local store is not
touched, and a refused upload exits 1 with the daemon's error.

Exit codes: 0 done (and, with --exit-code, no scored item failed); 1 the scan
could not run (or the same scope is already being scanned); 2 with
--exit-code, at least one scored item failed (or an image of --image-archive
or --oci-layout could not be read); 3 a benchmark definition failed to load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(f.imageArchives)+len(f.ociLayouts) > 0 && len(f.types) == 0 {
				f.types = []string{"image"}
			}
			opts, scope, err := selection(f.types, f.standards, f.items)
			if err != nil {
				return err
			}
			opts.Assets = f.assets
			opts.ImageArchives, opts.OCILayouts = f.imageArchives, f.ociLayouts
			if err := f.addKubeBench(cmd, g, &opts, &scope); err != nil {
				return err
			}
			return execScan(cmd, g, &f.runFlags, opts, store.TriggerManual, scope)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.types, "type", nil, "asset types to scan: host, container, image, k8s (comma-separated; default all)")
	fl.StringSliceVar(&f.standards, "standard", nil, "standard ids to run, judged whatever the engine's or cluster's version (default: every enabled standard, each where its version range fits)")
	fl.StringSliceVar(&f.assets, "asset", nil, "only these assets: CustomerAssetId, name, or container/image id prefix")
	fl.StringSliceVar(&f.items, "item", nil, "only these items (CustomerPolicyItemId)")
	fl.StringArrayVar(&f.imageArchives, "image-archive", nil, "judge the images of this docker save tarball or OCI image archive, without a Docker engine (repeatable)")
	fl.StringArrayVar(&f.ociLayouts, "oci-layout", nil, "judge the images of this OCI image layout directory, without a Docker engine (repeatable)")
	fl.StringVar(&f.kubeBenchCfg, "kube-bench-cfg", "", "run a kube-bench benchmark directory (its config.yaml and version directories) as a standard, unchanged; the scan judges only it unless --standard names others")
	fl.StringVar(&f.kubeBenchVersion, "kube-bench-version", "", "with --kube-bench-cfg: the benchmark version (cis-1.12) or a Kubernetes version mapped by its version_mapping (1.34); default: the cluster's version")
	fl.BoolVar(&f.kubeBenchStrict, kubeBenchStrictFlag, false, "with --kube-bench-cfg: report an unscored check whose tests fail as failed, not for review as kube-bench's WARN (env "+kubeBenchStrictEnv+", configuration kube_bench.strict)")
	f.register(cmd)
	return cmd
}

// selection turns type, standard and item flags into scan options and a
// task scope.
func selection(types, standards, items []string) (scan.Options, store.Scope, error) {
	var opts scan.Options
	var scope store.Scope
	for _, t := range types {
		at, err := assets.ParseType(t)
		if err != nil {
			return opts, scope, fmt.Errorf("--type: %w", err)
		}
		opts.Types = append(opts.Types, at)
	}
	ids, err := parseIDs("--item", items)
	if err != nil {
		return opts, scope, err
	}
	opts.Items, opts.Standards = ids, standards
	opts.ForceVersion = len(standards) > 0
	scope.Types, scope.Standards, scope.Items = opts.Types, standards, ids
	return opts, scope, nil
}

func parseIDs(flag string, vals []string) ([]uint64, error) {
	var out []uint64
	for _, s := range vals {
		id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an id", flag, s)
		}
		out = append(out, id)
	}
	return out, nil
}

// execScan runs a scan as a task (see package runner), or only prints it
// with --no-store.
func execScan(cmd *cobra.Command, g *globals, f *runFlags, opts scan.Options, trigger store.Trigger, scope store.Scope) error {
	if err := f.check(); err != nil {
		return err
	}
	if err := f.loadSigner(g); err != nil {
		return err
	}
	ctx := cmd.Context()
	cat, err := loadCatalog(g)
	if err != nil {
		return err
	}
	if err := cat.Add(f.extra...); err != nil {
		return withCode(ExitInvalid, err)
	}
	defaults := scan.Options{HostRoot: g.hostRoot, NoDocker: f.noDocker, DockerHost: f.dockerHost, NoCRI: f.noCRI, CRIEndpoint: f.criEndpoint,
		Kube: g.kube, NoKube: f.noKube, NodeName: g.nodeName, ExpectNode: f.expectNode}
	progress := progressFunc(g, f.progress)
	var rep *results.Report
	var task store.Task
	var stream *streamedOutput // the output, written as the results come
	if f.noStore || g.server != "" {
		opts.HostRoot, opts.NoDocker, opts.DockerHost, opts.Progress = defaults.HostRoot, defaults.NoDocker, defaults.DockerHost, progress
		opts.NoCRI, opts.CRIEndpoint = defaults.NoCRI, defaults.CRIEndpoint
		opts.Kube, opts.NoKube, opts.NodeName, opts.ExpectNode = defaults.Kube, defaults.NoKube, defaults.NodeName, defaults.ExpectNode
		if rep, task, stream, err = scanWithoutStore(ctx, g, f, cat, opts, scope); err != nil {
			return err
		}
		defer stream.close()
		if !f.noStore {
			trigger = task.Trigger
		}
	} else {
		db, err := openStore(ctx, g)
		if err != nil {
			return err
		}
		defer db.Close()
		r, err := runner.New(ctx, cat, db, runner.Options{Defaults: defaults, KeepTasks: f.keepTasks})
		if err != nil {
			return err
		}
		if stream, err = newStreamedOutput(g, f, cat.Items()); err != nil {
			return err
		}
		defer stream.close()
		req := runner.Request{Trigger: trigger, Scope: scope, Select: opts, Progress: progress}
		if stream != nil {
			req.Ordered, req.Streamed = stream.add, true
		}
		// What the start-up used (flags, configuration, the standards'
		// decoding, the store's schema check) is not needed again: give
		// its pages of the executable back before the scan's peak.
		_, _ = residency.ReleaseExecutable()
		task, rep, err = r.Run(ctx, req)
		if errors.Is(err, store.ErrAlreadyScanning) {
			return fmt.Errorf("refused (%w); wait for it to finish or scan another scope", err)
		}
		if err != nil {
			return err
		}
	}
	write, err := scanOutput(ctx, g, f, rep, stream, fmt.Sprintf("Recorded as task %d (%s)%s.\n", task.ID, trigger, onServer(g)))
	if err != nil {
		return err
	}
	if err := writeOutput(g.stdout, f.output, write); err != nil {
		return err
	}
	if g.server != "" && !f.noStore && f.format != "table" {
		fmt.Fprintf(g.stderr, "baseline: recorded as task %d (%s)%s\n", task.ID, trigger, onServer(g))
	}
	failed := stream.failedItems()
	if stream == nil {
		failed = failedItems(rep.Results)
	}
	if f.exitCode && (scoredFailure(rep, failed) || unreadImage(opts, rep)) {
		return withCode(ExitFindings, nil)
	}
	return nil
}

// scanWithoutStore runs a scan that no local store records: printed only
// (--no-store), or uploaded to the daemon at --server. When the output
// format streams (json, table), the results go to the output, and to the
// upload's document, as the assets are judged, and the report keeps none
// of them; otherwise the report holds them all. The caller closes the
// stream returned.
func scanWithoutStore(ctx context.Context, g *globals, f *runFlags, cat *checks.Catalog, opts scan.Options, scope store.Scope) (*results.Report, store.Task, *streamedOutput, error) {
	stream, err := newStreamedOutput(g, f, cat.Items())
	if err != nil {
		return nil, store.Task{}, nil, err
	}
	var body *api.UploadBody
	if stream != nil {
		opts.Ordered, opts.Streamed = stream.add, true
		if !f.noStore {
			if body, err = api.NewUploadBody(""); err != nil {
				stream.close()
				return nil, store.Task{}, nil, err
			}
			defer func() { _ = body.Close() }()
			opts.Ordered = func(a assets.Asset, rs []results.Result) {
				stream.add(a, rs)
				body.Add(rs)
			}
		}
	}
	// What the start-up used is not needed again: give its pages back.
	_, _ = residency.ReleaseExecutable()
	rep, err := scan.Run(ctx, cat, opts)
	var task store.Task
	if err == nil && !f.noStore {
		task, err = uploadScan(ctx, g, scope, opts, rep, body)
	}
	if err != nil {
		stream.close()
		return nil, store.Task{}, nil, err
	}
	return rep, task, stream, nil
}

// scanOutput returns what writes the scan's output: JSON as it is encoded
// and a streamed table as it is laid out (from the stream's spool when it
// streamed); otherwise a table or an export built first (an export's
// digests and signature cover all of it). A table ends with the recorded
// line unless --no-store.
func scanOutput(ctx context.Context, g *globals, f *runFlags, rep *results.Report, stream *streamedOutput, recorded string) (func(io.Writer) error, error) {
	if f.format == "table" && f.noStore {
		recorded = ""
	}
	switch {
	case stream != nil && f.format == "json":
		return func(w io.Writer) error { return stream.json.Write(w, rep, version.String()) }, nil
	case f.format == "json":
		return func(w io.Writer) error { return report.WriteJSON(w, rep, version.String()) }, nil
	case stream != nil:
		return func(w io.Writer) error {
			if err := stream.table.Write(w, rep); err != nil {
				return err
			}
			_, err := io.WriteString(w, recorded)
			return err
		}, nil
	}
	var buf bytes.Buffer
	var err error
	if f.format == "table" {
		err = report.WriteTableWith(&buf, rep, tableOptions(g.stdout, f))
		buf.WriteString(recorded)
	} else { // an export format, with its integrity digests
		enc, _ := report.EncoderFor(f.format)
		err = report.Export(ctx, enc, &buf, report.NewScanSource(rep, version.String()), f.signer, nil)
	}
	if err != nil {
		return nil, err
	}
	return func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }, nil
}

// streamedOutput is a scan's output written as its results come (the JSON
// report, or a table), so that a scan of many assets
// holds none of its results: the store has them, the output its spool or
// its counts. It also notes the items that failed, for --exit-code.
type streamedOutput struct {
	json   *report.JSONStream
	table  *report.TableStream
	failed map[uint64]bool
}

// newStreamedOutput returns the output of a scan that streams, or nil for
// one that needs the whole report (an export). Its spool (the JSON
// report's results, a table's findings) is in the data directory of the
// SQLite store (which must be writable anyway), else (a PostgreSQL store,
// --no-store) in the system's temporary directory.
func newStreamedOutput(g *globals, f *runFlags, items []*checks.Item) (*streamedOutput, error) {
	s := &streamedOutput{failed: map[uint64]bool{}}
	dir := ""
	if g.store == "" && !f.noStore && g.server == "" { // the local store's directory
		dir = g.dataDir
	}
	switch f.format {
	case "json":
		var err error
		if s.json, err = report.NewJSONStream(dir); err != nil {
			return nil, err
		}
	case "table":
		s.table = report.NewTableStream(tableOptions(g.stdout, f), items, dir)
	default:
		return nil, nil
	}
	return s, nil
}

func (s *streamedOutput) add(a assets.Asset, rs []results.Result) {
	for i := range rs {
		if rs[i].Result == checks.ResultFailed {
			s.failed[rs[i].ItemID] = true
		}
	}
	if s.json != nil {
		s.json.Add(a, rs)
	} else {
		s.table.Add(a, rs)
	}
}

func (s *streamedOutput) failedItems() map[uint64]bool {
	if s == nil {
		return nil
	}
	return s.failed
}

func (s *streamedOutput) close() {
	if s != nil && s.json != nil {
		_ = s.json.Close()
	}
}

// tableOptions colours the table and fits it to the width of a terminal
// that it is written to, unless NO_COLOR is set (to any value).
func tableOptions(stdout io.Writer, f *runFlags) report.TableOptions {
	opts := report.TableOptions{View: report.View(f.by)}
	if f.output != "" && f.output != "-" {
		return opts
	}
	out, ok := stdout.(*os.File)
	if !ok || !term.IsTerminal(int(out.Fd())) {
		return opts
	}
	if w, _, err := term.GetSize(int(out.Fd())); err == nil && w > 0 {
		opts.Width = w
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	opts.Color = !noColor
	return opts
}

// progressFunc draws a progress bar on a terminal.
func progressFunc(g *globals, mode string) func(done, total int) {
	bar := progressBar(g, mode)
	if bar == nil {
		return nil
	}
	var mu sync.Mutex
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		bar.ChangeMax(total)
		_ = bar.Set(done)
		if done == total {
			_ = bar.Finish()
			_ = bar.Clear()
		}
	}
}

// scoredFailure reports whether a scored item failed on some asset.
// unreadImage reports whether an image of --image-archive or
// --oci-layout could not be read: a gate on images must not pass an image
// it did not judge.
func unreadImage(opts scan.Options, rep *results.Report) bool {
	return len(opts.ImageArchives)+len(opts.OCILayouts) > 0 && len(rep.Failures) > 0
}

func scoredFailure(rep *results.Report, failed map[uint64]bool) bool {
	for _, it := range rep.Items {
		if it.Scored && failed[it.ID] {
			return true
		}
	}
	return false
}

// failedItems are the items that failed on some asset.
func failedItems(rs []results.Result) map[uint64]bool {
	failed := map[uint64]bool{}
	for _, r := range rs {
		if r.Result == checks.ResultFailed {
			failed[r.ItemID] = true
		}
	}
	return failed
}

func progressBar(g *globals, mode string) *progressbar.ProgressBar {
	switch mode {
	case "never":
		return nil
	case "auto":
		f, ok := g.stderr.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil
		}
	case "always":
	default:
		return nil
	}
	return progressbar.NewOptions(-1, progressbar.OptionSetWriter(g.stderr), progressbar.OptionSetDescription("scanning"),
		progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
}

// writeOutput writes to stdout, or to a file that is whole or absent,
// never half-written.
func writeOutput(stdout io.Writer, path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	return writeFileAtomic(path, func(f *os.File) error { return write(f) })
}

// ---- kube-bench (checks/kubebench) ----

// --kube-bench-strict, its environment variable; the configuration's key
// is kube_bench.strict (applyConfigFile).
const (
	kubeBenchStrictFlag = "kube-bench-strict"
	kubeBenchStrictEnv  = "BASELINE_KUBE_BENCH_STRICT"
)

// addKubeBench loads the kube-bench directory of --kube-bench-cfg, its
// variables resolved on this host, as a standard of this run; without
// --standard the scan judges only it.
func (f *scanFlags) addKubeBench(cmd *cobra.Command, g *globals, opts *scan.Options, scope *store.Scope) error {
	if f.kubeBenchCfg == "" {
		if f.kubeBenchVersion != "" {
			return fmt.Errorf("--kube-bench-version: give --kube-bench-cfg too")
		}
		if cmd.Flags().Changed(kubeBenchStrictFlag) {
			return fmt.Errorf("--%s: give --kube-bench-cfg too", kubeBenchStrictFlag)
		}
		return nil
	}
	strict := f.kubeBenchStrict
	if e := os.Getenv(kubeBenchStrictEnv); e != "" && !cmd.Flags().Changed(kubeBenchStrictFlag) {
		var err error
		if strict, err = strconv.ParseBool(e); err != nil {
			return fmt.Errorf("%s: %q is not true or false", kubeBenchStrictEnv, e)
		}
	}
	if g.server != "" && !f.noStore {
		// The daemon judges an upload against its own catalog, which has
		// no kube-bench directory: refuse before scanning.
		return fmt.Errorf("--kube-bench-cfg cannot be uploaded with --server (the daemon does not load kube-bench directories); add --no-store to print only")
	}
	o := kubebench.Options{Dir: f.kubeBenchCfg, Version: f.kubeBenchVersion, HostRoot: g.hostRoot, Strict: strict}
	if v := strings.TrimPrefix(o.Version, "v"); v != "" && v[0] >= '0' && v[0] <= '9' {
		o.Version, o.KubeVersion = "", v // a Kubernetes version
	}
	var versionErr error
	if o.Version == "" && o.KubeVersion == "" && !f.noKube && kube.Configured(g.kube) {
		c, err := kube.Connect(g.kube)
		if err == nil {
			var info kube.Info
			if info, err = c.Info(cmd.Context()); err == nil {
				o.KubeVersion = info.Minor
			}
			opts.KubeClient = c // the scan reuses its identity: no second look
		}
		versionErr = err
	}
	std, err := kubebench.Load(o)
	if err != nil {
		if versionErr != nil {
			err = fmt.Errorf("%w (the cluster's version could not be read: %v)", err, versionErr)
		}
		return withCode(ExitInvalid, fmt.Errorf("--kube-bench-cfg: %w", err))
	}
	f.extra = append(f.extra, std)
	if len(f.standards) == 0 {
		opts.Standards, scope.Standards = []string{std.ID}, []string{std.ID}
	}
	return nil
}
