package report

import (
	"fmt"
	"strings"
)

// outcomeWords lists Row.Outcome's words in the order the exports count
// them (the HTML tallies, the XLSX Items and Assets columns).
var outcomeWords = []string{"PASSED", "FAILED", "IGNORED", "MANUAL", "NOT_APPLICABLE", "CHECK_FAILED"}

// The slots of an outcomeTally, in outcomeWords' order; outcomeOther counts
// any other word.
const (
	outcomePassed = iota
	outcomeFailed
	outcomeIgnored
	outcomeManual
	outcomeNotApplicable
	outcomeCheckFailed
	outcomeOther
)

// outcomeTally counts rows by outcome.
type outcomeTally [outcomeOther + 1]int

// outcomeSlot is the slot of o, a Row.Outcome word, in an outcomeTally.
func outcomeSlot(o string) int {
	for i, w := range outcomeWords {
		if w == o {
			return i
		}
	}
	return outcomeOther
}

// String is the tally as the HTML export shows it: "3 PASSED · 1 FAILED",
// the slots that are not zero in order, or "no results".
func (t outcomeTally) String() string {
	var parts []string
	for i, n := range t {
		if n == 0 {
			continue
		}
		name := "other"
		if i < len(outcomeWords) {
			name = outcomeWords[i]
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
	}
	if len(parts) == 0 {
		return "no results"
	}
	return strings.Join(parts, " · ")
}
