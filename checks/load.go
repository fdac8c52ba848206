package checks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/baselinehq/baseline/assets"
)

// StandardFile is the file that makes a directory a standard.
const StandardFile = "standard.yaml"

// ErrInvalid marks a definition that failed to load.
var ErrInvalid = errors.New("invalid benchmark definition")

// Problem is one thing wrong with a definition, at a file and line.
type Problem struct {
	Pos Position
	Msg string
}

func (p Problem) String() string { return p.Pos.String() + ": " + p.Msg }

// LoadError lists every problem found while loading; nothing is loaded when
// there is one.
type LoadError struct{ Problems []Problem }

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *LoadError) Unwrap() error { return ErrInvalid }

// NewLoadError orders problems by file and line; nil when there are none.
func NewLoadError(problems []Problem) *LoadError {
	if len(problems) == 0 {
		return nil
	}
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].Pos.File != problems[j].Pos.File {
			return problems[i].Pos.File < problems[j].Pos.File
		}
		return problems[i].Pos.Line < problems[j].Pos.Line
	})
	return &LoadError{Problems: problems}
}

// Catalog is the set of loaded standards and their items.
type Catalog struct {
	Standards []*Standard
	items     map[uint64]*Item
}

// Item returns the item with the given CustomerPolicyItemId.
func (c *Catalog) Item(id uint64) (*Item, bool) {
	it, ok := c.items[id]
	return it, ok
}

// Standard returns the standard with the given id.
func (c *Catalog) Standard(id string) (*Standard, bool) {
	for _, s := range c.Standards {
		if s.ID == id {
			return s, true
		}
	}
	return nil, false
}

// Items returns every item of every standard, in load order.
func (c *Catalog) Items() []*Item {
	var out []*Item
	for _, s := range c.Standards {
		out = append(out, s.Items...)
	}
	return out
}

// Tree is one tree of definitions to load: a file system and the name
// used for it in positions and in Standard.Origin.
type Tree struct {
	FS     fs.FS
	Origin string
}

// Load reads every standard from the given trees. A directory holding a
// standard.yaml is a standard; every other YAML file in it holds its items.
// Every problem in every file is reported at once.
func Load(trees ...Tree) (*Catalog, error) {
	cat := &Catalog{items: map[uint64]*Item{}}
	var problems []Problem
	seenStd := map[string]Position{}
	for _, tree := range trees {
		stds, ps := loadTree(tree)
		problems = append(problems, ps...)
		for _, s := range stds {
			pos := Position{File: path.Join(tree.Origin, s.ID), Line: 1}
			if len(s.Items) > 0 {
				pos = s.Items[0].Pos
			}
			if prev, dup := seenStd[s.ID]; dup {
				problems = append(problems, Problem{pos, fmt.Sprintf("standard %q is already defined at %s", s.ID, prev)})
				continue
			}
			seenStd[s.ID] = pos
			for _, it := range s.Items {
				if prev, dup := cat.items[it.ID]; dup {
					problems = append(problems, Problem{it.Pos, fmt.Sprintf("item id %d is already used by %s %s at %s", it.ID, prev.Standard.ID, prev.Number, prev.Pos)})
					continue
				}
				cat.items[it.ID] = it
			}
			cat.Standards = append(cat.Standards, s)
		}
	}
	if len(problems) > 0 {
		return nil, NewLoadError(problems)
	}
	return cat, nil
}

// loadTree finds the standards of one tree.
func loadTree(tree Tree) ([]*Standard, []Problem) {
	var problems []Problem
	byDir := map[string][]string{}
	err := fs.WalkDir(tree.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			byDir[path.Dir(p)] = append(byDir[path.Dir(p)], p)
		}
		return nil
	})
	if err != nil {
		return nil, []Problem{{Position{File: tree.Origin}, err.Error()}}
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var stds []*Standard
	for _, dir := range dirs {
		files := byDir[dir]
		sort.Slice(files, func(i, j int) bool { // standard.yaml first
			fi, fj := path.Base(files[i]) == StandardFile, path.Base(files[j]) == StandardFile
			if fi != fj {
				return fi
			}
			return files[i] < files[j]
		})
		if path.Base(files[0]) != StandardFile {
			for _, f := range files {
				problems = append(problems, Problem{Position{path.Join(tree.Origin, f), 1}, "not part of a standard: no " + StandardFile + " in its directory"})
			}
			continue
		}
		s, ps := loadStandard(tree, files)
		problems = append(problems, ps...)
		if s != nil {
			stds = append(stds, s)
		}
	}
	return stds, problems
}

// loadStandard loads one standard directory: parse strictly, validate,
// compile.
func loadStandard(tree Tree, files []string) (*Standard, []Problem) {
	var problems []Problem
	var std *Standard
	numbers := map[string]Position{}
	for i, f := range files {
		name := path.Join(tree.Origin, f)
		data, err := fs.ReadFile(tree.FS, f)
		if err != nil {
			problems = append(problems, Problem{Position{name, 0}, err.Error()})
			continue
		}
		def, root, ps := parseFile(name, data)
		problems = append(problems, ps...)
		if def == nil {
			if i == 0 {
				return nil, problems
			}
			continue
		}
		loc := locator{file: name, root: root}
		if i == 0 {
			var ps []Problem
			std, ps = compileStandard(def.Standard, loc, tree.Origin)
			problems = append(problems, ps...)
			if std == nil {
				return nil, problems
			}
		} else if def.Standard != nil {
			problems = append(problems, loc.problem(loc.line("standard"), "standard header belongs in "+StandardFile))
		}
		for j := range def.Items {
			it, ps := compileItem(&def.Items[j], def, std, loc.at("items", j))
			problems = append(problems, ps...)
			if it == nil {
				continue
			}
			if prev, dup := numbers[it.Number]; dup {
				problems = append(problems, Problem{it.Pos, fmt.Sprintf("number %q is already used at %s", it.Number, prev)})
				continue
			}
			numbers[it.Number] = it.Pos
			std.Items = append(std.Items, it)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return std, nil
}

var typeNames = strings.NewReplacer(
	"checks.fileDef", "file", "checks.standardDef", "standard", "checks.itemDef", "item",
	"checks.sourceDef", "source", "checks.conditionDef", "only_if condition",
	"checks.testsDef", "tests", "checks.testItemDef", "test item", "checks.compareDef", "compare",
)

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parseFile decodes one file strictly: unknown keys and wrong types are
// reported with their lines.
func parseFile(name string, data []byte) (*fileDef, *yaml.Node, []Problem) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, yamlProblems(name, err)
	}
	var def fileDef
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&def)
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return &def, &root, nil
	case isTypeError(err):
		// Report the unknown keys, and go on validating what did decode so
		// that every problem of the file shows at once.
		var loose fileDef
		if root.Decode(&loose) != nil {
			return nil, nil, yamlProblems(name, err)
		}
		return &loose, &root, yamlProblems(name, err)
	}
	return nil, nil, yamlProblems(name, err)
}

func isTypeError(err error) bool {
	var te *yaml.TypeError
	return errors.As(err, &te)
}

func yamlProblems(name string, err error) []Problem { return YAMLProblems(name, err, typeNames) }

// YAMLProblems turns a YAML decoding error into problems at file:line,
// with Go type names replaced by the format's own words (names).
func YAMLProblems(name string, err error, names *strings.Replacer) []Problem {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		p := Problem{Pos: Position{File: name}, Msg: names.Replace(m)}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			p.Pos.Line, _ = strconv.Atoi(sm[1])
			p.Msg = names.Replace(sm[2])
		}
		out = append(out, p)
	}
	return out
}

// locator finds the line of a field inside a parsed YAML document.
type locator struct {
	file string
	root *yaml.Node
	path []any
}

