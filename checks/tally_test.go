package checks

import (
	"context"
	"fmt"
	"reflect"
	"testing"
)

// TestTallyAsWholeObservation: the subjects of a collection judged one at
// a time, in two tallies as two resources would be, give the verdict and
// evidence that the whole observation gives: all passing, some failing,
// and one that cannot be judged (the judging stops there).
func TestTallyAsWholeObservation(t *testing.T) {
	it := compileOne(t, "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.spec.replicas}", compare: {op: lte, value: "3"}}]}`)
	cases := map[string]struct {
		docs   []string
		status CheckStatus
		result CheckResult
	}{
		"all pass":       {[]string{`{"spec":{"replicas":1}}`, `{"spec":{"replicas":2}}`, `{"spec":{"replicas":3}}`}, CheckFinished, ResultPassed},
		"some fail":      {[]string{`{"spec":{"replicas":1}}`, `{"spec":{"replicas":5}}`, `{"spec":{"replicas":2}}`, `{"spec":{"replicas":9}}`}, CheckFinished, ResultFailed},
		"cannot compare": {[]string{`{"spec":{"replicas":5}}`, `{"spec":{"replicas":"many"}}`, `{"spec":{"replicas":1}}`}, CheckFailed, ""},
	}
	for name, c := range cases {
		docs := c.docs
		t.Run(name, func(t *testing.T) {
			subjects := make([]Subject, len(docs))
			for i, d := range docs {
				subjects[i] = Subject{Name: fmt.Sprintf("pod p%d", i), Doc: mustDoc(d)}
			}
			whole := it.Evaluate(context.Background(), fakeFacts{SourceContainer: {Subjects: subjects, Collection: "pods"}})
			tallies := []*Tally{it.Tests.Tally(it.Source), it.Tests.Tally(it.Source)}
			for i := range subjects {
				tallies[i*2/len(subjects)].Add(&subjects[i])
			}
			judged := Observation{Collection: "pods", Count: len(subjects), Judged: func(ts *Tests) (bool, []Evidence, error) {
				return TallyOutcome("pods", tallies)
			}}
			if whole.Status != c.status || whole.Result != c.result {
				t.Fatalf("the whole observation judged %s %s, want %s %s (%s)", whole.Status, whole.Result, c.status, c.result, whole.Reason)
			}
			got := it.Evaluate(context.Background(), fakeFacts{SourceContainer: judged})
			if !reflect.DeepEqual(got, whole) {
				t.Errorf("tallied: %+v\nwhole observation: %+v", got, whole)
			}
		})
	}
}
