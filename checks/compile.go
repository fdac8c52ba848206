package checks

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/baselinehq/baseline/assets"
)

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
		Enabled: d.Enabled == nil || *d.Enabled, Origin: origin, EnginesText: d.Engines, WordingRequired: d.Wording == "required"}
	if d.Wording != "" && d.Wording != "required" {
		problems = append(problems, loc.problem(loc.line("standard", "wording"), "standard.wording: %q is not required (or absent)", d.Wording))
	}
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
	ip := &itemProblems{d: d, loc: loc}
	it := &Item{
		ID: d.ID, Number: strings.TrimSpace(d.Number), Title: strings.TrimSpace(d.Title),
		Category: firstNonEmpty(d.Category, file.Category), Level: d.Level,
		Description: strings.TrimSpace(d.Description), Rationale: strings.TrimSpace(d.Rationale),
		Procedure: strings.TrimSpace(d.Procedure), Remediation: strings.TrimSpace(d.Remediation),
		Default: strings.TrimSpace(d.Default), References: d.References, Standard: std,
		Finding: strings.TrimSpace(d.Finding),
		Pos:     Position{loc.file, loc.line()},
	}
	checkItemRequired(it, d, ip)
	compileItemKind(it, d, file, std, ip)
	srcBad := compileItemSource(it, d, ip)
	compileItemTests(it, d, srcBad, ip)
	for i := range d.OnlyIf {
		c, ps := compileCondition(&d.OnlyIf[i], it, loc.at("only_if", i), fmt.Sprintf("item %s: only_if[%d]", it.Number, i))
		ip.list = append(ip.list, ps...)
		if c != nil {
			it.OnlyIf = append(it.OnlyIf, c)
		}
	}
	if it.Target == TargetNode && it.Source != nil && it.Source.Kind == SourceKube {
		ip.bad("target", "target: a kube source reads the cluster; the item's target must be cluster")
	}
	if len(ip.list) > 0 {
		return nil, ip.list
	}
	return it, nil
}

// itemProblems gathers the problems of one item, each labelled with the
// item's number (or id) at the line of the field at fault.
type itemProblems struct {
	d    *itemDef
	loc  locator
	list []Problem
}

// bad records a problem with field (a dotted path whose first part is
// located; empty for the item itself).
func (p *itemProblems) bad(field string, format string, args ...any) {
	line := p.loc.line()
	if field != "" {
		line = p.loc.line(strings.Split(field, ".")[0])
	}
	label := p.d.Number
	if label == "" {
		label = fmt.Sprintf("#%d", p.d.ID)
	}
	p.list = append(p.list, p.loc.problem(line, "item %s: %s", label, fmt.Sprintf(format, args...)))
}

// checkItemRequired reports the item's missing required fields.
func checkItemRequired(it *Item, d *itemDef, ip *itemProblems) {
	if d.ID == 0 {
		ip.bad("id", "id is required (a positive number, unique across all standards)")
	}
	if it.Number == "" {
		ip.bad("number", "number is required (the recommendation number, e.g. 5.5)")
	}
	if it.Title == "" {
		ip.bad("title", "title is required")
	}
	if it.Category == "" {
		ip.bad("category", "category is required (on the item or as the file's default)")
	}
}

// compileItemKind sets what kind of item it is: asset type, target, risk,
// assessment, scoring and level.
func compileItemKind(it *Item, d *itemDef, file *fileDef, std *Standard, ip *itemProblems) {
	at := firstNonEmpty(d.AssetType, file.AssetType)
	if t, err := assets.ParseType(at); err != nil {
		ip.bad("asset_type", "asset_type: %v", err)
	} else {
		it.AssetType = t
		if std != nil && !std.Covers(t) {
			ip.bad("asset_type", "asset_type %s is not among the standard's asset_types", t.Short())
		}
	}
	if tg, err := itemTarget(d, file, it.AssetType); err != nil {
		ip.bad("target", "target: %v", err)
	} else {
		it.Target = tg
	}
	if r, err := ParseRisk(d.Risk); err != nil {
		ip.bad("risk", "risk: %v", err)
	} else {
		it.Risk = r
	}
	switch d.Assessment {
	case "automated":
		it.Automated = true
	case "manual":
	default:
		ip.bad("assessment", "assessment: %q is not automated or manual", d.Assessment)
	}
	it.Scored = it.Automated
	if d.Scored != nil {
		it.Scored = *d.Scored
	}
	if d.Level < 0 || d.Level > 2 {
		ip.bad("level", "level: %d is not 1 or 2", d.Level)
	}
	if d.Engines != "" {
		ip.bad("engines", "engines: use only_if with op semver on an item; engines belongs to the standard")
	}
}

