package kubebench

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
)

// rangeJoin is the path that joins a list's elements with commas.
var rangeJoin = regexp.MustCompile(`^\{range (\.[^\[\]{}]+)\[:?\]\}\{\}\{','\}\{end\}$`)

// kube-bench's check types.
const (
	typeManual = "manual"
	typeSkip   = "skip"
)

// kubeBenchOps are the comparison operators kube-bench knows.
var kubeBenchOps = map[string]bool{"eq": true, "noteq": true, "gt": true, "gte": true, "lt": true, "lte": true,
	"has": true, "nothave": true, "regex": true, "valid_elements": true, "bitmask": true}

// compileCheck turns one kube-bench check into an item. notRunning, when
// set, makes the item not applicable: its target's components do not run.
func compileCheck(std *checks.Standard, nodeType string, ctl *controlsDef, g *groupDef, c *checkDef, pos checks.Position, notRunning string) (*checks.Item, []checks.Problem) {
	bad := func(format string, args ...any) checks.Problem {
		return checks.Problem{Pos: pos, Msg: fmt.Sprintf("check %s: %s", c.ID, fmt.Sprintf(format, args...))}
	}
	number := strings.TrimSpace(c.ID)
	if number == "" {
		return nil, []checks.Problem{{Pos: pos, Msg: "check without an id"}}
	}
	title := strings.Join(strings.Fields(c.Text), " ")
	if title == "" {
		title = number
	}
	category := strings.TrimSpace(g.Text)
	if category == "" {
		category = strings.TrimSpace(ctl.Text)
	}
	it := &checks.Item{
		ID: ItemID(std.ID, nodeType, number), Number: number, Title: title, Category: category,
		AssetType: assets.K8s, Target: checks.TargetNode, Risk: checks.RiskMedium, Scored: c.Scored,
		Description: fmt.Sprintf("%s %s, %s %s (%s)", ctl.ID, strings.TrimSpace(ctl.Text), g.ID, strings.TrimSpace(g.Text), std.Version),
		Procedure:   procedure(c),
		Remediation: strings.TrimSpace(c.Remediation),
		Standard:    std, Pos: pos,
	}
	if !c.Scored {
		it.Risk = checks.RiskLow
	}
	switch {
	case c.Type == typeSkip || g.Type == typeSkip:
		it.OnlyIf = []*checks.Condition{notApplicable("marked as skip in the benchmark (kube-bench reports it as INFO)")}
		return it, nil
	case c.Type == typeManual:
		return it, nil // reported as manual; kube-bench does not run its audit either
	case c.Scored && strings.TrimSpace(c.Type) == "" && c.Tests == nil:
		return it, nil // kube-bench: "There are no tests", a warning
	case c.Tests == nil || len(c.Tests.TestItems) == 0:
		return it, nil // kube-bench: "No tests defined", a failure when scored, else a warning
	}
	specs := make([]checks.TestSpec, 0, len(c.Tests.TestItems))
	var problems []checks.Problem
	for i, t := range c.Tests.TestItems {
		spec, err := convertTest(c, t)
		if err != nil {
			problems = append(problems, bad("test_items[%d]: %v", i, err))
			continue
		}
		specs = append(specs, spec)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	binOp := c.Tests.BinOp
	tests, err := checks.NewTests(binOp, specs)
	if err != nil {
		return nil, []checks.Problem{bad("%v", err)}
	}
	it.Automated = true
	it.Source = &checks.Source{Kind: checks.SourceShell, Shell: c.Audit, ConfigShell: c.AuditConfig, EnvShell: c.AuditEnv, Format: checks.FormatText}
	it.Tests = tests
	if notRunning != "" {
		it.OnlyIf = []*checks.Condition{notApplicable(notRunning)}
	}
	return it, nil
}

// procedure is the audit a person runs by hand: the command, and the one
// that prints the configuration file.
func procedure(c *checkDef) string {
	var b strings.Builder
	if a := strings.TrimSpace(c.Audit); a != "" {
		b.WriteString(a)
	}
	if a := strings.TrimSpace(c.AuditConfig); a != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Configuration: " + a)
	}
	return b.String()
}

