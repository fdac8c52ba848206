package checks

import (
	"context"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary item files to the loader: it must return
// problems or a catalog, never panic.
func FuzzLoad(f *testing.F) {
	f.Add("category: C\nasset_type: container\nitems:\n" + item("1", "1.1"))
	f.Add("items:\n  - id: 1\n    tests: {test_items: [{path: \"{.a[\", compare: {op: regex, value: \"([\"}}]}\n")
	f.Add("items: [{id: -1, number: [], only_if: [{}]}]\n")
	f.Add("category: C\nasset_type: host\nitems:\n  - id: 2\n    number: \"2\"\n    title: t\n    risk: low\n    assessment: automated\n    source: {kind: file, glob: [\"/x/[*\"]}\n    tests: {test_items: [{flag: --a, compare: {op: bitmask, value: \"9\"}}]}\n")
	f.Fuzz(func(t *testing.T, body string) {
		fsys := fstest.MapFS{
			"s/standard.yaml": {Data: []byte(stdHeader)},
			"s/items.yaml":    {Data: []byte(body)},
		}
		_, _ = Load(Tree{FS: fsys, Origin: "fuzz"})
	})
}

// FuzzEvaluate runs compiled tests on arbitrary documents and outputs: a
// verdict always comes back, never a panic, and never a pass when the
// value could not be read.
func FuzzEvaluate(f *testing.F) {
	f.Add(`{"HostConfig":{"Privileged":false,"Memory":0}}`, "--icc=false --tls")
	f.Add(`[1,2,{"a":null}]`, "")
	f.Add(`a: [unclosed`, "flag: value")
	f.Fuzz(func(t *testing.T, text, args string) {
		it := compileFuzzItem(t)
		facts := fakeFacts{SourceShell: Observation{Subjects: []Subject{{Text: text + "\n" + args}}}}
		v := it.Evaluate(context.Background(), facts)
		if v.Status == CheckFailed && v.Result != "" {
			t.Fatalf("failed check with a result: %+v", v)
		}
	})
}

var fuzzItem *Item

func compileFuzzItem(t *testing.T) *Item {
	if fuzzItem == nil {
		fuzzItem = compileOne(t, "host", `
    assessment: automated
    audit: "true"
    tests:
      bin_op: or
      test_items:
        - {path: "{.HostConfig.Memory}", compare: {op: gt, value: "0"}}
        - {flag: --icc, compare: {op: eq, value: "false"}}
        - {path: "{..Privileged}", compare: {op: regex, value: "^f"}}
        - {compare: {op: bitmask, value: "644"}, use_multiple_values: true}`)
	}
	return fuzzItem
}
