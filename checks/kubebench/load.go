package kubebench

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
)

// Item ids of kube-bench standards lie in [IDBase, IDBase+idSpan): far
// above the built-in ids (below 1,000,000), derived from the standard's id
// and the check's id so that they stay the same from one load to the next.
const (
	IDBase = 900_000_000
	idSpan = 99_999_989 // a prime, so that the hash spreads over the range
)

// StandardPrefix starts the id of every kube-bench standard.
const StandardPrefix = "kube-bench-"

// Options say which benchmark of a kube-bench directory to load.
type Options struct {
	// Dir holds config.yaml and one directory per benchmark version.
	Dir string
	// Version is the benchmark version (a directory of Dir: cis-1.12);
	// when empty, KubeVersion chooses it through config.yaml's
	// version_mapping.
	Version     string
	KubeVersion string
	// Targets are the files of the version to load (master, node, etcd,
	// controlplane, policies, ...); default: the version's targets in
	// config.yaml's target_mapping, else every file of the directory.
	Targets []string
	// Host is what the variables are resolved on; default: LocalHost at
	// HostRoot.
	Host     Host
	HostRoot string
	// Strict reports an unscored check whose tests fail as failed
	// (RESULT_FAILED). By default it is a review (RESULT_MANUAL with the
	// failing tests as evidence), as kube-bench's WARN says: a
	// recommendation to review by hand, never a failure.
	Strict bool
}

