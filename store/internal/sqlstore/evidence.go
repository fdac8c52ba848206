package sqlstore

import (
	"unicode/utf8"

	"github.com/baselinehq/baseline/checks"
)

// AppendEvidence appends a result's evidence as stored (a JSON array, the
// encoding of json.Marshal but for HTML characters, which it leaves
// unescaped) to buf, and nothing for none. It is written out field by
// field: an ingest encodes one per result, and reflection cost more than
// the rest of a row's work.
func AppendEvidence(buf []byte, ev []checks.Evidence) []byte {
	if len(ev) == 0 {
		return buf
	}
	buf = append(buf, '[')
	for i := range ev {
		e := &ev[i]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"Source":`...)
		buf = appendJSONString(buf, e.Source)
		if e.Subject != "" {
			buf = append(buf, `,"Subject":`...)
			buf = appendJSONString(buf, e.Subject)
		}
		buf = append(buf, `,"Actual":`...)
		buf = appendJSONString(buf, e.Actual)
		buf = append(buf, `,"Expected":`...)
		buf = appendJSONString(buf, e.Expected)
		if e.Passed {
			buf = append(buf, `,"Passed":true`...)
		} else {
			buf = append(buf, `,"Passed":false`...)
		}
		if e.Text != "" {
			buf = append(buf, `,"Text":`...)
			buf = appendJSONString(buf, e.Text)
		}
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: control characters, the
// quote and the backslash escaped, invalid UTF-8 replaced by U+FFFD, and
// U+2028 and U+2029 escaped (as encoding/json does).
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
