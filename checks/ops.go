package checks

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
)

// compileCompare checks the operator and pre-parses its operand, so that a
// bad regex, mask or version constraint fails the load, not the scan.
func compileCompare(d *compareDef) (*Compare, error) {
	c := &Compare{Op: Op(d.Op), Value: d.Value}
	switch d.Match {
	case "", "all":
	case "any":
		c.Any = true
	default:
		return nil, fmt.Errorf("compare.match: %q is not all or any", d.Match)
	}
	switch c.Op {
	case OpEq, OpNotEq, OpHas, OpNotHave:
	case OpGt, OpGte, OpLt, OpLte:
		n, err := strconv.ParseFloat(strings.TrimSpace(d.Value), 64)
		if err != nil {
			return nil, fmt.Errorf("compare.value: %q is not a number (op %s)", d.Value, d.Op)
		}
		c.num = n
	case OpRegex, OpNotRegex:
		// Checked now, compiled when first used: most of a catalog's
		// regexes are not used by a scan (another asset type's items).
		if _, err := syntax.Parse(d.Value, syntax.Perl); err != nil {
			return nil, fmt.Errorf("compare.value: bad regex: %v", err)
		}
		c.re = &lazyRegexp{expr: d.Value}
	case OpValidElements:
		c.elements = map[string]bool{}
		for _, e := range splitElements(d.Value) {
			c.elements[e] = true
		}
		if len(c.elements) == 0 {
			return nil, fmt.Errorf("compare.value: valid_elements needs a comma-separated list")
		}
	case OpBitmask:
		m, err := strconv.ParseInt(strings.TrimSpace(d.Value), 8, 64)
		if err != nil || m < 0 {
			return nil, fmt.Errorf("compare.value: %q is not an octal mode (op bitmask)", d.Value)
		}
		c.mask = m
	case OpSemver:
		v, err := semver.NewConstraint(d.Value)
		if err != nil {
			return nil, fmt.Errorf("compare.value: bad version constraint %q: %v", d.Value, err)
		}
		c.version = v
	case "":
		return nil, fmt.Errorf("compare.op: missing")
	default:
		return nil, fmt.Errorf("compare.op: unknown operator %q (want one of %s)", d.Op, opList())
	}
	return c, nil
}

func opList() string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}

func splitElements(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Expect describes, for evidence, what the comparison wants of subject.
func (c *Compare) Expect(subject string) string {
	q := ""
	if c.Any {
		q = "some value of "
	}
	switch c.Op {
	case OpEq:
		return fmt.Sprintf("%s'%s' is equal to '%s'", q, subject, c.Value)
	case OpNotEq:
		return fmt.Sprintf("%s'%s' is not equal to '%s'", q, subject, c.Value)
	case OpGt:
		return fmt.Sprintf("%s'%s' is greater than %s", q, subject, c.Value)
	case OpGte:
		return fmt.Sprintf("%s'%s' is greater than or equal to %s", q, subject, c.Value)
	case OpLt:
		return fmt.Sprintf("%s'%s' is lower than %s", q, subject, c.Value)
	case OpLte:
		return fmt.Sprintf("%s'%s' is lower than or equal to %s", q, subject, c.Value)
	case OpHas:
		return fmt.Sprintf("%s'%s' has '%s'", q, subject, c.Value)
	case OpNotHave:
		return fmt.Sprintf("%s'%s' does not have '%s'", q, subject, c.Value)
	case OpRegex:
		return fmt.Sprintf("%s'%s' matches /%s/", q, subject, c.Value)
	case OpNotRegex:
		return fmt.Sprintf("%s'%s' does not match /%s/", q, subject, c.Value)
	case OpValidElements:
		return fmt.Sprintf("%s'%s' holds only elements of '%s'", q, subject, c.Value)
	case OpBitmask:
		return fmt.Sprintf("%s'%s' is %s or more restrictive", q, subject, c.Value)
	case OpSemver:
		return fmt.Sprintf("%s'%s' satisfies %s", q, subject, c.Value)
	}
	return string(c.Op)
}

// Match applies the comparison to one value. A value that the operator
// cannot read (a non-number for gt, a non-octal mode for bitmask, a
// non-version for semver) is an error, never a pass.
func (c *Compare) Match(v string) (bool, error) {
	switch c.Op {
	case OpEq:
		return equal(v, c.Value), nil
	case OpNotEq:
		return !equal(v, c.Value), nil
	case OpGt, OpGte, OpLt, OpLte:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return false, fmt.Errorf("value %q is not a number", v)
		}
		switch c.Op {
		case OpGt:
			return n > c.num, nil
		case OpGte:
			return n >= c.num, nil
		case OpLt:
			return n < c.num, nil
		}
		return n <= c.num, nil
	case OpHas:
		return strings.Contains(v, c.Value), nil
	case OpNotHave:
		return !strings.Contains(v, c.Value), nil
	case OpRegex, OpNotRegex:
		re, err := c.re.get()
		if err != nil {
			return false, err
		}
		return re.MatchString(v) == (c.Op == OpRegex), nil
	case OpValidElements:
		for _, e := range splitElements(v) {
			if !c.elements[e] {
				return false, nil
			}
		}
		return true, nil
	case OpBitmask:
		m, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
		if err != nil || m < 0 {
			return false, fmt.Errorf("value %q is not an octal mode", v)
		}
		return m&^c.mask == 0, nil
	case OpSemver:
		ver, err := semver.NewVersion(strings.TrimPrefix(strings.TrimSpace(v), "v"))
		if err != nil {
			return false, fmt.Errorf("value %q is not a version", v)
		}
		return c.version.Check(ver), nil
	}
	return false, fmt.Errorf("unknown operator %q", c.Op)
}

// equal compares booleans case-insensitively (as kube-bench does) and
// everything else exactly.
func equal(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if (la == "true" || la == "false") && (lb == "true" || lb == "false") {
		return la == lb
	}
	return a == b
}

// lazyRegexp is a regex checked when loaded and compiled when first used.
type lazyRegexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
	err  error
}

func (l *lazyRegexp) get() (*regexp.Regexp, error) {
	l.once.Do(func() { l.re, l.err = regexp.Compile(l.expr) })
	return l.re, l.err
}
