package report_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// htmlPlantedDigest is an asset name that tries to pass itself off as the
// export's results digest.
var htmlPlantedDigest = report.ResultsMarker + strings.Repeat("ab", 32)

// htmlFixture is one fixed export, grouped by item: a passed, a failed, an
// ignored (waived), a manual, a not-applicable and a check-failed result,
// an asset whose name is a script, one whose name plants a digest marker,
// two waivers, the summary figures of three asset types and a trend over
// three tasks. Every time is fixed.
func htmlFixture() *report.SliceSource {
	at := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	const cis = "cis-docker-1.6.0"
	privileged := results.Row{ItemID: 100505, Number: "5.5", Title: "Ensure that privileged containers are not used", Category: "Container Runtime",
		StandardID: cis, Risk: checks.RiskCritical, AssetType: assets.Container, Remediation: "Remove --privileged.", TaskID: 7,
		CheckedAt: "2025-03-14 09:26:54", Status: checks.CheckFinished}
	row := func(base results.Row, id uint64, name string, res checks.CheckResult, ev ...checks.Evidence) results.Row {
		base.AssetID, base.AssetName, base.NodeName, base.Result, base.Evidence = id, name, "node-1", res, ev
		return base
	}
	privEv := func(actual string, ok bool) checks.Evidence {
		return checks.Evidence{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: actual,
			Expected: "'{.HostConfig.Privileged}' is equal to 'false'", Passed: ok}
	}
	failed := row(privileged, 4503599627370002, "web-1", checks.ResultFailed, privEv("true", false))
	script := row(privileged, 4503599627370004, `<script>alert("x")</script>`, checks.ResultPassed, privEv("false", true))
	ignored := row(privileged, 4503599627370005, "db-1", checks.ResultFailed, privEv("true", false))
	ignored.Ignored = true
	planted := row(privileged, 4503599627370006, htmlPlantedDigest, checks.ResultPassed, privEv("false", true))

	mounts := results.Row{ItemID: 100506, Number: "5.6", Title: "Ensure sensitive host system directories are not mounted on containers",
		Category: "Container Runtime", StandardID: cis, Risk: checks.RiskHigh, AssetType: assets.Container, TaskID: 7,
		CheckedAt: "2025-03-14 09:26:55", Status: checks.CheckFinished, Remediation: "Do not mount sensitive host directories."}
	mountsOK := row(mounts, 4503599627370002, "web-1", checks.ResultPassed, checks.Evidence{Source: "container inspect",
		Subject: "{.Mounts[*].Source}", Actual: "[/srv/www]", Expected: "'{.Mounts[*].Source}' does not match /^/(boot|dev|etc)?$/", Passed: true})

	hardened := results.Row{ItemID: 100119, Number: "1.2.1", Title: "Ensure the container host has been Hardened", Category: "Host Configuration",
		StandardID: cis, Risk: checks.RiskLow, AssetType: assets.Host, TaskID: 7, CheckedAt: "2025-03-14 09:26:53",
		Status: checks.CheckFinished, Reason: "manual review required; evidence collected", Remediation: "Harden the host."}
	manual := row(hardened, 4503599627370001, "node-1", checks.ResultManual, checks.Evidence{Source: "/etc/os-release",
		Subject: "PRETTY_NAME", Actual: "Debian GNU/Linux 13 (trixie)", Expected: "reviewed by hand"})

	swarm := results.Row{ItemID: 100702, Number: "7.2", Title: "Ensure that swarm services are bound to a specific host interface",
		Category: "Docker Swarm Configuration", StandardID: cis, Risk: checks.RiskMedium, AssetType: assets.Host, TaskID: 7,
		CheckedAt: "2025-03-14 09:26:53", Status: checks.CheckFinished, Reason: "swarm mode is not active", Remediation: "Re-initialise the swarm with --listen-addr."}
	na := row(swarm, 4503599627370001, "node-1", checks.ResultNotApplicable, checks.Evidence{Source: "docker info",
		Subject: "{.Swarm.LocalNodeState}", Actual: "inactive", Expected: "'{.Swarm.LocalNodeState}' is equal to 'active'"})

	user := results.Row{ItemID: 100401, Number: "4.1", Title: "Ensure that a user for the container has been created",
		Category: "Container Images and Build File Configuration", StandardID: cis, Risk: checks.RiskHigh, AssetType: assets.Image, TaskID: 7,
		CheckedAt: "2025-03-14 09:26:56", Status: checks.CheckFailed, Reason: "Error response from daemon: No such image: sha256:9b1d2c3e4f5a",
		Remediation: "Add a USER instruction to the Dockerfile."}
	checkFailed := row(user, 4503599627370003, "nginx:1.25", "")

	rows := []results.Row{manual, checkFailed, failed, script, ignored, planted, mountsOK, na}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ItemID < rows[j].ItemID })

	task := func(id int64, d int) time.Time {
		return at.Add(time.Duration(d-7) * 24 * time.Hour).Add(time.Duration(id) * time.Minute)
	}
	m := report.Meta{
		SchemaVersion: report.ExportSchemaVersion, Tool: report.Tool{Name: "baseline", Version: "1.4.0-test"},
		GeneratedAt: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC), By: report.ByItemGroup,
		TaskIDs: []int64{7}, From: at, To: at.Add(3 * time.Second),
		Standards: []report.StandardInfo{{ID: cis, Name: "CIS Docker Benchmark", Version: "1.6.0", Description: "CIS Docker Benchmark v1.6.0", ItemCount: 117}},
		Hosts:     []string{"node-1"},
		Summary: []store.AssetSummary{
			{AssetType: assets.Host, CheckStatus: checks.CheckFinished, PassedPolicyItemCount: 31, FailedPolicyItemCount: 4,
				FailedMediumRiskPolicyItemCount: 3, FailedLowRiskPolicyItemCount: 1, PassedAssetCount: 0, FailedAssetCount: 1,
				AssetPassedRate: 0, CheckCostTime: 1.25, LastCheckTime: "2025-03-14 09:26:53", TotalPolicyItemCount: 40,
				OpenPolicyItemCount: 40, DetectHostCount: 1, AssetCount: 1, IgnoredPolicyItemCount: 1},
			{AssetType: assets.Container, CheckStatus: checks.CheckFinished, PassedPolicyItemCount: 12, FailedPolicyItemCount: 3,
				FailedCriticalPolicyItemCount: 1, FailedHighRiskPolicyItemCount: 2, NoticePolicyItemCount: 2, PassedAssetCount: 17, FailedAssetCount: 2,
				ScanFailedAssetCount: 1, AssetPassedRate: 85, CheckCostTime: 2.5, LastCheckTime: "2025-03-14 09:26:55",
				TotalPolicyItemCount: 20, OpenPolicyItemCount: 20, DetectHostCount: 1, AssetCount: 20, IgnoredPolicyItemCount: 1},
			{AssetType: assets.Image, CheckStatus: checks.CheckFinished, PassedPolicyItemCount: 5, FailedPolicyItemCount: 1,
				FailedHighRiskPolicyItemCount: 1, PassedAssetCount: 2, FailedAssetCount: 0, ScanFailedAssetCount: 1,
				AssetPassedRate: 66.67, CheckCostTime: 0.75, LastCheckTime: "2025-03-14 09:26:56", TotalPolicyItemCount: 6,
				OpenPolicyItemCount: 6, DetectHostCount: 1, AssetCount: 3},
		},
		Trend: []report.TrendPoint{
			{TaskID: 5, FinishedAt: task(5, 5), AssetType: assets.Host, PassRate: 0, Failed: 1},
			{TaskID: 6, FinishedAt: task(6, 6), AssetType: assets.Host, PassRate: 100, Passed: 1},
			{TaskID: 7, FinishedAt: task(7, 7), AssetType: assets.Host, PassRate: 0, Failed: 1},
			{TaskID: 5, FinishedAt: task(5, 5), AssetType: assets.Container, PassRate: 60, Passed: 12, Failed: 8},
			{TaskID: 6, FinishedAt: task(6, 6), AssetType: assets.Container, PassRate: 72.5, Passed: 14, Failed: 5},
			{TaskID: 7, FinishedAt: task(7, 7), AssetType: assets.Container, PassRate: 85, Passed: 17, Failed: 2},
			{TaskID: 7, FinishedAt: task(7, 7), AssetType: assets.Image, PassRate: 66.67, Passed: 2, Failed: 0},
		},
		Waivers: []store.WhitelistEntry{
			{ID: 1, ItemID: 100505, ItemName: "Ensure that privileged containers are not used", StandardID: cis, StandardName: "CIS Docker Benchmark",
				AssetType: assets.Container, AssetIDs: []uint64{4503599627370005}, AssetCount: 1,
				Reason: "db-1 needs <b>raw</b> device access until the migration", CreatedBy: "alice@example.com",
				InsertTime: "2025-02-01 08:00:00", UpdateTime: "2025-02-03 12:30:00", ExpiresAt: "2025-06-30 00:00:00"},
			{ID: 2, ItemID: 100119, ItemName: "Ensure the container host has been Hardened", StandardID: cis, StandardName: "CIS Docker Benchmark",
				AssetType: assets.Host, AllAssets: true, Reason: "hardening reviewed yearly", CreatedBy: "bob",
				InsertTime: "2024-01-10 09:00:00", UpdateTime: "2024-01-10 09:00:00", ExpiresAt: "2025-01-10 09:00:00", Lapsed: true},
		},
		ResultCount: len(rows),
	}
	return &report.SliceSource{M: m, R: rows}
}

