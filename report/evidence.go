package report

import (
	"strings"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// The exports write a row's evidence (checks.Evidence) as text in two
// ways: in one cell (CSV, XLSX) and one observation a line (SARIF, JUnit).
// Both show the observations that failed, or all of them when none did.

// evidenceText is a row's evidence in one cell: the observations that
// failed, or all of them when none failed, each as
// "subject: actual (expected ...)" (the source stands in for a missing
// subject), separated by " | ".
func evidenceText(r results.Row) string {
	failed := anyFailed(r.Evidence)
	size := 0
	for _, e := range r.Evidence {
		if !failed || !e.Passed {
			size += len(" | ") + max(len(e.Subject), len(e.Source)) + len(": ") + len(e.Actual) + len(" (expected )") + len(e.Expected)
		}
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, e := range r.Evidence {
		if failed && e.Passed {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteString(" | ")
		}
		subject := e.Subject
		if subject == "" {
			subject = e.Source
		}
		sb.WriteString(subject)
		sb.WriteString(": ")
		sb.WriteString(e.Actual)
		if e.Expected != "" {
			sb.WriteString(" (expected ")
			sb.WriteString(e.Expected)
			sb.WriteString(")")
		}
	}
	return sb.String()
}

// findingEvidence renders evidence one observation a line:
// "SOURCE SUBJECT = ACTUAL (expected EXPECTED)". With failedOnly, only the
// observations that failed (all of them if none is marked failed).
func findingEvidence(ev []checks.Evidence, failedOnly bool) []string {
	failed := failedOnly && anyFailed(ev)
	out := make([]string, 0, len(ev))
	for _, e := range ev {
		if failed && e.Passed {
			continue
		}
		s := e.Source
		if e.Subject != "" {
			s += " " + e.Subject
		}
		s += " = " + e.Actual
		if e.Expected != "" {
			s += " (expected " + e.Expected + ")"
		}
		out = append(out, s)
	}
	return out
}

// anyFailed reports whether an observation of ev failed.
func anyFailed(ev []checks.Evidence) bool {
	for _, e := range ev {
		if !e.Passed {
			return true
		}
	}
	return false
}

// evidenceLines is a row's evidence one observation a line, for people:
// the observations that failed (all of them when none failed), each in
// its plain-language Text when it has one, else as
// "subject: actual (expected ...)" (the source stands in for a missing
// subject).
func evidenceLines(r results.Row) []string {
	failed := anyFailed(r.Evidence)
	out := make([]string, 0, len(r.Evidence))
	for _, e := range r.Evidence {
		if failed && e.Passed {
			continue
		}
		if e.Text != "" {
			out = append(out, e.Text)
			continue
		}
		s := orDefault(e.Subject, e.Source) + ": " + e.Actual
		if e.Expected != "" {
			s += " (expected " + e.Expected + ")"
		}
		out = append(out, s)
	}
	return out
}