// at returns a locator for a nested node (string keys, int indices).
func (l locator) at(path ...any) locator {
	p := append(append([]any{}, l.path...), path...)
	return locator{file: l.file, root: l.root, path: p}
}

// line returns the line of the node at the locator's path plus path; it
// falls back to the deepest node found.
func (l locator) line(path ...any) int {
	return NodeLine(l.root, append(append([]any{}, l.path...), path...)...)
}

// NodeLine returns the line of the node at a path of mapping keys
// (strings) and sequence indices (ints) in a parsed YAML document, or of
// the deepest node found on the way.
func NodeLine(root *yaml.Node, path ...any) int {
	n := root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, step := range path {
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

func (l locator) problem(line int, format string, args ...any) Problem {
	return Problem{Position{l.file, line}, fmt.Sprintf(format, args...)}
}

func compileStandard(d *standardDef, loc locator, origin string) (*Standard, []Problem) {
	if d == nil {
		return nil, []Problem{loc.problem(1, "%s must start with a `standard:` header", StandardFile)}
	}
	var problems []Problem
	need := func(v, field string) {
		if strings.TrimSpace(v) == "" {
			problems = append(problems, loc.problem(loc.line("standard"), "standard.%s is required", field))
		}
	}
	need(d.ID, "id")
	need(d.Name, "name")
	need(d.Version, "version")
	s := &Standard{ID: d.ID, Name: d.Name, Version: d.Version, Description: strings.TrimSpace(d.Description),
		Enabled: d.Enabled == nil || *d.Enabled, Origin: origin, EnginesText: d.Engines}
	if len(d.AssetTypes) == 0 {
		problems = append(problems, loc.problem(loc.line("standard"), "standard.asset_types is required"))
	}
	for i, a := range d.AssetTypes {
		t, err := assets.ParseType(a)
		if err != nil {
			problems = append(problems, loc.problem(loc.line("standard", "asset_types", i), "standard.asset_types: %v", err))
			continue
		}
		s.AssetTypes = append(s.AssetTypes, t)
	}
	if d.Engines != "" {
		c, err := semver.NewConstraint(d.Engines)
		if err != nil {
			problems = append(problems, loc.problem(loc.line("standard", "engines"), "standard.engines: bad version constraint %q: %v", d.Engines, err))
		}
		s.Engines = c
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return s, nil
}

// compileItem validates one item and compiles its source and tests.
func compileItem(d *itemDef, file *fileDef, std *Standard, loc locator) (*Item, []Problem) {
	var problems []Problem
	bad := func(field string, format string, args ...any) {
		line := loc.line()
		if field != "" {
			line = loc.line(strings.Split(field, ".")[0])
		}
		label := d.Number
		if label == "" {
			label = fmt.Sprintf("#%d", d.ID)
		}
		problems = append(problems, loc.problem(line, "item %s: %s", label, fmt.Sprintf(format, args...)))
	}
	it := &Item{
		ID: d.ID, Number: strings.TrimSpace(d.Number), Title: strings.TrimSpace(d.Title),
		Category: firstNonEmpty(d.Category, file.Category), Level: d.Level,
		Description: strings.TrimSpace(d.Description), Rationale: strings.TrimSpace(d.Rationale),
		Procedure: strings.TrimSpace(d.Procedure), Remediation: strings.TrimSpace(d.Remediation),
		Default: strings.TrimSpace(d.Default), References: d.References, Standard: std,
		Pos: Position{loc.file, loc.line()},
	}
	if d.ID == 0 {
		bad("id", "id is required (a positive number, unique across all standards)")
	}
	if it.Number == "" {
		bad("number", "number is required (the recommendation number, e.g. 5.5)")
	}
	if it.Title == "" {
		bad("title", "title is required")
	}
	if it.Category == "" {
		bad("category", "category is required (on the item or as the file's default)")
	}
	at := firstNonEmpty(d.AssetType, file.AssetType)
	if t, err := assets.ParseType(at); err != nil {
		bad("asset_type", "asset_type: %v", err)
	} else {
		it.AssetType = t
		if std != nil && !std.Covers(t) {
			bad("asset_type", "asset_type %s is not among the standard's asset_types", t.Short())
		}
	}
	if tg, err := itemTarget(d, file, it.AssetType); err != nil {
		bad("target", "target: %v", err)
	} else {
		it.Target = tg
	}
	if r, err := ParseRisk(d.Risk); err != nil {
		bad("risk", "risk: %v", err)
	} else {
		it.Risk = r
	}
	switch d.Assessment {
	case "automated":
		it.Automated = true
	case "manual":
	default:
		bad("assessment", "assessment: %q is not automated or manual", d.Assessment)
	}
	it.Scored = it.Automated
	if d.Scored != nil {
		it.Scored = *d.Scored
	}
	if d.Level < 0 || d.Level > 2 {
		bad("level", "level: %d is not 1 or 2", d.Level)
	}
	if d.Engines != "" {
		bad("engines", "engines: use only_if with op semver on an item; engines belongs to the standard")
	}

	// The audit source.
	srcBad := false
	switch {
	case d.Source != nil && d.Audit != "":
		bad("audit", "give either source or audit, not both")
	case d.Source != nil:
		src, err := compileSource(d.Source, it.AssetType)
		if err != nil {
			bad("source", "source: %v", err)
			srcBad = true
		}
		it.Source = src
	case d.Audit != "":
		it.Source = &Source{Kind: SourceShell, Shell: d.Audit, Format: FormatText}
		if it.AssetType != assets.Host && it.AssetType != assets.K8s {
			bad("audit", "audit: a shell command can only check host or k8s items")
		}
	}
	if d.Tests != nil {
		ts, ps := compileTests(d.Tests, loc.at("tests"), "item "+it.Number+": tests")
		problems = append(problems, ps...)
		it.Tests = ts
		if it.Source == nil && !srcBad {
			bad("tests", "tests need a source or an audit command")
		}
	} else if it.Source != nil {
		bad("source", "a source needs tests to judge it")
	}
	if it.Automated && it.Source == nil && !srcBad {
		bad("assessment", "an automated item needs a source (or audit) and tests")
	}
	for i := range d.OnlyIf {
		c, ps := compileCondition(&d.OnlyIf[i], it, loc.at("only_if", i), fmt.Sprintf("item %s: only_if[%d]", it.Number, i))
		problems = append(problems, ps...)
		if c != nil {
			it.OnlyIf = append(it.OnlyIf, c)
		}
	}
	if it.Target == TargetNode && it.Source != nil && it.Source.Kind == SourceKube {
		bad("target", "target: a kube source reads the cluster; the item's target must be cluster")
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return it, nil
}

// itemTarget is a k8s item's target: given, else cluster for a kube
// source and node otherwise; other items have none.
func itemTarget(d *itemDef, file *fileDef, at assets.Type) (Target, error) {
	tg := firstNonEmpty(d.Target, file.Target)
	switch {
	case at != assets.K8s && tg != "":
		return "", fmt.Errorf("only k8s items have a target")
	case at != assets.K8s:
		return "", nil
	case tg == string(TargetNode) || tg == string(TargetCluster):
		return Target(tg), nil
	case tg == "" && d.Source != nil && d.Source.Kind == string(SourceKube):
		return TargetCluster, nil
	case tg == "":
		return TargetNode, nil
	}
	return "", fmt.Errorf("%q is not node or cluster", tg)
}

func compileCondition(d *conditionDef, it *Item, loc locator, label string) (*Condition, []Problem) {
	var problems []Problem
	c := &Condition{Reason: strings.TrimSpace(d.Reason)}
	if c.Reason == "" {
		problems = append(problems, loc.problem(loc.line(), "%s: reason is required (it is shown when the item does not apply)", label))
	}
	if d.Source != nil {
		src, err := compileSource(d.Source, it.AssetType)
		if err != nil {
			problems = append(problems, loc.problem(loc.line("source"), "%s: source: %v", label, err))
		}
		c.Source = src
	} else if it.Source == nil {
		problems = append(problems, loc.problem(loc.line(), "%s: source is required when the item has none", label))
	}
	if d.Tests == nil {
		problems = append(problems, loc.problem(loc.line(), "%s: tests are required", label))
	} else {
		ts, ps := compileTests(d.Tests, loc.at("tests"), label+": tests")
		problems = append(problems, ps...)
		c.Tests = ts
	}
	return c, problems
}

func compileSource(d *sourceDef, at assets.Type) (*Source, error) {
	s := &Source{Kind: SourceKind(d.Kind), Format: Format(d.Format), Name: d.Name, Argv: d.Argv,
		ConfigFlag: d.Config, Exclude: d.Exclude}
	if d.Kind != string(SourceKube) && (d.Resource != "" || len(d.Resources) > 0 || len(d.Exclude) > 0) {
		return nil, fmt.Errorf("resource, resources and exclude belong to kind kube")
	}
	if d.Kind != string(SourceProcess) && d.Config != "" {
		return nil, fmt.Errorf("config belongs to kind process (the flag naming its configuration file)")
	}
	allowed, ok := sourceKinds[s.Kind]
	if !ok {
		kinds := make([]string, 0, len(sourceKinds))
		for k := range sourceKinds {
			if k != SourceShell {
				kinds = append(kinds, string(k))
			}
		}
		sort.Strings(kinds)
		return nil, fmt.Errorf("kind: %q is not one of %s", d.Kind, strings.Join(kinds, ", "))
	}
	fits := false
	for _, a := range allowed {
		fits = fits || a == at
	}
	if !fits && at != "" {
		return nil, fmt.Errorf("kind %s cannot serve %s items", s.Kind, at.Short())
	}
	var err error
	switch s.Kind {
	case SourceFile:
		err = compileFileSource(s, d)
	case SourceProcess:
		err = compileProcessSource(s, d)
	case SourceKube:
		err = compileKubeSource(s, d)
	case SourceCommand:
		if len(d.Argv) == 0 {
			return nil, fmt.Errorf("a command source needs argv (it never runs through a shell)")
		}
		if s.Format == "" {
			s.Format = FormatText
		}
		err = errors.Join(unused(s, "path", hasPath(d)), unused(s, "name", d.Name != ""))
	default:
		err = errors.Join(unused(s, "path", hasPath(d)), unused(s, "name", d.Name != ""),
			unused(s, "argv", len(d.Argv) > 0), unused(s, "format", d.Format != ""))
	}
	if err != nil {
		return nil, err
	}
	switch s.Format {
	case "", FormatNone, FormatText, FormatJSON, FormatYAML, FormatKV:
	default:
		return nil, fmt.Errorf("format: %q is not one of none, text, json, yaml, kv", d.Format)
	}
	return s, nil
}

// unused is an error when a field that the source's kind ignores is set.
func unused(s *Source, field string, set bool) error {
	if set {
		return fmt.Errorf("%s is not used by kind %s", field, s.Kind)
	}
	return nil
}

func hasPath(d *sourceDef) bool { return d.Path != "" || len(d.Paths) > 0 || len(d.Glob) > 0 }

func compileFileSource(s *Source, d *sourceDef) error {
	n := 0
	if d.Path != "" {
		n++
		s.Paths = []string{d.Path}
	}
	if len(d.Paths) > 0 {
		n++
		s.Paths = d.Paths
	}
	if len(d.Glob) > 0 {
		n++
		s.Paths, s.Glob = d.Glob, true
	}
	if n != 1 {
		return fmt.Errorf("a file source needs exactly one of path, paths or glob")
	}
	for _, p := range s.Paths {
		if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "${") {
			return fmt.Errorf("path %q must be absolute (it is read under the host root)", p)
		}
		if s.Glob {
			if _, gerr := path.Match(p, ""); gerr != nil {
				return fmt.Errorf("glob %q: %v", p, gerr)
			}
		}
	}
	s.Combine = CombineFirst
	if s.Glob {
		s.Combine = CombineEach
	}
	if d.Format == "" {
		s.Format = FormatNone
	}
	return errors.Join(unused(s, "name", d.Name != ""), unused(s, "argv", len(d.Argv) > 0))
}

func compileProcessSource(s *Source, d *sourceDef) error {
	if d.Name == "" {
		return fmt.Errorf("a process source needs name (the executable's base name)")
	}
	if d.Config != "" {
		if !strings.HasPrefix(d.Config, "-") {
			return fmt.Errorf("config: %q is not a flag (e.g. --config)", d.Config)
		}
		if s.Format == "" {
			s.Format = FormatYAML
		}
	} else if d.Format != "" {
		return fmt.Errorf("format is used by a process source only with config")
	}
	return errors.Join(unused(s, "path", hasPath(d)), unused(s, "argv", len(d.Argv) > 0))
}

func compileKubeSource(s *Source, d *sourceDef) error {
	switch {
	case d.Resource != "" && len(d.Resources) > 0:
		return fmt.Errorf("give resource or resources, not both")
	case d.Resource != "":
		s.Resources = []string{d.Resource}
	case len(d.Resources) > 0:
		s.Resources = d.Resources
	default:
		return fmt.Errorf("a kube source needs resource (one of %s) or resources", strings.Join(KubeResources, ", "))
	}
	for _, r := range s.Resources {
		if !slices.Contains(KubeResources, r) {
			return fmt.Errorf("resource: %q is not one of %s", r, strings.Join(KubeResources, ", "))
		}
	}
	for _, p := range d.Exclude {
		if _, gerr := path.Match(p, ""); gerr != nil {
			return fmt.Errorf("exclude %q: %v", p, gerr)
		}
	}
	return errors.Join(unused(s, "path", hasPath(d)), unused(s, "name", d.Name != ""),
		unused(s, "argv", len(d.Argv) > 0), unused(s, "format", d.Format != ""))
}

func compileTests(d *testsDef, loc locator, label string) (*Tests, []Problem) {
	var problems []Problem
	ts := &Tests{Op: And}
	switch d.BinOp {
	case "", "and":
	case "or":
		ts.Op = Or
	default:
		problems = append(problems, loc.problem(loc.line("bin_op"), "%s: bin_op: %q is not and or or", label, d.BinOp))
	}
	if len(d.TestItems) == 0 {
		problems = append(problems, loc.problem(loc.line(), "%s: test_items: at least one test is required", label))
	}
	for i := range d.TestItems {
		t, field, err := compileTest(&d.TestItems[i])
		if err != nil {
			problems = append(problems, loc.problem(loc.line("test_items", i, field), "%s: test_items[%d]: %v", label, i, err))
			continue
		}
		ts.Items = append(ts.Items, t)
	}
	return ts, problems
}

// compileTest compiles one test; on error it names the offending field.
func compileTest(d *testItemDef) (*Test, string, error) {
	t := &Test{Flag: d.Flag, Env: d.Env, Set: true, Multi: d.UseMultipleValues}
	// Locators given together are tried in order: the flag when the
	// process sets it, the configuration file's value, the environment
	// (kube-bench's semantics).
	if d.Path != "" {
		p, err := compilePath(d.Path)
		if err != nil {
			return nil, "path", fmt.Errorf("path %q: %v", d.Path, err)
		}
		t.Path = p
	}
	if d.Set != nil {
		t.Set = *d.Set
	}
	if d.Set == nil && d.Compare == nil {
		return nil, "", fmt.Errorf("give set or compare")
	}
	if d.Compare != nil {
		if !t.Set {
			return nil, "compare", fmt.Errorf("compare has no meaning with set: false")
		}
		c, err := compileCompare(d.Compare)
		if err != nil {
			return nil, "compare", err
		}
		t.Compare = c
	}
	return t, "", nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
