package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/version"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/scan"
)

type scanFlags struct {
	types      []string
	standards  []string
	assets     []string
	items      []string
	format     string
	by         string
	output     string
	exitCode   bool
	noDocker   bool
	dockerHost string
	progress   string
}

func newScanCmd(g *globals) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Scan this host, its containers and its images",
		Long: `Scan this host against the enabled standards: the host and its Docker daemon,
every container (running, paused, stopped, created) and every local image.

Exit codes: 0 done (and, with --exit-code, no scored item failed); 1 the scan
could not run; 2 with --exit-code, at least one scored item failed; 3 a
benchmark definition failed to load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, g, &f) },
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.types, "type", nil, "asset types to scan: host, container, image (comma-separated; default all)")
	fl.StringSliceVar(&f.standards, "standard", nil, "standard ids to run (default: every enabled standard)")
	fl.StringSliceVar(&f.assets, "asset", nil, "only these assets: CustomerAssetId, name, or container/image id prefix")
	fl.StringSliceVar(&f.items, "item", nil, "only these items (CustomerPolicyItemId)")
	fl.StringVar(&f.format, "format", "table", "output format: table or json")
	fl.StringVar(&f.by, "by", "asset", "table view: asset or item")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file (written whole or not at all)")
	fl.BoolVar(&f.exitCode, "exit-code", false, "exit with 2 when a scored item fails (for CI)")
	fl.BoolVar(&f.noDocker, "no-docker", false, "do not contact a Docker engine; host file and process checks only")
	fl.StringVar(&f.dockerHost, "docker-host", "", "Docker engine address (default: DOCKER_HOST or the local socket)")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (on a terminal), always, never")
	return cmd
}

func runScan(cmd *cobra.Command, g *globals, f *scanFlags) error {
	if f.format != "table" && f.format != "json" {
		return fmt.Errorf("--format: %q is not table or json", f.format)
	}
	if f.by != string(report.ByAsset) && f.by != string(report.ByItem) {
		return fmt.Errorf("--by: %q is not asset or item", f.by)
	}
	opts := scan.Options{HostRoot: g.hostRoot, Standards: f.standards, Assets: f.assets, NoDocker: f.noDocker, DockerHost: f.dockerHost}
	for _, t := range f.types {
		at, err := assets.ParseType(t)
		if err != nil {
			return fmt.Errorf("--type: %w", err)
		}
		opts.Types = append(opts.Types, at)
	}
	for _, s := range f.items {
		id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("--item: %q is not an item id", s)
		}
		opts.Items = append(opts.Items, id)
	}
	cat, err := loadCatalog(g)
	if err != nil {
		return err
	}
	if bar := progressBar(g, f.progress); bar != nil {
		opts.Progress = func(done, total int) {
			bar.ChangeMax(total)
			_ = bar.Set(done)
		}
		defer func() { _ = bar.Finish(); _ = bar.Clear() }()
	}
	rep, err := scan.Run(cmd.Context(), cat, opts)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if f.format == "json" {
		err = report.WriteJSON(&buf, rep, version.String())
	} else {
		err = report.WriteTable(&buf, rep, report.View(f.by))
	}
	if err != nil {
		return err
	}
	if err := writeOutput(g.stdout, f.output, buf.Bytes()); err != nil {
		return err
	}
	if f.exitCode && scoredFailure(rep) {
		return withCode(ExitFindings, nil)
	}
	return nil
}

// scoredFailure reports whether a scored item failed on some asset.
func scoredFailure(rep *scan.Report) bool {
	scored := map[uint64]bool{}
	for _, it := range rep.Items {
		scored[it.ID] = it.Scored
	}
	for _, r := range rep.Results {
		if r.Result == checks.ResultFailed && scored[r.ItemID] {
			return true
		}
	}
	return false
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

// writeOutput writes to stdout, or to a file through a temporary file and
// a rename, so that the file is whole or absent, never half-written.
func writeOutput(stdout io.Writer, path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("--output: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("--output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}
