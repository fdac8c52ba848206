package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/baselinehq/baseline/results"
)

// JUnitEncoder writes the export as JUnit XML, for CI systems that show
// test reports (Jenkins, GitLab, Azure DevOps, ...):
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<testsuites name="baseline">
//	  <testsuite name="ASSET_CONTAINER/web-1/4503599627370002" tests="3" failures="1" errors="0" skipped="1" timestamp="...">
//	    <properties>...the asset's (or item's) ids...</properties>
//	    <testcase classname="ASSET_CONTAINER/web-1/4503599627370002" name="cis-docker-1.6.0/5.5 Ensure that privileged containers are not used">
//	      <failure message="EVIDENCE" type="RISK_CRITICAL">EVIDENCE, REMEDIATION</failure>
//	    </testcase>
//	    ...
//	  </testsuite>
//	  ...
//	</testsuites>
//	<!-- baseline-results-sha256=HEX baseline-content-sha256=HEX -->
//
// One testsuite per asset (By asset) or per item (By item); one testcase
// per row, whose classname is the suite's key ("<AssetType>/<name>/<id>"
// for an asset, "<StandardId>/<BenchmarkNumber>" for an item) and whose
// name is the other one (an item's name carries its title). By outcome:
// PASSED is a bare testcase; FAILED a <failure> typed with the risk;
// CHECK_FAILED an <error> whose message is the reason; MANUAL,
// NOT_APPLICABLE and IGNORED a <skipped> ("manual review",
// "not applicable: REASON", "waived: WAIVER REASON").
//
// Streaming. Consumers want a testsuite's counts (tests, failures, errors,
// skipped) on its opening tag, and they are known only at its end; the rows
// arrive grouped by the suite's key. So the encoder buffers one suite at a
// time (its encoded testcases, not its rows) and writes it when the key
// changes: memory is bounded by the largest suite, about 150 testcases for
// an asset or one per asset (say 10,000) for an item. Rows that are not
// grouped still make a correct file, with one suite per run of equal keys.
// The root <testsuites> carries no totals: they would be known only after
// the last suite, and the attributes are optional. The integrity digests
// are in an XML comment after the root element, the file's last bytes.
//
// Everything is escaped with encoding/xml's EscapeText (characters that
// XML 1.0 cannot hold become U+FFFD); multi-line text keeps its line breaks.
type JUnitEncoder struct{}

// junitTrailer is the export's last line, after </testsuites>.
const junitTrailer = "<!-- {results} {content} -->\n"

// Format implements Encoder.
func (JUnitEncoder) Format() string { return "junit" }

// Ext implements Encoder.
func (JUnitEncoder) Ext() string { return ".xml" }

// junitSuite is the suite being buffered.
type junitSuite struct {
	key                              uint64
	open                             bool
	first                            results.Row
	tests, failures, errors, skipped int
	cases                            bytes.Buffer
}

// Encode implements Encoder; see JUnitEncoder for the buffering.
func (JUnitEncoder) Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error {
	m := src.Meta()
	byItem := m.By == ByItemGroup
	waivers := newFindingWaivers(m.Waivers)
	timestamp := FormatTime(m.GeneratedAt)

	bw := newFindingOut(in.Writer())
	bw.str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"")
	junitEscape(bw, orDefault(m.Tool.Name, "baseline"))
	bw.str("\">\n")

	var s junitSuite
	flush := func() {
		if s.open {
			junitWriteSuite(bw, &s, byItem, timestamp)
		}
	}
	err := src.Rows(ctx, func(r results.Row) error {
		in.AddRow(r)
		key := groupKey(r, byItem)
		if !s.open || key != s.key {
			flush()
			s.open, s.key, s.first = true, key, r
			s.tests, s.failures, s.errors, s.skipped = 0, 0, 0, 0
			s.cases.Reset()
		}
		junitWriteCase(&s, r, byItem, waivers)
		return nil
	})
	if err != nil {
		return err
	}
	flush()
	bw.str("</testsuites>\n")
	return finishText(w, in, bw, junitTrailer, "junit export")
}

// junitKeys returns a row's suite key and label and its testcase name.
func junitKeys(r results.Row, byItem bool) (classname, suite, name string) {
	item := findingRuleID(r)
	itemLabel := item + " " + r.Title
	asset := findingAssetKey(r)
	if byItem {
		return item, itemLabel, asset
	}
	return asset, asset, itemLabel
}

// junitWriteCase encodes one testcase into the suite's buffer and counts it.
func junitWriteCase(s *junitSuite, r results.Row, byItem bool, waivers findingWaivers) {
	b := &s.cases
	classname, _, name := junitKeys(r, byItem)
	s.tests++
	b.WriteString("    <testcase classname=\"")
	junitEscape(b, classname)
	b.WriteString("\" name=\"")
	junitEscape(b, name)
	b.WriteString("\"")
	c := junitCaseResult(r, waivers)
	switch c.elem {
	case "":
		b.WriteString("/>\n")
		return
	case "failure":
		s.failures++
	case "error":
		s.errors++
	default:
		s.skipped++
	}
	b.WriteString(">\n")
	c.write(b)
	b.WriteString("    </testcase>\n")
}

