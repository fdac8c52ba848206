package checks

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// TestParsedFormGivesWhatYAMLGives parses the shipped standards ahead and
// reads them back: every file's definitions are exactly what the YAML
// decodes to (a false *bool stays false, an empty list stays empty), and
// every item keeps its line.
func TestParsedFormGivesWhatYAMLGives(t *testing.T) {
	fsys := os.DirFS("../benchmarks")
	raw, err := Precompile(fsys)
	if err != nil {
		t.Fatal(err)
	}
	parsed := decodeParsed(string(raw))
	if len(parsed) == 0 {
		t.Fatal("the parsed form decodes to nothing")
	}
	for name, p := range parsed {
		data, err := os.ReadFile("../benchmarks/" + name)
		if err != nil {
			t.Fatal(err)
		}
		def, root, ps := parseFile(name, data)
		if len(ps) > 0 {
			t.Fatalf("%s: %v", name, ps)
		}
		if !reflect.DeepEqual(&p.Def, def) {
			t.Errorf("%s: the parsed form differs from the YAML's definitions", name)
		}
		for j := range def.Items {
			if want := NodeLine(root, "items", j); p.ItemLines[j] != want {
				t.Errorf("%s: item %d at line %d, want %d", name, j, p.ItemLines[j], want)
			}
		}
		if !p.matches(fsys, name) {
			t.Errorf("%s: its content does not match its digest", name)
		}
	}
}

// TestLoadTakesUnchangedFilesFromTheParsedForm loads a tree with the
// parsed form of an older version of it: the unchanged file is taken from
// the parsed form, the edited one is parsed again, and a broken edit is
// reported at its line in the YAML.
func TestLoadTakesUnchangedFilesFromTheParsedForm(t *testing.T) {
	fsys := fstest.MapFS{
		"std/standard.yaml": {Data: []byte(stdHeader)},
		"std/5.yaml":        {Data: []byte("category: Runtime\nasset_type: container\nitems:\n" + item("7001", "5.1") + item("7002", "5.2"))},
	}
	raw, err := Precompile(fsys)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := Load(Tree{FS: fsys, Origin: "fx"})
	if err != nil {
		t.Fatal(err)
	}
	fromParsed, err := Load(Tree{FS: fsys, Origin: "fx", Parsed: string(raw)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{7001, 7002} {
		a, _ := fromYAML.Item(id)
		b, ok := fromParsed.Item(id)
		if !ok || a.Pos != b.Pos || a.Title != b.Title || a.Tests.Items[0].Path.Expr != b.Tests.Items[0].Path.Expr {
			t.Errorf("item %d: from the parsed form %+v, from YAML %+v", id, b, a)
		}
	}

	fsys["std/5.yaml"] = &fstest.MapFile{Data: []byte("category: Runtime\nasset_type: container\nitems:\n" + item("7001", "5.1") + item("7003", "5.3"))}
	cat, err := Load(Tree{FS: fsys, Origin: "fx", Parsed: string(raw)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Item(7003); !ok {
		t.Error("an edited file was taken from the parsed form of its old content")
	}

	fsys["std/5.yaml"] = &fstest.MapFile{Data: []byte("category: Runtime\nasset_type: container\nitems:\n" + item("7001", "5.1") + "    bogus: 1\n")}
	_, err = Load(Tree{FS: fsys, Origin: "fx", Parsed: string(raw)})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "fx/std/5.yaml:14: field bogus not found") {
		t.Errorf("a broken edit: %v", err)
	}
}

// TestLoadIgnoresAForeignParsedForm: a parsed form that is corrupt or was
// written for other definition types is not used.
func TestLoadIgnoresAForeignParsedForm(t *testing.T) {
	fsys := fstest.MapFS{
		"std/standard.yaml": {Data: []byte(stdHeader)},
		"std/5.yaml":        {Data: []byte("category: Runtime\nasset_type: container\nitems:\n" + item("7001", "5.1"))},
	}
	raw, err := Precompile(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"truncated":  string(raw[:len(raw)-3]),
		"old layout": strings.Replace(string(raw), "Finding string", "Finding strung", 1),
		"not one":    "hello",
	} {
		if decodeParsed(bad) != nil {
			t.Errorf("%s: decoded", name)
		}
		if _, err := Load(Tree{FS: fsys, Origin: "fx", Parsed: bad}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Precompile(fstest.MapFS{"std/standard.yaml": {Data: []byte("standard: [")}}); err == nil {
		t.Error("a broken file was parsed ahead")
	}
}