// convertTest turns a kube-bench test item into one of ours with the same
// verdicts (see benchmarks/KUBE-BENCH.md for where they differ).
func convertTest(c *checkDef, t testItemDef) (checks.TestSpec, error) {
	set := true
	if t.Set != nil {
		set = *t.Set
	}
	spec := checks.TestSpec{Multi: c.IsMultiple}
	if !set {
		f := false
		spec.Set = &f // kube-bench ignores a comparison when set is false
	} else if op := t.Compare.Op; op != "" {
		var err error
		if spec.Op, spec.Value, err = compare(op, t.Compare.Value); err != nil {
			return spec, err
		}
	} else {
		tr := true
		spec.Set = &tr
	}
	// kube-bench reads a path only in the output of audit_config, and
	// only when the flag is not found in the audit's output. (A path
	// without flag nor audit_config, which kube-bench never reads, is read
	// in the audit's output.)
	path := t.Path
	if t.Flag != "" && strings.TrimSpace(c.AuditConfig) == "" {
		path = ""
	}
	switch {
	case t.Flag == "" && path == "" && t.Env == "":
		return spec, fmt.Errorf("a test needs a flag, a path or an env")
	case t.Flag != "" && strings.TrimSpace(t.Flag) != t.Flag:
		return spec, fmt.Errorf("flag %q: leading or trailing blanks", t.Flag)
	case t.Flag != "" && !flagFindsItself(t.Flag):
		return spec, fmt.Errorf("flag %q: kube-bench reads it as a regular expression that does not find it", t.Flag)
	}
	if strings.Contains(path, "{range") {
		// kube-bench joins a list with commas for valid_elements; each
		// element judged on its own gives the same verdict.
		m := rangeJoin.FindStringSubmatch(path)
		if m == nil || spec.Op != "valid_elements" && spec.Op != "" {
			return spec, fmt.Errorf("path %s: a range is understood only as a comma-joined list judged by valid_elements", path)
		}
		path = "{" + m[1] + "[*]}"
	}
	// The environment (audit_env's output) is read when neither the flag
	// nor the path is found, as kube-bench does.
	spec.Flag, spec.Path, spec.Env = t.Flag, path, t.Env
	if word := t.Flag != "" && !strings.HasPrefix(t.Flag, "-"); word && path == "" && set && spec.Op == "" {
		// A word that must appear in the output (root:root, "File not
		// found"): kube-bench looks for it anywhere in the text.
		spec.Flag, spec.Set, spec.Op, spec.Value = "", nil, "has", t.Flag
	}
	return spec, nil
}

// flagFindsItself reports whether kube-bench, which builds a regular
// expression around the flag's name, finds the name in a text holding it.
func flagFindsItself(flag string) bool {
	re, err := regexp.Compile(`(` + flag + `)(=|: *)*([^\s]*) *`)
	return err == nil && re.MatchString(flag)
}

// compare returns our comparison for a kube-bench one. Those whose
// outcome kube-bench fixes whatever the value (an operator it does not
// know, a boolean in capitals, a number that is not whole) become a
// regular expression that never or always matches, named after the
// reason.
func compare(op, value string) (string, string, error) {
	never := func(why string) (string, string, error) {
		return "regex", `[^\s\S]` + regexp.QuoteMeta(" never: "+why), nil
	}
	always := func(why string) (string, string, error) {
		return "regex", `|` + regexp.QuoteMeta("always: "+why), nil
	}
	if !kubeBenchOps[op] {
		return never(fmt.Sprintf("kube-bench has no operator %s", op))
	}
	switch op {
	case "eq", "noteq":
		// kube-bench lower-cases the value found, not the one expected.
		if l := strings.ToLower(value); (l == "true" || l == "false") && l != value {
			if op == "eq" {
				return never(fmt.Sprintf("kube-bench compares booleans with %s in lower case", value))
			}
			return always(fmt.Sprintf("kube-bench compares booleans with %s in lower case", value))
		}
	case "gt", "gte", "lt", "lte":
		if _, err := strconv.Atoi(strings.TrimSpace(value)); err != nil {
			return never(fmt.Sprintf("kube-bench compares whole numbers only, not %s", value))
		}
	case "regex":
		if _, err := regexp.Compile(value); err != nil {
			return "", "", fmt.Errorf("compare.value: bad regex (kube-bench would stop): %v", err)
		}
	case "valid_elements":
		if strings.Trim(strings.TrimSpace(value), ",") == "" {
			return never("an empty list of valid elements")
		}
	}
	return op, value, nil
}

// notApplicable is a condition that never holds, for items that must not
// run: its reason is the verdict's.
func notApplicable(reason string) *checks.Condition {
	return &checks.Condition{Reason: reason, Unmet: true}
}
