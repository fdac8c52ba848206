package report

import (
	"strconv"
	"time"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/jsondoc"
	"github.com/baselinehq/baseline/results"
)

// The results are most of a scan's JSON document (one per item and
// asset): they are written field by field, in the bytes that
// encoding/json and appendIndent give for them, without reflection.

// writeResults writes the Results field.
func writeResults(j *jsonWriter, list []results.Result) {
	writeElements(j, "Results", list, j.result)
}

// result writes r as an element of the Results list.
func (j *jsonWriter) result(r *results.Result) {
	if b, ok := appendResult(j.indented[:0], r); ok {
		j.indented = b
		if j.err == nil {
			_, j.err = j.w.Write(b)
		}
		return
	}
	j.indent(r, "    ")
}

// appendResult appends r as an element of the Results list, indented; ok
// is false for what it leaves to encoding/json (a time that has no JSON
// form, whose error that gives).
func appendResult(dst []byte, r *results.Result) ([]byte, bool) {
	const in = "\n      "
	dst = append(dst, "{"+in+`"CustomerPolicyItemId": `...)
	dst = strconv.AppendUint(dst, r.ItemID, 10)
	dst = append(dst, ","+in+`"CustomerAssetId": `...)
	dst = strconv.AppendUint(dst, r.AssetID, 10)
	dst = append(dst, ","+in+`"CheckStatus": `...)
	dst = jsondoc.AppendString(dst, string(r.Status), true)
	if r.Result != "" {
		dst = append(dst, ","+in+`"CheckResult": `...)
		dst = jsondoc.AppendString(dst, string(r.Result), true)
	}
	if r.Reason != "" {
		dst = append(dst, ","+in+`"Reason": `...)
		dst = jsondoc.AppendString(dst, r.Reason, true)
	}
	if len(r.Evidence) > 0 {
		dst = append(dst, ","+in+`"VerifyInfo": [`...)
		for i := range r.Evidence {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendEvidence(dst, &r.Evidence[i])
		}
		dst = append(dst, in+"]"...)
	}
	dst = append(dst, ","+in+`"LastCheckTime": `...)
	dst, ok := appendJSONTime(dst, r.CheckedAt)
	return append(dst, "\n    }"...), ok
}

func appendEvidence(dst []byte, e *checks.Evidence) []byte {
	const in = "\n          "
	dst = append(dst, "\n        {"+in+`"Source": `...)
	dst = jsondoc.AppendString(dst, e.Source, true)
	if e.Subject != "" {
		dst = append(dst, ","+in+`"Subject": `...)
		dst = jsondoc.AppendString(dst, e.Subject, true)
	}
	dst = append(dst, ","+in+`"Actual": `...)
	dst = jsondoc.AppendString(dst, e.Actual, true)
	dst = append(dst, ","+in+`"Expected": `...)
	dst = jsondoc.AppendString(dst, e.Expected, true)
	dst = append(dst, ","+in+`"Passed": `...)
	dst = strconv.AppendBool(dst, e.Passed)
	if e.Text != "" {
		dst = append(dst, ","+in+`"Text": `...)
		dst = jsondoc.AppendString(dst, e.Text, true)
	}
	return append(dst, "\n        }"...)
}

// appendJSONTime appends t as time.Time's MarshalJSON does; ok is false
// for a time it refuses (a year outside 0-9999, an offset of a day or
// more).
func appendJSONTime(dst []byte, t time.Time) ([]byte, bool) {
	_, offset := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || offset <= -24*60*60 || offset >= 24*60*60 {
		return dst, false
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), true
}
