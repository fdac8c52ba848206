package sqlstore

import (
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/jsondoc"
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
		buf = jsondoc.AppendString(buf, e.Source, false)
		if e.Subject != "" {
			buf = append(buf, `,"Subject":`...)
			buf = jsondoc.AppendString(buf, e.Subject, false)
		}
		buf = append(buf, `,"Actual":`...)
		buf = jsondoc.AppendString(buf, e.Actual, false)
		buf = append(buf, `,"Expected":`...)
		buf = jsondoc.AppendString(buf, e.Expected, false)
		if e.Passed {
			buf = append(buf, `,"Passed":true`...)
		} else {
			buf = append(buf, `,"Passed":false`...)
		}
		if e.Text != "" {
			buf = append(buf, `,"Text":`...)
			buf = jsondoc.AppendString(buf, e.Text, false)
		}
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

// ParseEvidence decodes a result's stored evidence as json.Unmarshal
// does, nil for none. Evidence in AppendEvidence's form whose strings
// need no unescaping (nearly all) is read field by field, its strings
// taken from s without a copy: a page holds up to 100 rows' evidence, and
// decoding them through reflection cost more than reading the rows. Any
// other is decoded by encoding/json's successor with encoding/json's
// semantics.
func ParseEvidence(s string) []checks.Evidence {
	if s == "" {
		return nil
	}
	if ev, ok := parseEvidence(s); ok {
		return ev
	}
	var ev []checks.Evidence
	_ = jsonv2.Unmarshal([]byte(s), &ev, jsonv1.DefaultOptionsV1())
	return ev
}

// parseEvidence reads evidence in AppendEvidence's form; false for
// anything else.
func parseEvidence(s string) ([]checks.Evidence, bool) {
	p := evidenceParser{s: s}
	if !p.literal("[") {
		return nil, false
	}
	out := make([]checks.Evidence, 0, 1+strings.Count(s, `},{"Source":`))
	for {
		var e checks.Evidence
		ok := p.literal(`{"Source":`) && p.str(&e.Source)
		if ok && p.literal(`,"Subject":`) {
			ok = p.str(&e.Subject)
		}
		ok = ok && p.literal(`,"Actual":`) && p.str(&e.Actual) && p.literal(`,"Expected":`) && p.str(&e.Expected) && p.literal(`,"Passed":`)
		switch {
		case !ok:
			return nil, false
		case p.literal("true"):
			e.Passed = true
		case !p.literal("false"):
			return nil, false
		}
		if p.literal(`,"Text":`) && !p.str(&e.Text) || !p.literal("}") {
			return nil, false
		}
		out = append(out, e)
		if p.literal("]") {
			return out, p.i == len(s)
		}
		if !p.literal(",") {
			return nil, false
		}
	}
}

// evidenceParser reads stored evidence from its position i.
type evidenceParser struct {
	s string
	i int
}

// literal consumes w if it comes next.
func (p *evidenceParser) literal(w string) bool {
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	p.i += len(w)
	return true
}

// str reads a string that needs no unescaping (valid UTF-8, without a
// backslash or a control character) into v.
func (p *evidenceParser) str(v *string) bool {
	if !p.literal(`"`) {
		return false
	}
	rest := p.s[p.i:]
	n := strings.IndexByte(rest, '"')
	if n < 0 {
		return false
	}
	for j := range n {
		if c := rest[j]; c < 0x20 || c == '\\' {
			return false
		}
	}
	if !utf8.ValidString(rest[:n]) {
		return false
	}
	*v = rest[:n]
	p.i += n + 1
	return true
}
