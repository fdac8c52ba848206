package cli

import (
	"flag"
	"regexp"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/internal/testhost"
)

// The default table of a scan is the summary view: the failed items, each
// with its risk, number, assets, finding and fix; the other items counted
// in one line; then the summary per asset type. --details and --by asset
// give every finding with its evidence.
func TestScanDefaultViewIsASummary(t *testing.T) {
	root := testhost.Tree(t, "loose")
	args := []string{"scan", "--host-root", root, "--no-docker", "--type", "host", "--no-store", "--progress", "never"}
	code, out, stderr := run(t, args...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour on output that is not a terminal:\n%s", out)
	}
	head := regexp.MustCompile(`(?m)^FAILED (critical|high|medium|low|notice) +\S+ +on \d+ hosts?: `)
	failed := head.FindAllString(out, -1)
	if len(failed) == 0 {
		t.Fatalf("no failed item listed:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\d+ items? failed \(`).MatchString(out) {
		t.Errorf("no count of the failed items:\n%s", out)
	}
	if n := strings.Count(out, "\n    fix: "); n == 0 || n > len(failed) {
		t.Errorf("%d fix lines for %d failed items:\n%s", n, len(failed), out)
	}
	if !strings.Contains(out, "list every item with --by item") || !strings.Contains(out, "Summary: ") {
		t.Errorf("no line counting the other items, or no summary:\n%s", out)
	}
	for _, table := range []string{"Assets", "Findings"} {
		if strings.Contains(out, "│ "+table+" ") {
			t.Errorf("the summary view has the %s table:\n%s", table, out)
		}
	}
	if n := strings.Count(out, "\n"); n > 3*len(failed)+30 {
		t.Errorf("%d lines for %d failed items:\n%s", n, len(failed), out)
	}

	_, details, _ := run(t, append(args, "--details")...)
	_, byAsset, _ := run(t, append(args, "--by", "asset")...)
	if !strings.Contains(details, "│ Findings") || !strings.Contains(details, "│ Assets") {
		t.Errorf("--details lacks the asset and findings tables:\n%s", details)
	}
	strip := regexp.MustCompile(`Summary: .*s +│`)
	if strip.ReplaceAllString(details, "") != strip.ReplaceAllString(byAsset, "") {
		t.Errorf("--details differs from --by asset:\n%s\n---\n%s", details, byAsset)
	}
	if code, _, stderr := run(t, append(args, "--details", "--by", "item")...); code != ExitError {
		t.Errorf("--details --by item: exit %d, %s", code, stderr)
	}
}

var updateGolden = flag.Bool("update", false, "rewrite the golden files of testdata/")

// The fixture hosts' default tables, with the shipped wording: each failing
// item says its finding and what was read in words (the scan's duration is
// the only value that changes from run to run).
func TestFixtureHostTablesGolden(t *testing.T) {
	duration := regexp.MustCompile(`(Summary: [^│]*, )\d+\.\d+s`)
	for _, host := range []string{"loose", "hardened"} {
		t.Run(host, func(t *testing.T) {
			root := testhost.Tree(t, host)
			code, out, stderr := run(t, "scan", "--host-root", root, "--no-docker", "--type", "host", "--no-store", "--progress", "never")
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := duration.ReplaceAllString(out, "${1}0.00s")
			testhost.Golden(t, "table_"+host+".golden", []byte(got), *updateGolden, func(want, got []byte) string { return string(got) })
		})
	}
}
