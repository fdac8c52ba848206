package sqlstore

import (
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
