package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/baselinehq/baseline/checks"
)

// TestAppendEvidenceDecodesAsMarshal checks that the stored evidence
// decodes to what was stored, for every kind of character that a string
// escapes, and matches json.Marshal byte for byte where that does not
// escape HTML characters.
func TestAppendEvidenceDecodesAsMarshal(t *testing.T) {
	cases := [][]checks.Evidence{
		nil,
		{{Source: "inspect", Actual: "true", Expected: "false"}},
		{{Source: "file /etc/docker/daemon.json", Subject: "icc", Actual: "a \"quoted\" \\ value\n\t\r", Expected: "x", Passed: true, Text: "the user is root"},
			{Source: "env", Actual: "nul \x00 bell \x07 del \x7f", Expected: ""}},
		{{Source: "bad utf-8 \xff\xfe end", Actual: "line\u2028sep\u2029é中", Expected: "🙂"}},
	}
	for i, ev := range cases {
		got := AppendEvidence(nil, ev)
		if len(ev) == 0 {
			if len(got) != 0 {
				t.Errorf("case %d: no evidence encodes as %q, want nothing", i, got)
			}
			continue
		}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("case %d: encoded\n%s\nwant (json.Marshal)\n%s", i, got, want)
		}
		var back, wantBack []checks.Evidence
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("case %d: %s does not decode: %v", i, got, err)
		}
		_ = json.Unmarshal(want, &wantBack)
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("case %d: decodes to %+v, want %+v", i, back, wantBack)
		}
	}
}

// ParseEvidence decodes stored evidence as json.Unmarshal does: in
// AppendEvidence's form (read field by field) and in any other (HTML
// escapes as json.Marshal writes them, other key orders, spaces, an empty
// array, null, invalid JSON).
func TestParseEvidenceDecodesAsUnmarshal(t *testing.T) {
	for i, raw := range evidenceSeeds() {
		checkParseEvidence(t, i, raw)
	}
}

// FuzzParseEvidence compares ParseEvidence with json.Unmarshal on any
// text.
func FuzzParseEvidence(f *testing.F) {
	for _, raw := range evidenceSeeds() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) { checkParseEvidence(t, 0, raw) })
}

// evidenceSeeds are stored evidence of every form ParseEvidence meets.
func evidenceSeeds() []string {
	seeds := []string{
		"",
		"null",
		"[]",
		`[{"Source":"container","Subject":"{.Config.User}","Actual":"<not set>","Expected":"set","Passed":false}]`,
		`[{"Source":"container","Subject":"{.Config.User}","Actual":"\u003cnot set\u003e","Expected":"set","Passed":false}]`,
		`[{"Source":"a","Actual":"b","Expected":"c","Passed":true,"Text":"d"},{"Source":"e","Actual":"","Expected":"","Passed":false}]`,
		`[{"Actual":"b","Source":"a","Expected":"c","Passed":true}]`,
		`[ {"Source":"a","Actual":"b","Expected":"c","Passed":true} ]`,
		`[{"Source":"a","Actual":"b","Expected":"c","Passed":true}`,
		`[{"Source":"a","Actual":"b","Expected":"c","Passed":1}]`,
		`[{"Source":"a","Subject":"","Actual":"b","Expected":"c","Passed":false,"Text":""}]`,
		"[{\"Source\":\"tab\there\",\"Actual\":\"b\",\"Expected\":\"c\",\"Passed\":true}]",
		"[{\"Source\":\"bad \xff utf-8\",\"Actual\":\"b\",\"Expected\":\"c\",\"Passed\":true}]",
		`[{"source":"a","actual":"b","expected":"c","passed":true}]`,
	}
	for _, ev := range [][]checks.Evidence{
		{{Source: "file /etc/docker/daemon.json", Subject: "icc", Actual: "a \"quoted\" \\ value\n\t\r", Expected: "x", Passed: true, Text: "the user is root"},
			{Source: "env", Actual: "nul \x00 bell \x07 del \x7f", Expected: ""}},
		{{Source: "line\u2028sep\u2029é中", Actual: "🙂", Expected: "<b>&</b>"}},
	} {
		seeds = append(seeds, string(AppendEvidence(nil, ev)))
		raw, _ := json.Marshal(ev)
		seeds = append(seeds, string(raw))
	}
	return seeds
}

// checkParseEvidence compares ParseEvidence with json.Unmarshal on raw
// (case i).
func checkParseEvidence(t *testing.T, i int, raw string) {
	t.Helper()
	var want []checks.Evidence
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &want)
	}
	if got := ParseEvidence(raw); !reflect.DeepEqual(got, want) {
		t.Errorf("case %d: %q decodes to %#v, want %#v", i, raw, got, want)
	}
}
