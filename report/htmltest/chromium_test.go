// Package htmltest opens the HTML export in a real browser, headless
// Chromium (Debian's package, driven by chromedp): the page must load
// nothing but itself, show the summary figures as exported, and print to
// PDF. It leaves a screenshot and the PDF in the temporary directory for
// people to look at.
package htmltest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// source is a small fleet: three asset types with their summary figures, a
// trend over eight tasks, results by item and two waivers.
func source() *report.SliceSource {
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	m := report.Meta{
		SchemaVersion: report.ExportSchemaVersion, Tool: report.Tool{Name: "baseline", Version: "1.4.0"},
		GeneratedAt: at.Add(2 * time.Hour), By: report.ByItemGroup, TaskIDs: []int64{42}, From: at, To: at.Add(95 * time.Second),
		Standards: []report.StandardInfo{
			{ID: "cis-docker-1.6.0", Name: "CIS Docker Benchmark", Version: "1.6.0", ItemCount: 117},
			{ID: "baseline-docker-1.0", Name: "Baseline Docker best practices", Version: "1.0", ItemCount: 12},
		},
		Hosts: []string{"node-1", "node-2", "node-3"},
		Summary: []store.AssetSummary{
			{AssetType: assets.Host, PassedPolicyItemCount: 38, FailedPolicyItemCount: 7, FailedHighRiskPolicyItemCount: 2,
				FailedMediumRiskPolicyItemCount: 4, FailedLowRiskPolicyItemCount: 1, PassedAssetCount: 1, FailedAssetCount: 2,
				AssetPassedRate: 33.33, CheckCostTime: 4.125, LastCheckTime: "2025-03-14 09:01:35", TotalPolicyItemCount: 45,
				DetectHostCount: 3, AssetCount: 3, IgnoredPolicyItemCount: 1},
			{AssetType: assets.Container, PassedPolicyItemCount: 21, FailedPolicyItemCount: 6, FailedCriticalPolicyItemCount: 1,
				FailedHighRiskPolicyItemCount: 3, FailedMediumRiskPolicyItemCount: 1, NoticePolicyItemCount: 1, PassedAssetCount: 34,
				FailedAssetCount: 5, ScanFailedAssetCount: 1, AssetPassedRate: 85, CheckCostTime: 12.5, LastCheckTime: "2025-03-14 09:01:30",
				TotalPolicyItemCount: 30, DetectHostCount: 3, AssetCount: 40, IgnoredPolicyItemCount: 2},
			{AssetType: assets.Image, PassedPolicyItemCount: 9, FailedPolicyItemCount: 2, FailedHighRiskPolicyItemCount: 1,
				FailedLowRiskPolicyItemCount: 1, PassedAssetCount: 11, FailedAssetCount: 3, AssetPassedRate: 78.57,
				CheckCostTime: 3.75, LastCheckTime: "2025-03-14 09:01:20", TotalPolicyItemCount: 11, DetectHostCount: 3, AssetCount: 14},
		},
		Waivers: []store.WhitelistEntry{
			{ID: 1, ItemID: 100505, ItemName: "Ensure that privileged containers are not used", StandardID: "cis-docker-1.6.0",
				StandardName: "CIS Docker Benchmark", AssetType: assets.Container, AssetIDs: []uint64{4503599627370202}, AssetCount: 1,
				Reason: "the storage driver container needs device access until the Q3 migration", CreatedBy: "alice@example.com",
				InsertTime: "2025-02-01 08:00:00", UpdateTime: "2025-02-03 12:30:00", ExpiresAt: "2025-06-30 00:00:00"},
			{ID: 2, ItemID: 100119, ItemName: "Ensure the container host has been Hardened", StandardID: "cis-docker-1.6.0",
				StandardName: "CIS Docker Benchmark", AssetType: assets.Host, AllAssets: true, Reason: "hardening reviewed yearly by the platform team",
				CreatedBy: "bob", InsertTime: "2024-01-10 09:00:00", UpdateTime: "2024-01-10 09:00:00", ExpiresAt: "2025-01-10 09:00:00", Lapsed: true},
		},
	}
	rates := map[assets.Type][]float64{
		assets.Host:      {0, 33.33, 33.33, 66.67, 33.33, 66.67, 66.67, 33.33},
		assets.Container: {52.5, 60, 61.54, 70, 72.5, 80, 82.5, 85},
		assets.Image:     {50, 57.14, 64.29, 64.29, 71.43, 71.43, 78.57, 78.57},
	}
	for i := range 8 {
		task := int64(35 + i)
		for _, ty := range []assets.Type{assets.Host, assets.Container, assets.Image} {
			if ty == assets.Image && i == 2 {
				continue // a task that scanned no image
			}
			count := map[assets.Type]float64{assets.Host: 3, assets.Container: 40, assets.Image: 14}[ty]
			passed := int(math.Round(count * rates[ty][i] / 100))
			m.Trend = append(m.Trend, report.TrendPoint{TaskID: task, FinishedAt: at.AddDate(0, 0, i-7), AssetType: ty, PassRate: rates[ty][i],
				Passed: passed, Failed: int(count) - passed})
		}
	}

	type item struct {
		id                 uint64
		number, title, std string
		risk               checks.Risk
		ty                 assets.Type
		fix                string
	}
	items := []item{
		{100119, "1.2.1", "Ensure the container host has been Hardened", "cis-docker-1.6.0", checks.RiskLow, assets.Host, "Harden the host according to a recognised baseline, such as the CIS benchmark for its distribution."},
		{100202, "2.2", "Ensure network traffic is restricted between containers on the default bridge", "cis-docker-1.6.0", checks.RiskMedium, assets.Host, `Add "icc": false to /etc/docker/daemon.json and restart the daemon.`},
		{100401, "4.1", "Ensure that a user for the container has been created", "cis-docker-1.6.0", checks.RiskHigh, assets.Image, "Add a USER instruction to the Dockerfile."},
		{100505, "5.5", "Ensure that privileged containers are not used", "cis-docker-1.6.0", checks.RiskCritical, assets.Container, "Do not run containers with --privileged."},
		{300009, "B3.1", "Ensure containers do not run as the root user", "baseline-docker-1.0", checks.RiskHigh, assets.Container, "Run the container with --user, or set USER in the image."},
	}
	names := map[assets.Type][]string{
		assets.Host:      {"node-1", "node-2", "node-3"},
		assets.Container: {"web-1", "web-2", "db-1", `<script>alert("x")</script>`, "a-container-with-an-extraordinarily-long-name-that-does-not-wrap-on-its-own-0123456789abcdef"},
		assets.Image:     {"nginx:1.25", "postgres:16", "registry.example.com/team/app@sha256:9b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"},
	}
	base := map[assets.Type]uint64{assets.Host: 4503599627370100, assets.Container: 4503599627370200, assets.Image: 4503599627370300}
	var rows []results.Row
	for _, it := range items {
		for j, name := range names[it.ty] {
			r := results.Row{ItemID: it.id, Number: it.number, Title: it.title, StandardID: it.std, Risk: it.risk, Category: "Container Runtime",
				AssetID: base[it.ty] + uint64(j), AssetName: name, AssetType: it.ty, NodeName: fmt.Sprintf("node-%d", j%3+1),
				Status: checks.CheckFinished, Result: checks.ResultPassed, TaskID: 42, Remediation: it.fix,
				CheckedAt: at.Add(time.Duration(j) * time.Second).Format(time.DateTime),
				Evidence:  []checks.Evidence{{Source: "container inspect", Subject: "{.Config.User}", Actual: "app", Expected: "'{.Config.User}' is set", Passed: true}}}
			switch (int(it.id) + j) % 6 {
			case 1:
				r.Result = checks.ResultFailed
				r.Evidence = append(r.Evidence, checks.Evidence{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "true",
					Expected: "'{.HostConfig.Privileged}' is equal to 'false'"})
			case 2:
				r.Result, r.Ignored = checks.ResultFailed, true
				r.Evidence[0].Passed = false
			case 3:
				r.Result, r.Reason = checks.ResultManual, "manual review required; evidence collected"
			case 4:
				r.Result, r.Reason = checks.ResultNotApplicable, "swarm mode is not active"
			case 5:
				r.Status, r.Result, r.Evidence = checks.CheckFailed, "", nil
				r.Reason = "Error response from daemon: No such container: 4f2a9c0d1e2f"
			}
			rows = append(rows, r)
		}
	}
	m.ResultCount = len(rows)
	return &report.SliceSource{M: m, R: rows}
}

