package checks

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

// A test with a label and an expectation says its evidence in words.
func TestEvidenceInWords(t *testing.T) {
	it := compileOne(t, "container", `    assessment: automated
    finding: the container runs as root
    source: {kind: container}
    tests:
      test_items:
        - path: "{.Config.User}"
          label: the user
          expect: a non-root user
          compare: {op: noteq, value: root}
`)
	if it.Finding != "the container runs as root" {
		t.Errorf("Finding = %q", it.Finding)
	}
	v := it.Evaluate(context.Background(), fakeFacts{SourceContainer: doc(`{"Config": {"User": "root"}}`)})
	if v.Result != ResultFailed || len(v.Evidence) != 1 {
		t.Fatalf("verdict %+v, want one failed evidence", v)
	}
	if got, want := v.Evidence[0].Text, "the user is root (expected a non-root user)"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if v.Evidence[0].Actual != "root" || v.Evidence[0].Expected == "" {
		t.Errorf("the technical evidence must stay: %+v", v.Evidence[0])
	}
}

// In a standard whose wording is required, an automated item without its
// finding, or a test without its label and expectation, fails loading
// with the file and line; a manual item needs none.
func TestWordingRequired(t *testing.T) {
	header := stdHeader + "  wording: required\n"
	items := `category: C
asset_type: container
items:
  - id: 1
    number: "1"
    title: t
    risk: high
    assessment: automated
    source: {kind: container}
    tests:
      test_items:
        - path: "{.Config.User}"
          set: true
  - id: 2
    number: "2"
    title: manual
    risk: low
    assessment: manual
`
	_, err := Load(Tree{FS: fstest.MapFS{"s/standard.yaml": {Data: []byte(header)}, "s/i.yaml": {Data: []byte(items)}}, Origin: "t"})
	if err == nil {
		t.Fatal("an automated item without its wording loaded")
	}
	for _, want := range []string{"t/s/i.yaml:4: item 1: finding is required", "t/s/i.yaml:12: item 1: tests: test_items[0]: label and expect are required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "item 2") {
		t.Errorf("a manual item needs no wording:\n%v", err)
	}
	bad := strings.Replace(header, "wording: required", "wording: maybe", 1)
	if _, err := Load(Tree{FS: fstest.MapFS{"s/standard.yaml": {Data: []byte(bad)}}, Origin: "t"}); err == nil || !strings.Contains(err.Error(), "standard.wording") {
		t.Errorf("wording: maybe: %v", err)
	}
}

// label and expect go together.
func TestLabelNeedsExpect(t *testing.T) {
	items := "category: C\nasset_type: container\nitems:\n  - id: 1\n    number: \"1\"\n    title: t\n    risk: high\n    assessment: automated\n" +
		"    source: {kind: container}\n    tests:\n      test_items:\n        - path: \"{.Config.User}\"\n          label: the user\n          set: true\n"
	_, err := Load(Tree{FS: fstest.MapFS{"s/standard.yaml": {Data: []byte(stdHeader)}, "s/i.yaml": {Data: []byte(items)}}, Origin: "t"})
	if err == nil || !strings.Contains(err.Error(), "label and expect go together") {
		t.Errorf("a label without expect: %v", err)
	}
}