// htmlByAsset is the fixture grouped by asset, in asset order.
func htmlByAsset(src *report.SliceSource) *report.SliceSource {
	m := src.M
	m.By = report.ByAssetGroup
	rows := append([]results.Row(nil), src.R...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].AssetID < rows[j].AssetID })
	return &report.SliceSource{M: m, R: rows}
}

func encodeHTML(t testing.TB, src report.Source) []byte {
	t.Helper()
	var buf bytes.Buffer
	in := report.NewIntegrity(&buf)
	if err := (report.HTMLEncoder{}).Encode(context.Background(), &buf, src, in); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// htmlResultsDigest is the results digest of the source's rows.
func htmlResultsDigest(src *report.SliceSource) string {
	in := report.NewIntegrity(&bytes.Buffer{})
	for _, r := range src.R {
		in.AddRow(r)
	}
	return in.ResultsDigest()
}

func TestHTMLEncoderNames(t *testing.T) {
	var e report.Encoder = report.HTMLEncoder{}
	if e.Format() != "html" || e.Ext() != ".html" {
		t.Errorf("Format, Ext = %q, %q; want html, .html", e.Format(), e.Ext())
	}
}

func TestGoldenHTML(t *testing.T) {
	golden(t, "export.html.golden", encodeHTML(t, htmlFixture()))
}

// TestHTMLSelfContained: the file loads nothing and runs nothing, and the
// untrusted text is escaped.
func TestHTMLSelfContained(t *testing.T) {
	for _, src := range []*report.SliceSource{htmlFixture(), htmlByAsset(htmlFixture())} {
		t.Run(string(src.M.By), func(t *testing.T) {
			out := string(encodeHTML(t, src))
			lower := strings.ToLower(out)
			for _, bad := range []string{"<script", "<link", "<iframe", "<object", "<embed", "<img", "@import", "url(", "http://", "https://", "javascript:"} {
				if strings.Contains(lower, bad) {
					t.Errorf("output contains %q", bad)
				}
			}
			if loads := regexp.MustCompile(`(?i)[\s"'](src|srcset|href|xlink:href|action|formaction|poster|background)\s*=`).FindAllString(out, -1); len(loads) > 0 {
				t.Errorf("output has attributes that load something: %q", loads)
			}
			for _, want := range []string{`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`, `needs &lt;b&gt;raw&lt;/b&gt; device`} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks the escaped text %s", want)
				}
			}
			if !strings.HasPrefix(out, "<!DOCTYPE html>\n") || !strings.HasSuffix(out, "</html>\n") {
				t.Errorf("not a whole document: starts %q, ends %q", out[:min(len(out), 20)], out[max(0, len(out)-20):])
			}
		})
	}
}