// compileItemSource compiles the audit source (a source, or an audit shell
// command); it reports whether a given source failed to compile.
func compileItemSource(it *Item, d *itemDef, ip *itemProblems) (srcBad bool) {
	switch {
	case d.Source != nil && d.Audit != "":
		ip.bad("audit", "give either source or audit, not both")
	case d.Source != nil:
		src, err := compileSource(d.Source, it.AssetType)
		if err != nil {
			ip.bad("source", "source: %v", err)
			srcBad = true
		}
		it.Source = src
	case d.Audit != "":
		it.Source = &Source{Kind: SourceShell, Shell: d.Audit, Format: FormatText}
		if it.AssetType != assets.Host && it.AssetType != assets.K8s {
			ip.bad("audit", "audit: a shell command can only check host or k8s items")
		}
	}
	return srcBad
}

// compileItemTests compiles the tests and checks that source, tests and
// assessment go together.
func compileItemTests(it *Item, d *itemDef, srcBad bool, ip *itemProblems) {
	if d.Tests != nil {
		ts, ps := compileTests(d.Tests, ip.loc.at("tests"), "item "+it.Number+": tests")
		ip.list = append(ip.list, ps...)
		it.Tests = ts
		if it.Source == nil && !srcBad {
			ip.bad("tests", "tests need a source or an audit command")
		}
	} else if it.Source != nil {
		ip.bad("source", "a source needs tests to judge it")
	}
	if it.Automated && it.Source == nil && !srcBad {
		ip.bad("assessment", "an automated item needs a source (or audit) and tests")
	}
	checkWording(it, d, ip)
}

// checkWording requires, in a standard whose wording is required, every
// automated item's finding and each of its tests' label and expectation.
func checkWording(it *Item, d *itemDef, ip *itemProblems) {
	if !it.Standard.WordingRequired || !it.Automated {
		return
	}
	if it.Finding == "" {
		ip.bad("", "finding is required: say in words what a failure means (the standard's wording is required)")
	}
	if d.Tests == nil {
		return
	}
	for i, t := range d.Tests.TestItems {
		if strings.TrimSpace(t.Label) == "" || strings.TrimSpace(t.Expect) == "" {
			ip.list = append(ip.list, ip.loc.problem(ip.loc.line("tests", "test_items", i), "item %s: tests: test_items[%d]: label and expect are required: say in words what the test reads and what it should be (the standard's wording is required)",
				it.Number, i))
		}
	}
}

// itemTarget is a k8s item's target: given, else cluster for a kube
// source and node otherwise. A container or image item targets the
// runtime's (cri) when it says so or reads a CRI source, else the engine's
// (no target); other items have none.
func itemTarget(d *itemDef, file *fileDef, at assets.Type) (Target, error) {
	tg := firstNonEmpty(d.Target, file.Target)
	criSource := d.Source != nil && SourceKind(d.Source.Kind).CRI()
	switch {
	case at == assets.Container || at == assets.Image:
		return containerTarget(tg, d, criSource)
	case criSource:
		return "", fmt.Errorf("a CRI source serves container and image items only")
	case at != assets.K8s && tg != "":
		return "", fmt.Errorf("only k8s, container and image items have a target")
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

// containerTarget is a container or image item's target: cri when given
// or when its source is a CRI source, else none (the engine's).
func containerTarget(tg string, d *itemDef, criSource bool) (Target, error) {
	switch {
	case tg != "" && tg != string(TargetCRI):
		return "", fmt.Errorf("%q is not cri (a container or image item targets the engine's without one)", tg)
	case tg == string(TargetCRI) && d.Source != nil && !criSource:
		return "", fmt.Errorf("an item on the runtime's (cri) containers or images reads a CRI source (cri_container, cri_processes, cri_image), not %s", d.Source.Kind)
	case tg == string(TargetCRI) || criSource:
		return TargetCRI, nil
	}
	return "", nil
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
	t := &Test{Flag: d.Flag, Env: d.Env, Set: true, Multi: d.UseMultipleValues,
		Label: strings.TrimSpace(d.Label), Expect: strings.TrimSpace(d.Expect)}
	if (t.Label == "") != (t.Expect == "") {
		return nil, "label", fmt.Errorf("label and expect go together: give both or neither")
	}
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
