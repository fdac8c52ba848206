package benchmarks_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/checks"
)

// Every shipped standard requires its wording, and every automated item
// of it has its finding and, for each test, a label and an expectation;
// the sentences read as the evidence shows them.
func TestEveryShippedAutomatedItemIsWorded(t *testing.T) {
	cat := loadBuiltin(t)
	worded := 0
	for _, s := range cat.Standards {
		if !s.WordingRequired {
			t.Errorf("%s: its standard.yaml must say wording: required", s.ID)
		}
		for _, it := range s.Items {
			if !it.Automated {
				continue
			}
			if it.Finding == "" || strings.HasSuffix(it.Finding, ".") || it.Finding != strings.TrimSpace(it.Finding) {
				t.Errorf("%s %s: finding %q: a sentence without a final period", s.ID, it.Number, it.Finding)
			}
			if it.Tests == nil {
				continue
			}
			for i, tc := range it.Tests.Items {
				if tc.Label == "" || tc.Expect == "" {
					t.Errorf("%s %s: test %d has no label or expectation", s.ID, it.Number, i)
				}
			}
			worded++
		}
	}
	if worded < 200 { // 88 CIS Docker, 20 house, 94 CIS Kubernetes items
		t.Errorf("%d automated items worded; the shipped standards have 202", worded)
	}
}

// A worded test renders its evidence as "label is actual (expected
// expect)" on a real evaluation: CIS Docker 5.5 on a privileged container.
func TestWordedEvidenceOfAShippedItem(t *testing.T) {
	cat := loadBuiltin(t)
	var item *checks.Item
	for _, it := range cat.Items() {
		if it.Standard.ID == "cis-docker-1.6.0" && it.Number == "5.5" {
			item = it
		}
	}
	if item == nil {
		t.Fatal("CIS Docker 5.5 not found")
	}
	v := item.Evaluate(context.Background(), inspect(`{"HostConfig": {"Privileged": true}}`))
	if v.Result != checks.ResultFailed || len(v.Evidence) == 0 {
		t.Fatalf("verdict %+v, want failed with evidence", v)
	}
	text := v.Evidence[0].Text
	if !strings.Contains(text, " is true (expected ") {
		t.Errorf("evidence in words = %q", text)
	}
}

// inspect serves one container inspect document.
type inspect string

func (d inspect) Observe(context.Context, *checks.Source) (checks.Observation, error) {
	var doc any
	err := json.Unmarshal([]byte(d), &doc)
	return checks.Observation{Subjects: []checks.Subject{{Name: "container", Doc: doc}}}, err
}