// TestHTMLSummaryFigures: every summary figure is in the file, as stored.
func TestHTMLSummaryFigures(t *testing.T) {
	src := htmlFixture()
	out := string(encodeHTML(t, src))
	n := strconv.Itoa
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, s := range src.M.Summary {
		figures := map[string]string{
			"assets": n(s.AssetCount), "passed-assets": n(s.PassedAssetCount), "failed-assets": n(s.FailedAssetCount),
			"scan-failed-assets": n(s.ScanFailedAssetCount), "pass-rate": f(s.AssetPassedRate) + "%",
			"passed-items": n(s.PassedPolicyItemCount), "failed-items": n(s.FailedPolicyItemCount),
			"failed-critical": n(s.FailedCriticalPolicyItemCount), "failed-high": n(s.FailedHighRiskPolicyItemCount),
			"failed-medium": n(s.FailedMediumRiskPolicyItemCount), "failed-low": n(s.FailedLowRiskPolicyItemCount),
			"notice-items": n(s.NoticePolicyItemCount), "ignored-items": n(s.IgnoredPolicyItemCount),
			"total-items": n(s.TotalPolicyItemCount), "hosts": n(s.DetectHostCount),
			"last-check": s.LastCheckTime, "cost": f(s.CheckCostTime) + " s",
		}
		for key, value := range figures {
			cell := fmt.Sprintf(`data-figure="%s-%s">%s<`, s.AssetType.Short(), key, value)
			if strings.Count(out, cell) != 1 {
				t.Errorf("want one %s in the output", cell)
			}
		}
	}
	if cell := fmt.Sprintf(`data-figure="result-count">%d<`, src.M.ResultCount); !strings.Contains(out, cell) {
		t.Errorf("the cover lacks %s", cell)
	}
	// The charts: a bar per asset type, a bar per risk level, a point per trend point.
	for _, want := range []string{
		`data-chart="pass-rate" data-key="image" data-value="66.67"`,
		`data-chart="failed-by-risk" data-key="critical" data-value="1"`,
		`data-chart="failed-by-risk" data-key="high" data-value="3"`,
		`data-chart="failed-by-risk" data-key="notice" data-value="2"`,
		`data-chart="trend" data-key="container" data-task="6" data-value="72.5"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if got := strings.Count(out, `data-chart="trend"`); got != len(src.M.Trend) {
		t.Errorf("%d trend points, want %d", got, len(src.M.Trend))
	}
}

// TestHTMLFindings: one group per run of the grouping key, every outcome,
// the remediation once per item, or on each failed row by asset.
func TestHTMLFindings(t *testing.T) {
	src := htmlFixture()
	out := string(encodeHTML(t, src))
	if got := strings.Count(out, `<section class="g"`); got != 5 {
		t.Errorf("%d item groups, want 5", got)
	}
	for _, o := range []string{"PASSED", "FAILED", "IGNORED", "MANUAL", "NOT_APPLICABLE", "CHECK_FAILED"} {
		if !strings.Contains(out, "<tr class="+o+"><td>") {
			t.Errorf("no %s row", o)
		}
	}
	if got := strings.Count(out, "Remove --privileged."); got != 1 {
		t.Errorf("by item: the remediation is shown %d times, want once", got)
	}
	if !strings.Contains(out, `data-figure="findings-total">8 results listed: 3 PASSED · 1 FAILED · 1 IGNORED · 1 MANUAL · 1 NOT_APPLICABLE · 1 CHECK_FAILED<`) {
		t.Error("the findings total is missing or wrong")
	}
	if !strings.Contains(out, `<p class="tally">2 PASSED · 1 FAILED · 1 IGNORED</p>`) {
		t.Error("the tally of item 5.5 is missing or wrong")
	}

	out = string(encodeHTML(t, htmlByAsset(src)))
	if got := strings.Count(out, `<section class="g"`); got != 6 {
		t.Errorf("%d asset groups, want 6", got)
	}
	// web-1 failed and db-1 failed (waived): a remediation each; the check
	// that failed to run and the passed rows get none.
	if got := strings.Count(out, "Remove --privileged."); got != 2 {
		t.Errorf("by asset: the remediation is shown %d times, want 2", got)
	}
	for _, no := range []string{"Add a USER instruction", "Do not mount sensitive", "Harden the host."} {
		if strings.Contains(out, no) {
			t.Errorf("by asset: remediation %q shown on a row that did not fail", no)
		}
	}
}

func TestHTMLWaivers(t *testing.T) {
	out := string(encodeHTML(t, htmlFixture()))
	for _, want := range []string{`<tr data-waiver="1">`, `<tr data-waiver="2">`, "4503599627370005", "all assets", "alice@example.com",
		"2025-06-30 00:00:00", `class="lapsed">lapsed<`, ">in force<", "2024-01-10 09:00:00"} {
		if !strings.Contains(out, want) {
			t.Errorf("the waivers lack %q", want)
		}
	}
}

// TestHTMLIntegrity: the content digest verifies, a one-byte edit breaks
// it, and the results digest is the one of the rows, although an asset's
// name tries to plant another.
func TestHTMLIntegrity(t *testing.T) {
	src := htmlFixture()
	out := encodeHTML(t, src)
	results, content, ok, err := report.VerifyContent(out)
	if err != nil || !ok {
		t.Fatalf("VerifyContent = %v, %v; want ok", ok, err)
	}
	if want := htmlResultsDigest(src); results != want {
		t.Errorf("results digest %s, want %s", results, want)
	}
	if strings.Count(string(out), report.ResultsMarker) != 1 || strings.Count(string(out), report.ContentMarker) != 1 {
		t.Errorf("want each marker once, in the footer")
	}
	footer := string(out[bytes.LastIndex(out, []byte("<footer")):])
	if !strings.Contains(footer, report.ResultsMarker+results) || !strings.Contains(footer, report.ContentMarker+content) {
		t.Errorf("the footer does not show both digests:\n%s", footer)
	}
	if !strings.Contains(string(out), strings.Replace(htmlPlantedDigest, "=", "&#61;", 1)) {
		t.Error("the planted marker is not defused")
	}

	for _, at := range []int{len(out) / 2, bytes.Index(out, []byte("web-1")), len(out) - 10, bytes.Index(out, []byte(content))} {
		edited := bytes.Clone(out)
		edited[at] ^= 0x01
		if _, _, ok, _ := report.VerifyContent(edited); ok {
			t.Errorf("a one-byte edit at %d still verifies", at)
		}
	}
}

func TestHTMLEmpty(t *testing.T) {
	src := &report.SliceSource{M: report.Meta{SchemaVersion: report.ExportSchemaVersion, By: report.ByAssetGroup,
		GeneratedAt: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)}}
	out := encodeHTML(t, src)
	for _, want := range []string{"No summary figures", "No results in this scope.", "No waivers."} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
	if _, _, ok, err := report.VerifyContent(out); !ok || err != nil {
		t.Errorf("VerifyContent = %v, %v", ok, err)
	}
}

func TestHTMLCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if err := (report.HTMLEncoder{}).Encode(ctx, &buf, htmlFixture(), report.NewIntegrity(&buf)); err == nil {
		t.Error("Encode with a canceled context: want an error")
	}
}

// htmlManyRows streams n generated rows without holding them.
type htmlManyRows struct {
	m report.Meta
	n int
}

func (s htmlManyRows) Meta() report.Meta { return s.m }

func (s htmlManyRows) Rows(ctx context.Context, fn func(results.Row) error) error {
	base := htmlFixture().R[2]
	for i := range s.n {
		r := base
		r.AssetID, r.AssetName = uint64(i), "container-"+strconv.Itoa(i)
		r.ItemID = uint64(100000 + i/1000)
		if i%3 == 0 {
			r.Result = checks.ResultPassed
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkHTMLEncode reports the time and the bytes per row.
func BenchmarkHTMLEncode(b *testing.B) {
	src := htmlManyRows{m: htmlFixture().M, n: 100_000}
	var size int
	for b.Loop() {
		cw := &htmlCountingWriter{}
		if err := (report.HTMLEncoder{}).Encode(context.Background(), cw, src, report.NewIntegrity(cw)); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(size)/float64(src.n), "bytes/row")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*src.n), "ns/row")
}

type htmlCountingWriter struct{ n int }

func (c *htmlCountingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }
