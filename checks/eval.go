package checks

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/baselinehq/baseline/internal/cmdline"
	"github.com/baselinehq/baseline/internal/jsondoc"
)

// Subject is one thing a source yielded: a document, a text, flags and
// environment. A source may yield several (each file of a glob); every one
// must pass.
type Subject struct {
	// Name says where the subject came from, for evidence.
	Name string
	// Doc is the structured document addressed by `path` tests.
	Doc any
	// Text is the raw output addressed by `flag` tests when Flags is nil.
	Text string
	// Flags are parsed command-line flags, keyed by name with dashes.
	Flags map[string][]string
	// Env holds environment variables for `env` tests.
	Env map[string]string
	// Masked tells evidence to hide env values.
	Masked bool
	// Missing explains an absent subject ("file /x does not exist"); it is
	// shown in evidence when a test finds nothing.
	Missing string
}

// Observation is what one source yielded for one asset.
type Observation struct {
	Subjects []Subject
	// Empty explains why there are no subjects (nothing matched).
	Empty string
	// Collection marks many objects of one kind (a cluster's pods): the
	// evidence names every failing object and counts the passing ones.
	Collection string
	// Partial says what the observation lacks (an image without a
	// recorded build history): tests that pass on it prove nothing, and
	// the item is left to review (RESULT_MANUAL, saying so); a failure
	// stands.
	Partial string
	// Judged, when set, stands for the subjects of a collection that were
	// judged as they were read (see Tally) and not kept: it gives the
	// outcome of the tests on them. Count is how many there were.
	Judged func(ts *Tests) (bool, []Evidence, error)
	Count  int
}

// empty says whether the observation has no subject.
func (o *Observation) empty() bool {
	if o.Judged != nil {
		return o.Count == 0
	}
	return len(o.Subjects) == 0
}

// Facts serves audit sources for one asset. Implementations cache what they
// read, so that every item of a scan shares one read of each source.
type Facts interface {
	Observe(ctx context.Context, src *Source) (Observation, error)
}

// Evaluate judges the item on the asset whose facts are given. It never
// panics and never returns a pass for something it could not evaluate.
func (it *Item) Evaluate(ctx context.Context, facts Facts) Verdict {
	for _, c := range it.OnlyIf {
		if c.Unmet {
			return Verdict{Status: CheckFinished, Result: ResultNotApplicable, Reason: c.Reason}
		}
		src := c.Source
		if src == nil {
			src = it.Source
		}
		obs, err := facts.Observe(ctx, src)
		if err != nil {
			return Failed(fmt.Sprintf("%s: %v", src.Describe(), err))
		}
		ok, ev, err := c.Tests.evaluate(src, obs)
		if err != nil {
			return Verdict{Status: CheckFailed, Reason: err.Error(), Evidence: ev}
		}
		if !ok {
			return Verdict{Status: CheckFinished, Result: ResultNotApplicable, Reason: c.Reason, Evidence: ev}
		}
	}
	if it.Source == nil || it.Tests == nil {
		if it.Automated {
			return Failed("item has no audit source")
		}
		return Verdict{Status: CheckFinished, Result: ResultManual, Reason: "manual review required"}
	}
	obs, err := facts.Observe(ctx, it.Source)
	if err != nil {
		return Failed(fmt.Sprintf("%s: %v", it.Source.Describe(), err))
	}
	if obs.empty() {
		reason := obs.Empty
		if reason == "" {
			reason = "nothing to check: " + it.Source.Describe() + " found nothing"
		}
		if !it.Automated {
			// A manual recommendation is never settled by the tool.
			return Verdict{Status: CheckFinished, Result: ResultManual, Reason: "manual review required; " + reason}
		}
		return Verdict{Status: CheckFinished, Result: ResultNotApplicable, Reason: reason}
	}
	ok, ev, err := it.Tests.evaluate(it.Source, obs)
	if err != nil {
		return Verdict{Status: CheckFailed, Reason: err.Error(), Evidence: ev}
	}
	v := Verdict{Status: CheckFinished, Evidence: ev}
	switch {
	case !it.Automated:
		v.Result = ResultManual
		v.Reason = "manual review required; evidence collected"
	case ok && obs.Partial != "":
		v.Result = ResultManual
		v.Reason = "review required: " + obs.Partial
		v.Evidence = append(v.Evidence, Evidence{Source: it.Source.Describe(), Actual: obs.Partial,
			Expected: "facts enough to judge the item", Text: "not judged: " + obs.Partial})
	case ok:
		v.Result = ResultPassed
	case it.ReviewOnFail:
		v.Result = ResultManual
		v.Reason = ReviewReason
	default:
		v.Result = ResultFailed
	}
	return v
}

// ReviewReason is the reason of a review verdict (ReviewOnFail): the
// evidence holds the tests that failed.
const ReviewReason = "review required: the recommendation is not scored and its tests failed (see the evidence)"

// evaluate runs the tests on every subject; all subjects must pass.
func (ts *Tests) evaluate(src *Source, obs Observation) (bool, []Evidence, error) {
	if obs.Judged != nil {
		return obs.Judged(ts)
	}
	all := true
	var evidence []Evidence
	if obs.Collection == "" && len(obs.Subjects) == 1 {
		evidence = make([]Evidence, 0, len(ts.Items))
	}
	failing := 0
	for i := range obs.Subjects {
		s := &obs.Subjects[i]
		mark := len(evidence)
		var ok bool
		var err error
		ok, evidence, err = ts.judgeSubject(src, s, evidence)
		if obs.Collection != "" && ok && err == nil {
			// A collection's evidence names only its failing subjects.
			clear(evidence[mark:])
			evidence = evidence[:mark]
		}
		if err != nil {
			return false, evidence, err
		}
		if !ok {
			failing++
		}
		all = all && ok
	}
	if obs.Collection != "" {
		n := len(obs.Subjects)
		sum := Evidence{Source: src.Describe(), Subject: obs.Collection,
			Actual:   fmt.Sprintf("%d of %d %s pass", n-failing, n, obs.Collection),
			Expected: fmt.Sprintf("all %d pass", n), Passed: failing == 0}
		evidence = append([]Evidence{sum}, evidence...)
	}
	return all, evidence, nil
}

// judgeSubject runs the tests on one subject, appending their evidence to
// evidence.
func (ts *Tests) judgeSubject(src *Source, s *Subject, evidence []Evidence) (bool, []Evidence, error) {
	result := ts.Op == And
	for _, t := range ts.Items {
		mark := len(evidence)
		var ok bool
		var err error
		ok, evidence, err = t.evaluate(s, evidence)
		if s.Name == "" {
			for i := mark; i < len(evidence); i++ {
				evidence[i].Source = src.Describe()
			}
		}
		if err != nil {
			return false, evidence, fmt.Errorf("%s: %s: %w", sourceName(src, s), t.Subject(), err)
		}
		if ts.Op == And {
			result = result && ok
		} else {
			result = result || ok
		}
	}
	return result, evidence, nil
}

func sourceName(src *Source, s *Subject) string {
	if s.Name != "" {
		return s.Name
	}
	return src.Describe()
}

// evaluate runs one test on one subject, appending its evidence to
// evidence. With use_multiple_values, each line of the subject's text is
// a subject of its own and all must pass.
func (t *Test) evaluate(s *Subject, evidence []Evidence) (bool, []Evidence, error) {
	if t.Multi && s.Doc == nil && s.Flags == nil {
		lines := strings.Split(strings.TrimRight(s.Text, " \n"), "\n")
		all := true
		for _, line := range lines {
			ls := Subject{Name: s.Name, Text: line}
			var ok bool
			var err error
			ok, evidence, err = t.evaluateOne(&ls, evidence)
			if err != nil {
				return false, evidence, err
			}
			all = all && ok
		}
		return all, evidence, nil
	}
	return t.evaluateOne(s, evidence)
}

// evaluateOne judges one subject; a test with a label also says it in
// words.
func (t *Test) evaluateOne(s *Subject, evidence []Evidence) (bool, []Evidence, error) {
	ok, ev, err := t.judge(s)
	if t.Label != "" {
		ev.Text = t.Label + " is " + ev.Actual + " (expected " + t.Expect + ")"
	}
	return ok, append(evidence, ev), err
}

// judge judges one subject and says what it found.
func (t *Test) judge(s *Subject) (bool, Evidence, error) {
	vals, found, fromEnv, err := t.locate(s)
	ev := Evidence{Source: s.Name, Subject: t.Subject()}
	if err != nil {
		ev.Actual = "error: " + err.Error()
		return false, ev, err
	}
	ev.Actual = t.describeActual(s, vals, found, fromEnv)
	ev.Expected = t.expected()
	if !t.Set {
		ev.Passed = !found
		return ev.Passed, ev, nil
	}
	if t.Compare == nil || !found {
		ev.Passed = found && t.Compare == nil
		return ev.Passed, ev, nil
	}
	ok, err := t.compareAll(vals)
	if err != nil {
		if ev.Actual == maskedActual {
			err = maskValues(err, vals) // "value \"secret\" is not a number"
		}
		ev.Actual += " (" + err.Error() + ")"
		return false, ev, err
	}
	ev.Passed = ok
	return ok, ev, nil
}

// expected says what the test expects, for evidence: that its subject is
// not set, is set, or compares as its comparison wants.
func (t *Test) expected() string { return t.said().expected }

// expectation is expected, said anew of subject.
func (t *Test) expectation(subject string) string {
	switch {
	case !t.Set:
		return fmt.Sprintf("'%s' is not set", subject)
	case t.Compare != nil:
		return t.Compare.Expect(subject)
	}
	return fmt.Sprintf("'%s' is set", subject)
}