// figures are the summary figures as the page must show them.
func figures(m report.Meta) map[string]string {
	n := strconv.Itoa
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	want := map[string]string{"result-count": n(m.ResultCount)}
	for _, s := range m.Summary {
		p := s.AssetType.Short() + "-"
		for k, v := range map[string]string{
			"assets": n(s.AssetCount), "passed-assets": n(s.PassedAssetCount), "failed-assets": n(s.FailedAssetCount),
			"scan-failed-assets": n(s.ScanFailedAssetCount), "pass-rate": f(s.AssetPassedRate) + "%",
			"passed-items": n(s.PassedPolicyItemCount), "failed-items": n(s.FailedPolicyItemCount),
			"failed-critical": n(s.FailedCriticalPolicyItemCount), "failed-high": n(s.FailedHighRiskPolicyItemCount),
			"failed-medium": n(s.FailedMediumRiskPolicyItemCount), "failed-low": n(s.FailedLowRiskPolicyItemCount),
			"notice-items": n(s.NoticePolicyItemCount), "ignored-items": n(s.IgnoredPolicyItemCount),
			"total-items": n(s.TotalPolicyItemCount), "hosts": n(s.DetectHostCount),
			"last-check": s.LastCheckTime, "cost": f(s.CheckCostTime) + " s",
		} {
			want[p+k] = v
		}
	}
	return want
}

