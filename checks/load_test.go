package checks

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/baselinehq/baseline/assets"
)

const stdHeader = `standard:
  id: test-std
  name: Test standard
  version: "1.0"
  asset_types: [host, container]
`

// item builds a valid container item; extra lines are appended to it.
func item(id, number string, extra ...string) string {
	s := `  - id: ` + id + `
    number: "` + number + `"
    title: Ensure something
    risk: high
    assessment: automated
    source: {kind: container}
    tests:
      test_items:
        - path: "{.HostConfig.Privileged}"
          compare: {op: eq, value: "false"}
`
	return s + strings.Join(extra, "")
}

func load(t *testing.T, files map[string]string) (*Catalog, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return Load(Tree{FS: fsys, Origin: "fx"})
}

func TestLoadValidStandard(t *testing.T) {
	cat, err := load(t, map[string]string{
		"std/standard.yaml": stdHeader,
		"std/5.yaml":        "category: Container Runtime\nasset_type: container\nitems:\n" + item("7001", "5.5"),
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	it, ok := cat.Item(7001)
	if !ok {
		t.Fatal("item 7001 not loaded")
	}
	if it.Number != "5.5" || it.AssetType != assets.Container || it.Risk != RiskHigh || !it.Automated || !it.Scored {
		t.Errorf("item fields = %+v", it)
	}
	if it.Category != "Container Runtime" {
		t.Errorf("category default from file not applied: %q", it.Category)
	}
	if it.Pos.File != "fx/std/5.yaml" || it.Pos.Line != 4 {
		t.Errorf("position = %s, want fx/std/5.yaml:4", it.Pos)
	}
	if it.Standard.ID != "test-std" || len(cat.Standards) != 1 {
		t.Errorf("standard = %+v", it.Standard)
	}
}

func TestLoadReportsProblemsWithFileAndLine(t *testing.T) {
	file := "category: C\nasset_type: container\nitems:\n"
	cases := []struct {
		name  string
		items string
		want  string // "file:line: message part"
	}{
		{"typo'd key", item("1", "1.1", "    platfrom: linux\n"), "fx/std/i.yaml:14: field platfrom not found in type item"},
		{"bad regex", strings.Replace(item("1", "1.1"), `{op: eq, value: "false"}`, `{op: regex, value: "(["}`, 1), "fx/std/i.yaml:13: item 1.1: tests: test_items[0]: compare.value: bad regex"},
		{"unknown operator", strings.Replace(item("1", "1.1"), "op: eq", "op: equals", 1), `fx/std/i.yaml:13: item 1.1: tests: test_items[0]: compare.op: unknown operator "equals"`},
		{"unknown source kind", strings.Replace(item("1", "1.1"), "kind: container", "kind: containr", 1), `fx/std/i.yaml:9: item 1.1: source: kind: "containr" is not one of`},
		{"source unfit for asset type", strings.Replace(item("1", "1.1"), "{kind: container}", "{kind: file, path: /etc/x}", 1), "fx/std/i.yaml:9: item 1.1: source: kind file cannot serve container items"},
		{"bad json path", strings.Replace(item("1", "1.1"), `"{.HostConfig.Privileged}"`, `"{.HostConfig.Privileged"`, 1), "fx/std/i.yaml:12: item 1.1: tests: test_items[0]: path"},
		{"missing title", strings.Replace(item("1", "1.1"), "    title: Ensure something\n", "", 1), "fx/std/i.yaml:4: item 1.1: title is required"},
		{"bad risk", strings.Replace(item("1", "1.1"), "risk: high", "risk: severe", 1), `fx/std/i.yaml:7: item 1.1: risk: unknown risk level "severe"`},
		{"bad assessment", strings.Replace(item("1", "1.1"), "assessment: automated", "assessment: auto", 1), `fx/std/i.yaml:8: item 1.1: assessment: "auto" is not automated or manual`},
		{"zero id", item("0", "1.1"), "fx/std/i.yaml:4: item 1.1: id is required"},
		{"duplicate id", item("5", "1.1") + item("5", "1.2"), "fx/std/i.yaml:14: item id 5 is already used by test-std 1.1 at fx/std/i.yaml:4"},
		{"duplicate number", item("5", "1.1") + item("6", "1.1"), `fx/std/i.yaml:14: number "1.1" is already used at fx/std/i.yaml:4`},
		{"wrong type", strings.Replace(item("1", "1.1"), "id: 1", "id: one", 1), "fx/std/i.yaml:4: cannot unmarshal !!str `one` into uint64"},
		{"yaml syntax", item("1", "1.1") + "  - id: [\n", "fx/std/i.yaml:"},
		{"automated without tests", "  - id: 1\n    number: \"1.1\"\n    title: t\n    risk: low\n    assessment: automated\n", "fx/std/i.yaml:8: item 1.1: an automated item needs a source"},
		{"set false with compare", strings.Replace(item("1", "1.1"), "          compare:", "          set: false\n          compare:", 1), "fx/std/i.yaml:14: item 1.1: tests: test_items[0]: compare has no meaning with set: false"},
		{"only_if without reason", item("1", "1.1", "    only_if:\n      - tests: {test_items: [{path: \"{.State.Status}\", compare: {op: eq, value: running}}]}\n"), "fx/std/i.yaml:15: item 1.1: only_if[0]: reason is required"},
		{"glob with bad pattern", "  - id: 1\n    number: \"1.1\"\n    title: t\n    risk: low\n    asset_type: host\n    assessment: automated\n    source: {kind: file, glob: [\"/etc/[\"]}\n    tests: {test_items: [{path: \"{.mode}\", compare: {op: bitmask, value: \"644\"}}]}\n", "fx/std/i.yaml:10: item 1.1: source: glob"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, map[string]string{"std/standard.yaml": stdHeader, "std/i.yaml": file + c.items})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error =\n%v\nwant it to contain\n%s", err, c.want)
			}
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	items := item("1", "1.1", "    platfrom: x\n") +
		strings.Replace(item("2", "1.2"), "op: eq", "op: equals", 1) +
		strings.Replace(item("3", "1.3"), `value: "false"`, `value: "(["`, 1)
	items = strings.Replace(items, "{op: eq, value: \"([\"}", "{op: regex, value: \"([\"}", 1)
	_, err := load(t, map[string]string{"std/standard.yaml": stdHeader, "std/i.yaml": "category: C\nasset_type: container\nitems:\n" + items})
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("want *LoadError, got %v", err)
	}
	if len(le.Problems) != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", len(le.Problems), err)
	}
	for _, p := range le.Problems {
		if p.Pos.File != "fx/std/i.yaml" || p.Pos.Line == 0 {
			t.Errorf("problem without file:line: %s", p)
		}
	}
}

func TestLoadRejectsFilesOutsideAStandard(t *testing.T) {
	_, err := load(t, map[string]string{"loose/items.yaml": "items: []\n"})
	if err == nil || !strings.Contains(err.Error(), "fx/loose/items.yaml:1: not part of a standard") {
		t.Fatalf("error = %v", err)
	}
}

func TestLoadRejectsBadStandardHeader(t *testing.T) {
	_, err := load(t, map[string]string{"std/standard.yaml": "standard:\n  id: x\n  asset_types: [hosts]\n  engines: \">=>= 1\"\n"})
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"standard.name is required", "standard.version is required", `fx/std/standard.yaml:3: standard.asset_types: unknown asset type "hosts"`, "fx/std/standard.yaml:4: standard.engines: bad version constraint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLoadRejectsDuplicatesAcrossTrees(t *testing.T) {
	defaults := "category: C\nasset_type: container\nitems:\n"
	a := fstest.MapFS{"std/standard.yaml": {Data: []byte(stdHeader + defaults + item("9", "1.1"))}}
	b := fstest.MapFS{"other/standard.yaml": {Data: []byte(strings.Replace(stdHeader, "test-std", "other-std", 1) + defaults + item("9", "2.1"))}}
	_, err := Load(Tree{FS: a, Origin: "a"}, Tree{FS: b, Origin: "b"})
	if err == nil || !strings.Contains(err.Error(), "item id 9 is already used by test-std 1.1 at a/std/standard.yaml:") {
		t.Fatalf("error = %v", err)
	}
	c := fstest.MapFS{"std/standard.yaml": {Data: []byte(stdHeader)}}
	_, err = Load(Tree{FS: a, Origin: "a"}, Tree{FS: c, Origin: "c"})
	if err == nil || !strings.Contains(err.Error(), `standard "test-std" is already defined`) {
		t.Fatalf("error = %v", err)
	}
}
