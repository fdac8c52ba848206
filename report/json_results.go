package report

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// The results are most of a scan's JSON document (one per item and
// asset): they are written field by field, in the bytes that
// encoding/json and appendIndent give for them, without reflection.

// writeResults writes the Results field.
func writeResults(j *jsonWriter, list []results.Result) {
	j.key("Results")
	if len(list) == 0 {
		j.raw("[]")
		j.end()
		return
	}
	j.raw("[\n")
	for i := range list {
		j.raw("    ")
		if b, ok := appendResult(j.indented[:0], &list[i]); ok {
			j.indented = b
			if j.err == nil {
				_, j.err = j.w.Write(b)
			}
		} else {
			j.indent(&list[i], "    ")
		}
		if i < len(list)-1 {
			j.raw(",\n")
		} else {
			j.raw("\n")
		}
	}
	j.raw("  ]")
	j.end()
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
	dst = appendJSONString(dst, string(r.Status))
	if r.Result != "" {
		dst = append(dst, ","+in+`"CheckResult": `...)
		dst = appendJSONString(dst, string(r.Result))
	}
	if r.Reason != "" {
		dst = append(dst, ","+in+`"Reason": `...)
		dst = appendJSONString(dst, r.Reason)
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
	dst = appendJSONString(dst, e.Source)
	if e.Subject != "" {
		dst = append(dst, ","+in+`"Subject": `...)
		dst = appendJSONString(dst, e.Subject)
	}
	dst = append(dst, ","+in+`"Actual": `...)
	dst = appendJSONString(dst, e.Actual)
	dst = append(dst, ","+in+`"Expected": `...)
	dst = appendJSONString(dst, e.Expected)
	dst = append(dst, ","+in+`"Passed": `...)
	dst = strconv.AppendBool(dst, e.Passed)
	if e.Text != "" {
		dst = append(dst, ","+in+`"Text": `...)
		dst = appendJSONString(dst, e.Text)
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

// jsonSafe tells the ASCII characters that a JSON string holds as they
// are: not control characters, the quote, the backslash, <, > or &.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := range safe {
		safe[c] = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return safe
}()

// appendJSONString appends s quoted as encoding/json quotes it, HTML
// escaping on: the quote, the backslash and control characters escaped
// (the usual ones by letter), <, > and & as \u00XX, invalid UTF-8 as
// \ufffd, and the line and paragraph separators escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, `\b`...)
			case '\f':
				dst = append(dst, `\f`...)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