func TestHTMLExportInChromium(t *testing.T) {
	exe := testhost.Chromium(t)
	src := source()
	var buf bytes.Buffer
	if err := (report.HTMLEncoder{}).Encode(context.Background(), &buf, src, report.NewIntegrity(&buf)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "export.html")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	page := (&url.URL{Scheme: "file", Path: file}).String()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()

	// Every request the tab makes, from its very start.
	var (
		mu       sync.Mutex
		requests []string
	)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithListener(func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, ev.Request.URL)
			mu.Unlock()
		}
	}))
	defer cancelTab()

	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[data-figure]')].map(e => [e.dataset.figure, e.textContent.trim()]))`))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range figures(src.M) {
		if got[key] != want {
			t.Errorf("the page shows %s = %q, want %q (Meta.Summary)", key, got[key], want)
		}
	}
	loaders, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`document.querySelectorAll('script, link, iframe, object, embed, img, [src], [href], [srcset]').length`))
	if err != nil {
		t.Fatal(err)
	}
	if loaders != 0 {
		t.Errorf("the page has %d elements that load or link something", loaders)
	}
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('h1').textContent`))
	if err != nil || title != "Compliance report" {
		t.Errorf("h1 = %q, %v", title, err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(os.TempDir(), "baseline-report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize()))
	if err != nil {
		t.Fatal(err)
	}
	if len(pdf) < 1000 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("PrintToPDF returned %d bytes, not a PDF", len(pdf))
	}
	pdfPath := filepath.Join(os.TempDir(), "baseline-report.pdf")
	if err := os.WriteFile(pdfPath, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("PDF: %s (%d bytes)", pdfPath, len(pdf))

	mu.Lock()
	defer mu.Unlock()
	if len(requests) == 0 {
		t.Error("no request seen at all: the listener saw nothing, not even the document")
	}
	for _, r := range requests {
		if r != page {
			t.Errorf("the page made a request besides its own file: %s", r)
		}
	}
	if t.Failed() {
		t.Logf("requests: %s", strings.Join(requests, ", "))
	}
}