func (t *Test) compareAll(vals []string) (bool, error) {
	for _, v := range vals {
		ok, err := t.Compare.Match(v)
		if err != nil {
			return false, err
		}
		if t.Compare.Any && ok {
			return true, nil
		}
		if !t.Compare.Any && !ok {
			return false, nil
		}
	}
	return !t.Compare.Any, nil
}

// maskedActual is the evidence of a value found in an environment.
const maskedActual = "set (value masked)"

// maskValues removes masked values from a comparison's error.
func maskValues(err error, vals []string) error {
	msg := err.Error()
	for _, v := range vals {
		if v != "" {
			msg = strings.ReplaceAll(msg, strconv.Quote(v), "(masked)")
			msg = strings.ReplaceAll(msg, v, "(masked)")
		}
	}
	return errors.New(msg)
}

// describeActual says what a test found. A value found in an environment
// is never shown, wherever the environment came from (a container's, a
// process's environment printed by an audit): environments hold secrets.
func (t *Test) describeActual(s *Subject, vals []string, found, fromEnv bool) string {
	if !found {
		if s.Missing != "" {
			return "not set (" + s.Missing + ")"
		}
		return "not set"
	}
	if fromEnv || t.Env != "" && s.Masked {
		return maskedActual
	}
	if len(vals) == 1 {
		return vals[0]
	}
	return "[" + strings.Join(vals, ", ") + "]"
}

// find locates the test's values in the subject; found is false when the
// flag, path or variable is absent or empty.
func (t *Test) find(s *Subject) (vals []string, found bool, err error) {
	vals, found, _, err = t.locate(s)
	return vals, found, err
}

// locate is find, saying also whether the values came from an environment.
func (t *Test) locate(s *Subject) (vals []string, found, fromEnv bool, err error) {
	// Locators given together are tried in order: the flag (a process's
	// flag overrides its configuration file), the path in the
	// configuration document, then the environment (kube-bench's order).
	if t.Flag != "" {
		if v, ok := t.findFlag(s); ok {
			return v, true, false, nil
		}
		if t.Path == nil && t.Env == "" {
			return nil, false, false, nil
		}
	}
	if t.Path != nil {
		doc := s.Doc
		if doc == nil && t.Flag == "" {
			// A path alone may read a text output as a document.
			if strings.TrimSpace(s.Text) != "" {
				if doc, err = parseDocument(s.Text); err != nil {
					return nil, false, false, err
				}
			}
		}
		if doc != nil {
			if vals, err = t.Path.Find(doc); err != nil || len(vals) > 0 {
				return vals, len(vals) > 0, false, err
			}
		}
		if t.Env == "" {
			return nil, false, false, nil
		}
	}
	if t.Env != "" {
		env := s.Env
		if env == nil {
			env = ParseEnv(s.Text)
		}
		v, ok := env[t.Env]
		if !ok {
			return nil, false, false, nil
		}
		return []string{v}, true, true, nil
	}
	// No locator: the whole text output is the value.
	out := strings.TrimSpace(s.Text)
	if out == "" {
		return nil, false, false, nil
	}
	return []string{out}, true, false, nil
}

// findFlag finds a flag: a command-line flag (--name) by its whole name in
// the subject's parsed flags or its text; a word (a name without dashes,
// such as "permissions" in `permissions=600` or a feature gate inside
// --feature-gates=A=true,B=false) as a whole word in the text, with the
// value after "=" or ":" (the word itself when none follows).
func (t *Test) findFlag(s *Subject) ([]string, bool) {
	if strings.HasPrefix(t.Flag, "-") || s.Text == "" {
		flags := s.Flags
		if flags == nil {
			flags = cmdline.ParseFlags(strings.Fields(s.Text))
		}
		v, ok := flags[t.Flag]
		if ok || strings.HasPrefix(t.Flag, "-") {
			return v, ok
		}
	}
	m := t.wordRe().FindStringSubmatch(s.Text)
	if m == nil {
		return nil, false
	}
	if m[2] != "" {
		return []string{m[2]}, true
	}
	return []string{t.Flag}, true
}

var wordRes sync.Map // word → *regexp.Regexp

// wordRe matches the test's word as a whole word, with an optional value.
func (t *Test) wordRe() *regexp.Regexp {
	if re, ok := wordRes.Load(t.Flag); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(`(?:^|[^\w.-])(` + regexp.QuoteMeta(t.Flag) + `)(?:(?:=|:[ \t]*)([^\s,]+))?(?:$|[^\w.-])`)
	wordRes.Store(t.Flag, re)
	return re
}

// parseDocument reads a text as JSON, or failing that as YAML.
func parseDocument(text string) (any, error) {
	if doc, err := jsondoc.Decode([]byte(text)); err == nil {
		return doc, nil
	}
	var doc any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("output is neither JSON nor YAML: %v", err)
	}
	return jsondoc.Prune(doc), nil
}

// ParseEnv reads KEY=value lines (an environment as text).
func ParseEnv(text string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k != "" {
			env[k] = v
		}
	}
	return env
}
