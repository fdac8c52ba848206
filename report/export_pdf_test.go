package report_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
)

// pdfText opens an export with a PDF reader and returns its pages' text
// (the reader joins the text runs without spaces: a label and its value,
// a table's cells, read as one word).
func pdfText(t *testing.T, data []byte) []string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("a PDF reader cannot open the export: %v", err)
	}
	pages := make([]string, 0, r.NumPage())
	for i := 1; i <= r.NumPage(); i++ {
		var sb strings.Builder
		rows, err := r.Page(i).GetTextByRow()
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		for _, row := range rows {
			for _, w := range row.Content {
				sb.WriteString(w.S)
			}
			sb.WriteString("\n")
		}
		pages = append(pages, sb.String())
	}
	if len(pages) == 0 {
		t.Fatal("no pages")
	}
	return pages
}

// checkPDFFooters checks that every page's footer has its number, the
// page count and the results digest.
func checkPDFFooters(t *testing.T, pages []string, in *report.Integrity) {
	t.Helper()
	for i, p := range pages {
		if want := fmt.Sprintf("page %d of %d", i+1, len(pages)); !strings.Contains(p, want) {
			t.Errorf("page %d has no %q", i+1, want)
		}
		if !strings.Contains(p, "Results digest (SHA-256): "+in.ResultsDigest()) {
			t.Errorf("page %d has no results digest %s", i+1, in.ResultsDigest())
		}
	}
}

// checkPDFIntegrity verifies the digests, then that a one-byte change at
// every offset of the file is caught.
func checkPDFIntegrity(t *testing.T, data []byte, in *report.Integrity) {
	t.Helper()
	res, _, ok, err := report.Verify(data)
	if err != nil || !ok {
		t.Fatalf("Verify = ok %t, %v; want ok", ok, err)
	}
	if res != in.ResultsDigest() {
		t.Errorf("results digest in the file %s, want %s", res, in.ResultsDigest())
	}
	if n := bytes.Count(data, []byte(report.ContentMarker)); n != 1 {
		t.Errorf("%d content markers in the file, want 1 (the trailer comment)", n)
	}
	if !bytes.HasSuffix(data, []byte("%%EOF\n")) {
		t.Errorf("the file does not end with %%%%EOF: %q", data[len(data)-20:])
	}
	edited := bytes.Clone(data)
	for i := range edited {
		edited[i] ^= 0x01
		if _, _, ok, _ := report.Verify(edited); ok {
			t.Fatalf("a one-byte edit at offset %d of %d was not detected", i, len(data))
		}
		edited[i] ^= 0x01
	}
}

func TestExportPDFCover(t *testing.T) {
	src := exportFixture()
	data, in := exportTo(t, report.PDFEncoder{}, src)
	pages := pdfText(t, data)
	t.Logf("fixture export: %d pages, %d bytes", len(pages), len(data))
	if again, _ := exportTo(t, report.PDFEncoder{}, exportFixture()); !bytes.Equal(again, data) {
		t.Error("two exports of the same results differ")
	}
	if !bytes.HasPrefix(data, []byte("%PDF-1.3\n")) {
		t.Errorf("the file starts with %q", data[:9])
	}
	checkPDFFooters(t, pages, in)
	cover := pages[0]
	m := src.M
	want := []string{"Toolbaseline test", "Generated at2025-03-14T10:00:00Z", "Grouped byasset", "Asset typesall (host, container, image)",
		"Task ids41, 42", "2025-03-14T09:01:00Z to 2025-03-14T09:04:00Z", "Results8",
		"cis-docker-1.6.0: CIS Docker Benchmark, version 1.6.0 (117 items)", "baseline-docker-1.0: Baseline Docker best practices, version 1.0"}
	// The summary: one line per figure, one column per asset type.
	figures := map[string]func(i int) int{
		"Assets":             func(i int) int { return m.Summary[i].AssetCount },
		"Passed assets":      func(i int) int { return m.Summary[i].PassedAssetCount },
		"Failed assets":      func(i int) int { return m.Summary[i].FailedAssetCount },
		"Scan-failed assets": func(i int) int { return m.Summary[i].ScanFailedAssetCount },
		"Failed items":       func(i int) int { return m.Summary[i].FailedPolicyItemCount },
		"Failed critical":    func(i int) int { return m.Summary[i].FailedCriticalPolicyItemCount },
		"Ignored items":      func(i int) int { return m.Summary[i].IgnoredPolicyItemCount },
		"Total items":        func(i int) int { return m.Summary[i].TotalPolicyItemCount },
	}
	for label, fig := range figures {
		line := label
		for i := range m.Summary {
			line += strconv.Itoa(fig(i))
		}
		want = append(want, line)
	}
	for _, w := range m.Waivers {
		want = append(want, "Item "+strconv.FormatUint(w.ItemID, 10)+" "+w.ItemName, "Reason"+w.Reason, "Author"+w.CreatedBy, "Expires"+w.ExpiresAt)
	}
	for _, w := range want {
		if !strings.Contains(cover, w) {
			t.Errorf("the cover has no %q:\n%s", w, cover)
		}
	}
}

