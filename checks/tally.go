package checks

import "fmt"

// Tally judges the subjects of a collection one at a time, as the tests
// judge a whole observation: a cluster's objects can be judged page by
// page as they are listed, and dropped. Only the evidence of failing
// subjects is kept.
type Tally struct {
	tests    *Tests
	src      *Source
	n        int
	failing  int
	evidence []Evidence
	err      error
}

// Tally starts judging the subjects of src one at a time.
func (ts *Tests) Tally(src *Source) *Tally { return &Tally{tests: ts, src: src} }

// Add judges one subject. After a subject that could not be judged, the
// rest are not judged (as in a whole observation).
func (t *Tally) Add(s *Subject) {
	if t.err != nil {
		return
	}
	t.n++
	mark := len(t.evidence)
	ok, evidence, err := t.tests.judgeSubject(t.src, s, t.evidence)
	if ok && err == nil {
		clear(evidence[mark:]) // only failing subjects are named
		evidence = evidence[:mark]
	}
	t.evidence = evidence
	if err != nil {
		t.err = err
		return
	}
	if !ok {
		t.failing++
	}
}

// TallyOutcome combines tallies of one source's collection, in the order
// of its subjects (a tally per resource, in the source's order), into what
// the tests give on the whole observation: whether all passed, the
// evidence (the collection's summary first) and the error that stopped
// judging.
func TallyOutcome(collection string, tallies []*Tally) (bool, []Evidence, error) {
	var evidence []Evidence
	n, failing := 0, 0
	var src *Source
	for _, t := range tallies {
		evidence = append(evidence, t.evidence...)
		if t.err != nil {
			return false, evidence, t.err
		}
		n, failing, src = n+t.n, failing+t.failing, t.src
	}
	if src == nil {
		return true, evidence, nil
	}
	sum := Evidence{Source: src.Describe(), Subject: collection,
		Actual:   fmt.Sprintf("%d of %d %s pass", n-failing, n, collection),
		Expected: fmt.Sprintf("all %d pass", n), Passed: failing == 0}
	return failing == 0, append([]Evidence{sum}, evidence...), nil
}
