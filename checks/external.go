package checks

import (
	"fmt"
)

// This file lets loaders of other benchmark formats (package
// checks/kubebench) build compiled items without going through the YAML
// definitions of this package: the tests are compiled by the same code, so
// that they are checked and behave exactly as the built-in ones.

// TestSpec describes one test, as a test item of a definition file does.
type TestSpec struct {
	// Flag, Path and Env locate the value (Flag and Path may go together:
	// the flag, else the path).
	Flag, Path, Env string
	// Set is the test's set: (nil: true).
	Set *bool
	// Op and Value are the comparison; Op "" means none. Match is "all"
	// (default) or "any".
	Op, Value, Match string
	// Multi judges each line of a text output on its own.
	Multi bool
}

// NewTests compiles tests combined with binOp ("", "and" or "or"). The
// error names the first test that does not compile.
func NewTests(binOp string, specs []TestSpec) (*Tests, error) {
	ts := &Tests{Op: And}
	switch binOp {
	case "", "and":
	case "or":
		ts.Op = Or
	default:
		return nil, fmt.Errorf("bin_op: %q is not and or or", binOp)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("test_items: at least one test is required")
	}
	for i, s := range specs {
		d := &testItemDef{Flag: s.Flag, Path: s.Path, Env: s.Env, Set: s.Set, UseMultipleValues: s.Multi}
		if s.Op != "" {
			d.Compare = &compareDef{Op: s.Op, Value: s.Value, Match: s.Match}
		}
		t, _, err := compileTest(d)
		if err != nil {
			return nil, fmt.Errorf("test_items[%d]: %w", i, err)
		}
		ts.Items = append(ts.Items, t)
	}
	return ts, nil
}

// Add adds standards built elsewhere to the catalog. A standard id already
// present, or an item id used twice (within the standards added or by an
// item already in the catalog), is a problem at the item's position;
// nothing is added when there is one.
func (c *Catalog) Add(stds ...*Standard) error {
	var problems []Problem
	seen := map[uint64]*Item{}
	ids := map[string]bool{}
	for _, s := range stds {
		pos := Position{File: s.Origin, Line: 1}
		if len(s.Items) > 0 {
			pos = s.Items[0].Pos
		}
		if _, dup := c.Standard(s.ID); dup || ids[s.ID] {
			problems = append(problems, Problem{pos, fmt.Sprintf("standard %q is already defined", s.ID)})
		}
		ids[s.ID] = true
		for _, it := range s.Items {
			prev, dup := c.items[it.ID]
			if !dup {
				prev, dup = seen[it.ID]
			}
			if dup {
				problems = append(problems, Problem{it.Pos, fmt.Sprintf("item id %d is already used by %s %s at %s", it.ID, prev.Standard.ID, prev.Number, prev.Pos)})
				continue
			}
			seen[it.ID] = it
		}
	}
	if len(problems) > 0 {
		return NewLoadError(problems)
	}
	if c.items == nil {
		c.items = map[uint64]*Item{}
	}
	for id, it := range seen {
		c.items[id] = it
	}
	c.Standards = append(c.Standards, stds...)
	return nil
}
