package report_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
)

// BenchmarkWriteJSON writes the JSON report of a host scan's size: 300
// containers judged on 40 items, each result with its evidence.
func BenchmarkWriteJSON(b *testing.B) {
	rep := largeReport(300, 40)
	b.ReportAllocs()
	for range b.N {
		if err := report.WriteJSON(io.Discard, rep, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// largeReport is a host scan's report: containers judged on items, each
// result with its evidence, one item in four failed.
func largeReport(containers, items int) *results.Report {
	std := newStandard("cis-docker-1.6.0")
	rep := &results.Report{StartedAt: clock, FinishedAt: clock, Standards: []*checks.Standard{std}}
	for i := range items {
		rep.Items = append(rep.Items, newItem(std, uint64(100500+i), assets.Container, checks.RiskHigh))
	}
	for a := range containers {
		asset := newAsset(uint64(7000+a), assets.Container, fmt.Sprintf("web-%03d", a))
		rep.Assets = append(rep.Assets, asset)
		for i, it := range rep.Items {
			v := passed()
			if i%4 == 0 {
				v = failed()
			}
			v.Evidence = []checks.Evidence{{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "false",
				Expected: "'{.HostConfig.Privileged}' is equal to 'false'", Passed: v.Result == checks.ResultPassed,
				Text: "privileged mode is false (expected false)"}}
			rep.Results = append(rep.Results, result(it, asset, v))
		}
	}
	return rep
}