// junitResult is what a testcase holds besides its names: a <failure>,
// <error> or <skipped> element (elem; none for a passed row) with its
// message, its type (optional) and its text, one line of body each.
type junitResult struct {
	elem, message, typ string
	body               []string
}

// junitCaseResult is a row's result as its testcase shows it.
func junitCaseResult(r results.Row, waivers findingWaivers) junitResult {
	var c junitResult
	switch r.Outcome() {
	case "PASSED":
	case "FAILED":
		failed := findingEvidence(r.Evidence, true)
		c = junitResult{elem: "failure", typ: string(r.Risk), message: orDefault(strings.Join(failed, "; "), "failed"), body: failed}
		if r.Reason != "" {
			c.body = append(c.body, "reason: "+r.Reason)
		}
		if r.Remediation != "" {
			c.body = append(c.body, "remediation: "+r.Remediation)
		}
	case "CHECK_FAILED":
		c = junitResult{elem: "error", typ: "CHECK_FAILED", message: orDefault(r.Reason, "the check could not be carried out")}
	case "IGNORED":
		c = junitResult{elem: "skipped", message: "waived: " + waivers.find(r).reason(), body: findingEvidence(r.Evidence, true)}
	case "MANUAL":
		c = junitResult{elem: "skipped", message: "manual review"}
		if r.Reason != "" {
			c.body = append(c.body, r.Reason)
		}
		c.body = append(c.body, findingEvidence(r.Evidence, false)...)
	case "NOT_APPLICABLE":
		c = junitResult{elem: "skipped", message: "not applicable", body: findingEvidence(r.Evidence, false)}
		if r.Reason != "" {
			c.message += ": " + r.Reason
		}
	default:
		c = junitResult{elem: "skipped", message: "no result (" + string(r.Status) + ")"}
	}
	return c
}

// write encodes the result's element, indented inside its testcase.
func (c junitResult) write(b *bytes.Buffer) {
	b.WriteString("      <")
	b.WriteString(c.elem)
	b.WriteString(" message=\"")
	junitEscape(b, c.message)
	b.WriteString("\"")
	if c.typ != "" {
		b.WriteString(" type=\"")
		junitEscape(b, c.typ)
		b.WriteString("\"")
	}
	if len(c.body) == 0 {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">")
	for i, line := range c.body {
		if i > 0 {
			b.WriteByte('\n')
		}
		junitEscapeText(b, line)
	}
	b.WriteString("</")
	b.WriteString(c.elem)
	b.WriteString(">\n")
}

// junitWriteSuite writes the buffered suite with its counts.
func junitWriteSuite(w findingOut, s *junitSuite, byItem bool, timestamp string) {
	r := s.first
	_, label, _ := junitKeys(r, byItem)
	w.str("  <testsuite name=\"")
	junitEscape(w, label)
	fmt.Fprintf(w, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\"", s.tests, s.failures, s.errors, s.skipped)
	if timestamp != "" {
		w.str(" timestamp=\"" + timestamp + "\"")
	}
	if !byItem && r.NodeName != "" {
		w.str(" hostname=\"")
		junitEscape(w, r.NodeName)
		w.str("\"")
	}
	w.str(">\n    <properties>\n")
	prop := func(name, value string) {
		w.str("      <property name=\"" + name + "\" value=\"")
		junitEscape(w, value)
		w.str("\"/>\n")
	}
	if byItem {
		prop("CustomerPolicyItemId", Itoa(r.ItemID))
		prop("StandardId", r.StandardID)
		prop("BenchmarkNumber", r.Number)
		prop("Name", r.Title)
		prop("Category", r.Category)
		prop("RiskLevel", string(r.Risk))
		prop("AssetType", string(r.AssetType))
	} else {
		prop("CustomerAssetId", Itoa(r.AssetID))
		prop("AssetName", r.AssetName)
		prop("AssetType", string(r.AssetType))
		prop("NodeName", r.NodeName)
	}
	w.str("    </properties>\n")
	w.raw(s.cases.Bytes())
	w.str("  </testsuite>\n")
}

// junitEscape writes s escaped for an attribute value (or text): <, >, &,
// quotes, tabs and line breaks become references.
// A write error is the writer's to report: the suite buffer cannot fail
// and the bufio.Writer's error is sticky, returned by its Flush.
func junitEscape(w io.Writer, s string) {
	if junitPlain(s) {
		_, _ = io.WriteString(w, s)
		return
	}
	_ = xml.EscapeText(w, []byte(s))
}

// junitPlain reports whether s is printable ASCII that needs no escaping,
// the common case, written as it is.
func junitPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '<', c == '>', c == '&', c == '\'', c == '"':
			return false
		}
	}
	return true
}

// junitEscapeText writes s escaped as element text, keeping its line
// breaks as they are (a carriage return stays a reference, so that it
// survives XML's line-end normalisation).
func junitEscapeText(w io.Writer, s string) {
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			_, _ = io.WriteString(w, "\n")
		}
		junitEscape(w, line)
	}
}
