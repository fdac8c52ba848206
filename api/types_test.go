package api_test

import (
	"testing"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// VerifyInfo names the first failed evidence with what was expected, else
// the first evidence, else the row's reason.
func TestVerifyInfo(t *testing.T) {
	inspect := checks.Evidence{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "true", Expected: "false"}
	passed := checks.Evidence{Source: "file /etc/docker/daemon.json", Subject: "icc", Actual: "false", Expected: "false", Passed: true}
	for _, tc := range []struct {
		row  results.Row
		want string
	}{
		{results.Row{Evidence: []checks.Evidence{passed, inspect}, Reason: "ignored"},
			"container inspect: {.HostConfig.Privileged} true (expected false)"},
		{results.Row{Evidence: []checks.Evidence{passed}}, "file /etc/docker/daemon.json: icc false"},
		{results.Row{Reason: "could not read"}, "could not read"},
		{results.Row{}, ""},
	} {
		if got := api.VerifyInfo(tc.row); got != tc.want {
			t.Errorf("VerifyInfo(%+v) = %q, want %q", tc.row, got, tc.want)
		}
	}
}
