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