func TestExportPDFResults(t *testing.T) {
	for _, byItem := range []bool{false, true} {
		src := exportFixture()
		if byItem {
			src = findingByItem(src)
		}
		// One observation with its plain-language text.
		src.R[4].Evidence = append([]checks.Evidence(nil), src.R[4].Evidence...)
		src.R[4].Evidence[0].Text = "the container runs privileged (expected not privileged)"
		data, in := exportTo(t, report.PDFEncoder{}, src)
		pages := pdfText(t, data)
		checkPDFFooters(t, pages, in)
		body := strings.Join(pages[1:], "")
		heading := map[bool]string{false: "Results by asset", true: "Results by item"}[byItem]
		want := []string{heading, "the container runs privileged (expected not privileged)",
			"{.Config.User}: not set (expected '{.Config.User}' is set)", "Waived: legacy image, \"root\" needed until v2"}
		failed := 0
		for _, r := range src.R {
			want = append(want, r.Outcome())
			if r.Outcome() == "FAILED" {
				failed++
				if byItem {
					want = append(want, "Item "+r.StandardID+"/"+r.Number, fmt.Sprintf("id %d,", r.ItemID))
				} else {
					want = append(want, fmt.Sprintf("item %d,", r.ItemID))
				}
			}
		}
		if failed == 0 {
			t.Fatal("the fixture has no failed row")
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("by item %t: the results have no %q:\n%s", byItem, w, body)
			}
		}
		if strings.Contains(body, "the container runs privileged\n") || strings.Contains(body, "{.HostConfig.Privileged}: true") {
			t.Errorf("by item %t: the observation with a text is also written as subject: actual", byItem)
		}
		checkPDFIntegrity(t, data, in)
	}
}

func TestExportPDFScan(t *testing.T) {
	src := report.NewScanSource(goldenReport(), "test")
	data, in := exportTo(t, report.PDFEncoder{}, src)
	pages := pdfText(t, data)
	checkPDFFooters(t, pages, in)
	text := strings.Join(pages, "")
	rows := 0
	err := src.Rows(context.Background(), func(r results.Row) error {
		rows++
		if r.Outcome() == "FAILED" && !strings.Contains(text, fmt.Sprintf("item %d,", r.ItemID)) {
			t.Errorf("failed item %d is not in the export", r.ItemID)
		}
		return nil
	})
	if err != nil || rows == 0 || in.Rows() != rows {
		t.Fatalf("rows %d, exported %d, %v", rows, in.Rows(), err)
	}
	checkPDFIntegrity(t, data, in)
}

func TestExportPDFText(t *testing.T) {
	src := exportFixture()
	src.R = src.R[:1]
	src.R[0].AssetName = "n\u00e9ud-\u2713\x01pages\x01-\x1b[31m"
	data, in := exportTo(t, report.PDFEncoder{}, src)
	body := strings.Join(pdfText(t, data)[1:], "")
	if !strings.Contains(body, "Asset host n\u00e9ud-? pages - [31m") {
		t.Errorf("the asset name is not in Windows-1252 with '?' and spaces:\n%s", body)
	}
	checkPDFIntegrity(t, data, in)

	src.R = nil
	data, in = exportTo(t, report.PDFEncoder{}, src)
	if pages := pdfText(t, data); !strings.Contains(pages[len(pages)-1], "No results.") {
		t.Errorf("an export without rows does not say so:\n%s", pages)
	}
	checkPDFIntegrity(t, data, in)
}

func TestExportPDFLarge(t *testing.T) {
	const rows = 5000
	data, in := exportTo(t, report.PDFEncoder{}, &synthExportSource{n: rows})
	if in.Rows() != rows {
		t.Fatalf("%d rows exported, want %d", in.Rows(), rows)
	}
	pages := pdfText(t, data)
	t.Logf("%d rows: %d pages, %d bytes", rows, len(pages), len(data))
	if len(pages) < 100 {
		t.Errorf("%d pages for %d rows", len(pages), rows)
	}
	checkPDFFooters(t, pages, in)
	if !strings.Contains(pages[2], "continued: Asset container web-1") {
		t.Errorf("the third page does not name the asset it continues:\n%s", pages[2])
	}
	if res, _, ok, err := report.Verify(data); !ok || err != nil || res != in.ResultsDigest() {
		t.Errorf("Verify = %s, ok %t, %v", res, ok, err)
	}
}

func BenchmarkExportPDFLarge(b *testing.B) { benchExportStream(b, report.PDFEncoder{}) }
