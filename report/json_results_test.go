package report

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// TestResultsWrittenAsEncodingJSONWritesThem compares each result written
// field by field with what encoding/json and appendIndent write for it:
// escapes (HTML, control characters, invalid UTF-8, line separators),
// empty and absent fields, times in zones and at nanoseconds.
func TestResultsWrittenAsEncodingJSONWritesThem(t *testing.T) {
	odd := []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "bad \xff\xfe utf8 \xe2\x82", "sep \u2028 and \u2029", "unicode é 中文 🙂", "}{][,:"}
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -(3*3600 + 17)), time.FixedZone("z", 25*3600)}
	var list []results.Result
	for i, s := range odd {
		for j, loc := range zones {
			ev := []checks.Evidence{{Source: s, Subject: odd[(i+1)%len(odd)], Actual: s, Expected: "e", Passed: j%2 == 0, Text: odd[(i+j)%len(odd)]}}
			if j == 1 {
				ev = append(ev, checks.Evidence{Source: "second"})
			}
			if j == 2 {
				ev = []checks.Evidence{} // empty: left out, as nil is
			}
			list = append(list, results.Result{ItemID: uint64(i) << 40, AssetID: 18446744073709551615,
				Verdict:   checks.Verdict{Status: checks.CheckFinished, Result: checks.CheckResult(odd[(i+j)%len(odd)]), Reason: s, Evidence: ev},
				CheckedAt: time.Date(2026, 1, 2, 3, 4, 5, i*1000+j, loc)})
		}
	}
	list = append(list, results.Result{}, results.Result{CheckedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	for i := range list {
		compact.Reset()
		encErr := enc.Encode(&list[i])
		want := appendIndent(nil, bytes.TrimSuffix(compact.Bytes(), []byte("\n")), "    ")
		got, ok := appendResult(nil, &list[i])
		if !ok {
			if encErr == nil {
				t.Errorf("result %d left to encoding/json, which encodes it", i)
			}
			continue
		}
		if encErr != nil {
			t.Errorf("result %d written, encoding/json: %v", i, encErr)
		} else if !bytes.Equal(got, want) {
			t.Errorf("result %d:\n%s\nencoding/json:\n%s", i, got, want)
		}
	}
}