// ItemID returns the id of a check of a kube-bench standard: a hash of
// the standard's id, the target (some benchmarks reuse a check's id in two
// files) and the check's id.
func ItemID(standardID, target, checkID string) uint64 {
	h := fnv.New64a()
	for _, s := range []string{standardID, target, checkID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return IDBase + h.Sum64()%idSpan
}

// Load reads one benchmark version of a kube-bench directory into a
// standard of k8s node items, with kube-bench's variables resolved on the
// host. Every problem is reported at once, at its file and line.
func Load(opts Options) (*checks.Standard, error) {
	dir := filepath.Clean(opts.Dir)
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	cfg, err := readTopConfig(dir)
	if err != nil {
		return nil, err
	}
	version := opts.Version
	if version == "" {
		if opts.KubeVersion == "" {
			return nil, fmt.Errorf("%s: which benchmark version? give a version (one of %s) or a Kubernetes version", dir, strings.Join(Versions(dir), ", "))
		}
		if version, err = cfg.benchmarkVersion(opts.KubeVersion); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	vdir := filepath.Join(dir, version)
	if fi, err := os.Stat(vdir); err != nil || !fi.IsDir() || strings.ContainsAny(version, `/\`) {
		return nil, fmt.Errorf("%s: no benchmark version %q (have %s)", dir, version, strings.Join(Versions(dir), ", "))
	}
	var problems []checks.Problem
	vcfg := filepath.Join(vdir, ConfigFile)
	if _, err := os.Stat(vcfg); err == nil {
		over, ps := readConfig(vcfg)
		problems = append(problems, ps...)
		if over != nil {
			cfg.root = merge(cfg.root, over)
		}
	}
	targets, err := cfg.targetFiles(version, vdir, opts.Targets)
	if err != nil {
		return nil, err
	}
	host := opts.Host
	if host == nil {
		host = NewLocalHost(opts.HostRoot)
	}
	procs, err := host.Processes()
	if err != nil {
		return nil, fmt.Errorf("process table: %w", err)
	}
	std := &checks.Standard{
		ID: StandardPrefix + version, Name: "kube-bench " + version, Version: version,
		Description: fmt.Sprintf("kube-bench's %s benchmark from %s, run unchanged: its audit commands with its variables resolved on this host, judged as kube-bench judges them. %s", version, dir, unscoredMapping(opts.Strict)),
		AssetTypes:  []assets.Type{assets.K8s}, Enabled: true, Origin: dir,
	}
	type loaded struct {
		id    string
		items []*checks.Item
	}
	var all []loaded
	for _, t := range targets {
		id, items, ps := loadTarget(cfg, std, t, host, procs)
		problems = append(problems, ps...)
		all = append(all, loaded{id, items})
	}
	// Sections in the order of their ids, as kube-bench reports them.
	sort.SliceStable(all, func(i, j int) bool { return ctrlID(all[i].id) < ctrlID(all[j].id) })
	ids := map[uint64]*checks.Item{}
	for _, l := range all {
		for _, it := range l.items {
			if prev, dup := ids[it.ID]; dup {
				msg := fmt.Sprintf("check %s: its item id %d is the id of check %s at %s", it.Number, it.ID, prev.Number, prev.Pos)
				if prev.Number == it.Number {
					msg = fmt.Sprintf("check %s is already defined at %s", it.Number, prev.Pos)
				}
				problems = append(problems, checks.Problem{Pos: it.Pos, Msg: msg})
				continue
			}
			ids[it.ID] = it
			// kube-bench's WARN for an unscored check whose tests fail.
			it.ReviewOnFail = it.Automated && !it.Scored && !opts.Strict
			std.Items = append(std.Items, it)
		}
	}
	if len(problems) > 0 {
		return nil, checks.NewLoadError(problems)
	}
	if len(std.Items) == 0 {
		return nil, fmt.Errorf("%s: no checks", vdir)
	}
	return std, nil
}

// unscoredMapping says how an unscored check whose tests fail is reported.
func unscoredMapping(strict bool) string {
	if strict {
		return "An unscored check whose tests fail is reported as failed (strict mapping)."
	}
	return "An unscored check whose tests fail is reported for review (kube-bench's WARN), with the failing tests as evidence."
}

// Versions lists the benchmark versions of a kube-bench directory: its
// directories that hold a YAML file other than config.yaml.
func Versions(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*.yaml"))
		for _, f := range files {
			if filepath.Base(f) != ConfigFile {
				out = append(out, e.Name())
				break
			}
		}
	}
	return out
}

// target is one file of a benchmark version and its node type.
type target struct {
	nodeType string
	file     string
}

// targetFiles lists the files to load, in the order of their controls'
// ids (as kube-bench reports them).
func (c *config) targetFiles(version, vdir string, want []string) ([]target, error) {
	names := want
	if len(names) == 0 {
		if t, ok := c.targets(version); ok {
			names = t
		}
	}
	var out []target
	if len(names) == 0 {
		files, _ := filepath.Glob(filepath.Join(vdir, "*.yaml"))
		for _, f := range files {
			if filepath.Base(f) != ConfigFile {
				out = append(out, target{nodeType: strings.TrimSuffix(filepath.Base(f), ".yaml"), file: f})
			}
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		nt := strings.ReplaceAll(strings.ToLower(n), "worker", "node")
		if seen[nt] {
			continue
		}
		seen[nt] = true
		f := filepath.Join(vdir, nt+".yaml")
		if _, err := os.Stat(f); err != nil {
			if len(want) > 0 {
				return nil, fmt.Errorf("target %s: no file %s", n, f)
			}
			continue // a target of the mapping that this directory lacks
		}
		out = append(out, target{nodeType: nt, file: f})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no target files", vdir)
	}
	return out, nil
}

// loadTarget resolves the variables of one target file and compiles its
// checks.
func loadTarget(cfg *config, std *checks.Standard, t target, host Host, procs []Process) (string, []*checks.Item, []checks.Problem) {
	data, ps := checks.ReadFileLimited(t.file)
	if ps != nil {
		return "", nil, ps
	}
	comps, sec := cfg.components(t.nodeType)
	if sec == nil {
		return "", nil, []checks.Problem{{Pos: checks.Position{File: t.file, Line: 1},
			Msg: fmt.Sprintf("%s has no %s section for this file's checks", ConfigFile, t.nodeType)}}
	}
	bins, files, missing, problems := resolve(comps, host, procs)
	// The binaries the file names ($apiserverbin, ...): with exactly one,
	// an env test without audit_env reads that process's environment, as
	// kube-bench's generated audit does.
	var binSubs []string
	for comp, bin := range bins {
		if bin != "" && strings.Contains(string(data), "$"+comp+"bin") {
			binSubs = append(binSubs, bin)
		}
	}
	envBin := ""
	if len(binSubs) == 1 {
		envBin = binSubs[0]
	}
	text := apply(string(data), bins, files, missing)
	def, root, ps := parseControls(t.file, []byte(text))
	problems = append(problems, ps...)
	if def == nil {
		return "", nil, problems
	}
	if def.Type != t.nodeType {
		problems = append(problems, checks.Problem{Pos: checks.Position{File: t.file, Line: checks.NodeLine(root, "type")},
			Msg: fmt.Sprintf("type %q: a %s file must hold %s controls", def.Type, t.nodeType, t.nodeType)})
	}
	notRunning := ""
	if len(missing) > 0 {
		notRunning = fmt.Sprintf("kube-bench target %s does not run here: no binary of %s runs (%s %s)", t.nodeType,
			strings.Join(missing, ", "), ConfigFile, t.nodeType+".<component>.bins")
	}
	var items []*checks.Item
	for gi := range def.Groups {
		g := &def.Groups[gi]
		for ci := range g.Checks {
			c := &g.Checks[ci]
			pos := checks.Position{File: t.file, Line: checks.NodeLine(root, "groups", gi, "checks", ci)}
			it, ps := compileCheck(std, t.nodeType, def, g, c, pos, notRunning)
			problems = append(problems, ps...)
			if it != nil && it.Source != nil && it.Source.EnvShell == "" && it.Tests != nil {
				for _, ts := range it.Tests.Items {
					if ts.Env != "" {
						it.Source.EnvShell = fmt.Sprintf("cat \"/proc/$(/bin/ps -C %s -o pid= | tr -d ' ')/environ\" | tr '\\0' '\\n'", envBin)
						break
					}
				}
			}
			if it != nil {
				items = append(items, it)
			}
		}
	}
	return def.ID, items, problems
}

// ctrlID sorts controls ids numerically ("1" before "10").
func ctrlID(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 1e9
	}
	return f
}
