package report

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

var _ Encoder = XLSXEncoder{}

// xlsxNasty is a text with everything a cell could mangle: tabs, line
// ends, a control character and a byte that is not UTF-8 (both become
// U+FFFD), excelize's _xHHHH_ escape, leading and trailing spaces, a
// character outside the BMP, a backslash.
const xlsxNasty = " a\tb\r\nc \x01 \xff _x0041_ 😀 back\\slash "

const xlsxNastyStored = " a\tb\r\nc \uFFFD \uFFFD _x0041_ 😀 back\\slash "

var xlsxLongFix = strings.Repeat("Set the parameter and restart the service. ", 5)

func xlsxFixture() *SliceSource {
	gen := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	const big = 1<<53 - 1 // the largest asset id: 16 digits
	host1 := results.Row{AssetID: big, AssetName: "web-1", AssetType: assets.Host, NodeName: "node-a", TaskID: 7, CheckedAt: "2026-03-01 10:00:00"}
	host2 := results.Row{AssetID: 2, AssetName: "db-1", AssetType: assets.Host, NodeName: "node-b", TaskID: 7, CheckedAt: "2026-03-01 10:05:00"}
	ctr := results.Row{AssetID: 3, AssetName: "nginx", AssetType: assets.Container, NodeName: "node-a", TaskID: 8, CheckedAt: "2026-03-01 11:00:00"}
	item := func(asset results.Row, id uint64, number, title string, risk checks.Risk) results.Row {
		r := asset
		r.ItemID, r.Number, r.Title, r.Category, r.StandardID, r.Risk = id, number, title, "Services", "cis-linux-2.0", risk
		r.Remediation = "Fix " + number
		r.Status = checks.CheckFinished
		return r
	}
	with := func(r results.Row, f func(*results.Row)) results.Row { f(&r); return r }
	rows := []results.Row{
		with(item(host1, 101, "1.1", "Ensure auditd is installed", checks.RiskHigh), func(r *results.Row) {
			r.Result = checks.ResultPassed
			r.Evidence = []checks.Evidence{{Source: "command", Subject: "dpkg -s auditd", Actual: "installed", Expected: "installed", Passed: true}}
		}),
		with(item(host1, 102, "5.2.10", "Ensure SSH root login is disabled", checks.RiskCritical), func(r *results.Row) {
			r.Result = checks.ResultFailed
			r.Remediation = xlsxLongFix
			r.Evidence = []checks.Evidence{
				{Source: "file:/etc/ssh/sshd_config", Subject: "PermitRootLogin", Actual: "yes", Expected: "no", Passed: false},
				{Source: "file:/etc/ssh/sshd_config", Subject: "Protocol", Actual: "2", Expected: "2", Passed: true},
				{Source: "file:/etc/ssh/sshd_config", Actual: "absent", Expected: "present", Passed: false},
			}
		}),
		with(item(host1, 103, "4.1", "Ensure cron is restricted", checks.RiskLow), func(r *results.Row) {
			r.Result, r.Ignored = checks.ResultFailed, true
		}),
		with(item(host2, 101, "1.1", "Ensure auditd is installed", checks.RiskHigh), func(r *results.Row) {
			r.Result, r.Reason = checks.ResultManual, "review by hand"
		}),
		with(item(host2, 102, "5.2.10", "Ensure SSH root login is disabled", checks.RiskCritical), func(r *results.Row) {
			r.Result, r.Reason = checks.ResultNotApplicable, "sshd is not installed"
		}),
		with(item(host2, 103, "4.1", "Ensure cron is restricted", checks.RiskLow), func(r *results.Row) {
			r.Status, r.Reason = checks.CheckFailed, "permission denied"
		}),
		with(item(ctr, 201, "5.5", "Ensure privileged containers are not used", checks.RiskMedium), func(r *results.Row) {
			r.StandardID = "cis-docker-1.6.0"
			r.Result, r.Reason = checks.ResultFailed, xlsxNasty
			r.Evidence = []checks.Evidence{{Source: "inspect", Subject: "HostConfig.Privileged", Actual: "true", Expected: "false"}}
		}),
	}
	m := Meta{
		SchemaVersion: ExportSchemaVersion, Tool: Tool{Name: "baseline", Version: "1.2.3"}, GeneratedAt: gen,
		By: ByAssetGroup, IDs: []uint64{big, 2, 3}, TaskIDs: []int64{7, 8},
		From: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
		Standards: []StandardInfo{
			{ID: "cis-linux-2.0", Name: "CIS Linux", Version: "2.0.0", ItemCount: 3},
			{ID: "cis-docker-1.6.0", Name: "CIS Docker", Version: "1.6.0", ItemCount: 1},
		},
		Hosts: []string{"node-a", "node-b"},
		Summary: []store.AssetSummary{
			{AssetType: assets.Host, CheckStatus: checks.CheckFinished, PassedPolicyItemCount: 1, FailedPolicyItemCount: 1,
				FailedCriticalPolicyItemCount: 1, PassedAssetCount: 0, FailedAssetCount: 1, ScanFailedAssetCount: 1,
				AssetPassedRate: 33.33, CheckCostTime: 12.5, LastCheckTime: "2026-03-01 10:05:00", OpenPolicyItemCount: 3,
				IgnoredPolicyItemCount: 1, TotalPolicyItemCount: 3, DetectHostCount: 2, AssetCount: 2},
			{AssetType: assets.Container, CheckStatus: checks.CheckFinished, FailedPolicyItemCount: 1,
				FailedMediumRiskPolicyItemCount: 1, FailedAssetCount: 1, AssetPassedRate: 0.1 + 0.2, CheckCostTime: 1.25,
				LastCheckTime: "2026-03-01 11:00:00", OpenPolicyItemCount: 1, TotalPolicyItemCount: 1, DetectHostCount: 1,
				AssetCount: 1, NoticePolicyItemCount: 0},
		},
		Waivers: []store.WhitelistEntry{
			{ID: 1, ItemID: 103, ItemName: "Ensure cron is restricted", StandardID: "cis-linux-2.0", AssetType: assets.Host,
				AllAssets: true, Reason: "accepted risk", CreatedBy: "alice", InsertTime: "2026-02-01 08:00:00",
				UpdateTime: "2026-02-02 08:00:00"},
			{ID: 2, ItemID: 201, ItemName: "Ensure privileged containers are not used", StandardID: "cis-docker-1.6.0",
				AssetType: assets.Container, AssetIDs: []uint64{3, 4}, AssetCount: 2, Reason: "vendor image",
				CreatedBy: "bob", InsertTime: "2026-01-01 08:00:00", UpdateTime: "2026-01-01 08:00:00",
				ExpiresAt: "2026-02-01 00:00:00", Lapsed: true},
		},
		ResultCount: len(rows),
	}
	return &SliceSource{M: m, R: rows}
}

func encodeXLSX(t testing.TB, src Source) ([]byte, *Integrity) {
	t.Helper()
	var buf bytes.Buffer
	in := NewIntegrity(&buf)
	if err := (XLSXEncoder{}).Encode(context.Background(), &buf, src, in); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), in
}

func openXLSX(t testing.TB, data []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func rawRows(t testing.TB, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func verifyXLSX(t testing.TB, data []byte) (string, string, bool) {
	t.Helper()
	results, content, ok, err := VerifyXLSX(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return results, content, ok
}

// xlsxSheetXML maps each sheet's name to its worksheet XML.
func xlsxSheetXML(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[zf.Name] = string(b)
	}
	// workbook.xml lists the sheets with their relationship ids; the
	// relationships give the parts.
	target := map[string]string{}
	for _, m := range regexp.MustCompile(`Id="(rId\d+)"[^>]*Target="([^"]+)"`).FindAllStringSubmatch(files["xl/_rels/workbook.xml.rels"], -1) {
		target[m[1]] = "xl/" + strings.TrimPrefix(m[2], "/xl/")
	}
	for _, m := range regexp.MustCompile(`Target="([^"]+)"[^>]*Id="(rId\d+)"`).FindAllStringSubmatch(files["xl/_rels/workbook.xml.rels"], -1) {
		target[m[2]] = "xl/" + strings.TrimPrefix(m[1], "/xl/")
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"`).FindAllStringSubmatch(files["xl/workbook.xml"], -1) {
		out[m[1]] = files[target[m[2]]]
	}
	return out
}

func TestXLSXEncoder(t *testing.T) {
	if (XLSXEncoder{}).Format() != "xlsx" || (XLSXEncoder{}).Ext() != ".xlsx" {
		t.Fatal("format or extension")
	}
	src := xlsxFixture()
	data, in := encodeXLSX(t, src)
	f := openXLSX(t, data)

	wantSheets := []string{"Summary", "Items", "Assets", "Evidence", "Waivers"}
	if got := f.GetSheetList(); !slices.Equal(got, wantSheets) {
		t.Fatalf("sheets %q, want %q", got, wantSheets)
	}
	if f.GetActiveSheetIndex() != 0 {
		t.Errorf("active sheet %d, want Summary", f.GetActiveSheetIndex())
	}

	// Header rows, frozen panes, autofilters.
	const summaryHeader = 14
	headers := map[string][]string{"Items": xlsxItemsHeader, "Assets": xlsxAssetsHeader, "Evidence": xlsxEvidenceHeader,
		"Waivers": xlsxWaiversHeader, "Summary": xlsxSummaryHeader}
	sizes := map[string]int{"Items": 4, "Assets": 3, "Evidence": 7, "Waivers": 2, "Summary": 2}
	filters := map[string]string{}
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm._FilterDatabase" {
			filters[dn.Scope] = dn.RefersTo
		}
	}
	sheetXML := xlsxSheetXML(t, data)
	for _, sheet := range wantSheets {
		hdr := 1
		if sheet == "Summary" {
			hdr = summaryHeader
		}
		rows := rawRows(t, f, sheet)
		if len(rows) < hdr || !slices.Equal(rows[hdr-1], headers[sheet]) {
			t.Errorf("%s: header row %d is %q, want %q", sheet, hdr, rows[hdr-1], headers[sheet])
		}
		p, err := f.GetPanes(sheet)
		if err != nil {
			t.Fatal(err)
		}
		top := fmt.Sprintf("A%d", hdr+1)
		if !p.Freeze || p.YSplit != hdr || p.XSplit != 0 || p.TopLeftCell != top {
			t.Errorf("%s: panes %+v, want frozen above %s", sheet, p, top)
		}
		last, _ := excelize.ColumnNumberToName(len(headers[sheet]))
		// The defined name has absolute references, the sheet's element
		// relative ones, as Excel writes them.
		ref := fmt.Sprintf("A%d:%s%d", hdr, last, hdr+sizes[sheet])
		if want := fmt.Sprintf("'%s'!$A$%d:$%s$%d", sheet, hdr, last, hdr+sizes[sheet]); filters[sheet] != want {
			t.Errorf("%s: filter database %q, want %q", sheet, filters[sheet], want)
		}
		x := sheetXML[sheet]
		if !strings.Contains(x, `<autoFilter ref="`+ref+`"`) {
			t.Errorf("%s: no autoFilter on %s", sheet, ref)
		}
		if strings.Contains(x, `filterMode="1"`) {
			t.Errorf("%s: marked as filtered", sheet)
		}
		// The used range, which some readers trust (openpyxl read-only).
		rowsUsed := hdr + sizes[sheet]
		if sheet == "Summary" {
			rowsUsed += 3 // a blank row, the two digests
		}
		if want := fmt.Sprintf(`<dimension ref="A1:%s%d">`, last, rowsUsed); !strings.Contains(x, want) {
			t.Errorf("%s: no %s", sheet, want)
		}
	}

	// Column widths: the longest value plus 2, within 10..80.
	title := float64(len("Ensure privileged containers are not used") + 2)
	for _, c := range []struct {
		sheet, col string
		want       float64
	}{
		{"Evidence", "A", 10},    // "Task id", 7, 8
		{"Evidence", "C", 18},    // 9007199254740991
		{"Evidence", "J", title}, // the longest title
		{"Evidence", "N", 80},    // the longest evidence text
		{"Evidence", "O", 80},    // the long fix suggestion
		{"Items", "D", title},
		{"Waivers", "C", title},
		{"Summary", "B", 80}, // the digests
		{"Summary", "R", float64(len("2026-03-01 10:05:00") + 2)},
	} {
		got, err := f.GetColWidth(c.sheet, c.col)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s!%s: width %v, want %v", c.sheet, c.col, got, c.want)
		}
	}

	// Evidence: every row, in order.
	ev := rawRows(t, f, "Evidence")
	const big = "9007199254740991"
	wantEv := [][]string{
		{"7", "2026-03-01 10:00:00", big, "host", "web-1", "node-a", "101", "cis-linux-2.0", "1.1", "Ensure auditd is installed", "high", "PASSED", "", "dpkg -s auditd: installed (expected installed)", "Fix 1.1"},
		{"7", "2026-03-01 10:00:00", big, "host", "web-1", "node-a", "102", "cis-linux-2.0", "5.2.10", "Ensure SSH root login is disabled", "critical", "FAILED", "",
			"PermitRootLogin: yes (expected no) | file:/etc/ssh/sshd_config: absent (expected present)", xlsxLongFix},
		{"7", "2026-03-01 10:00:00", big, "host", "web-1", "node-a", "103", "cis-linux-2.0", "4.1", "Ensure cron is restricted", "low", "IGNORED", "", "", "Fix 4.1"},
		{"7", "2026-03-01 10:05:00", "2", "host", "db-1", "node-b", "101", "cis-linux-2.0", "1.1", "Ensure auditd is installed", "high", "MANUAL", "review by hand", "", "Fix 1.1"},
		{"7", "2026-03-01 10:05:00", "2", "host", "db-1", "node-b", "102", "cis-linux-2.0", "5.2.10", "Ensure SSH root login is disabled", "critical", "NOT_APPLICABLE", "sshd is not installed", "", "Fix 5.2.10"},
		{"7", "2026-03-01 10:05:00", "2", "host", "db-1", "node-b", "103", "cis-linux-2.0", "4.1", "Ensure cron is restricted", "low", "CHECK_FAILED", "permission denied", "", "Fix 4.1"},
		{"8", "2026-03-01 11:00:00", "3", "container", "nginx", "node-a", "201", "cis-docker-1.6.0", "5.5", "Ensure privileged containers are not used", "medium", "FAILED", xlsxNastyStored,
			"HostConfig.Privileged: true (expected false)", "Fix 5.5"},
	}
	for i, want := range wantEv {
		if got := ev[i+1]; !slices.Equal(got, want) {
			t.Errorf("Evidence row %d:\n got %q\nwant %q", i+2, got, want)
		}
	}
	if len(ev) != len(wantEv)+1 {
		t.Errorf("Evidence has %d rows, want %d", len(ev), len(wantEv)+1)
	}
	// Counts are numbers, ids text.
	if typ, _ := f.GetCellType("Evidence", "A2"); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
		t.Errorf("task id cell type %v, want a number", typ)
	}
	if typ, _ := f.GetCellType("Evidence", "C2"); typ != excelize.CellTypeInlineString {
		t.Errorf("asset id cell type %v, want text", typ)
	}

	wantItems := [][]string{
		{"101", "cis-linux-2.0", "1.1", "Ensure auditd is installed", "Services", "host", "high", "1", "0", "0", "1", "0", "0", "Fix 1.1"},
		{"102", "cis-linux-2.0", "5.2.10", "Ensure SSH root login is disabled", "Services", "host", "critical", "0", "1", "0", "0", "1", "0", xlsxLongFix},
		{"103", "cis-linux-2.0", "4.1", "Ensure cron is restricted", "Services", "host", "low", "0", "0", "1", "0", "0", "1", "Fix 4.1"},
		{"201", "cis-docker-1.6.0", "5.5", "Ensure privileged containers are not used", "Services", "container", "medium", "0", "1", "0", "0", "0", "0", "Fix 5.5"},
	}
	if got := rawRows(t, f, "Items")[1:]; !slices.EqualFunc(got, wantItems, slices.Equal) {
		t.Errorf("Items:\n got %q\nwant %q", got, wantItems)
	}
	wantAssets := [][]string{
		{big, "host", "web-1", "node-a", "1", "1", "1", "0", "0", "0", "FAILED"},
		{"2", "host", "db-1", "node-b", "0", "0", "0", "1", "1", "1", "SCAN_FAILED"},
		{"3", "container", "nginx", "node-a", "0", "1", "0", "0", "0", "0", "FAILED"},
	}
	if got := rawRows(t, f, "Assets")[1:]; !slices.EqualFunc(got, wantAssets, slices.Equal) {
		t.Errorf("Assets:\n got %q\nwant %q", got, wantAssets)
	}
	wantWaivers := [][]string{
		{"1", "103", "Ensure cron is restricted", "cis-linux-2.0", "host", "all", "", "accepted risk", "alice", "2026-02-01 08:00:00", "2026-02-02 08:00:00", "", "no"},
		{"2", "201", "Ensure privileged containers are not used", "cis-docker-1.6.0", "container", "2", "3, 4", "vendor image", "bob", "2026-01-01 08:00:00", "2026-01-01 08:00:00", "2026-02-01 00:00:00", "yes"},
	}
	if got := rawRows(t, f, "Waivers")[1:]; !slices.EqualFunc(got, wantWaivers, slices.Equal) {
		t.Errorf("Waivers:\n got %q\nwant %q", got, wantWaivers)
	}

	// Summary: the header block, the figures of Meta.Summary, the digests.
	sum := rawRows(t, f, "Summary")
	wantBlock := [][]string{
		{"Tool", "baseline 1.2.3"},
		{"Schema version", "1"},
		{"Generated at", "2026-03-02T09:30:00Z"},
		{"Grouped by", "asset"},
		{"Asset type", "all"},
		{"Limited to ids", big + ", 2, 3"},
		{"Task ids", "7, 8"},
		{"Checked from", "2026-03-01T10:00:00Z"},
		{"Checked to", "2026-03-01T11:00:00Z"},
		{"Hosts", "node-a, node-b"},
		{"Standards", "cis-linux-2.0: CIS Linux, version 2.0.0; cis-docker-1.6.0: CIS Docker, version 1.6.0"},
		{"Results", "7"},
		nil,
	}
	if got := sum[:summaryHeader-1]; !slices.EqualFunc(got, wantBlock, slices.Equal) {
		t.Errorf("Summary block:\n got %q\nwant %q", got, wantBlock)
	}
	for i, s := range src.M.Summary {
		num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		want := []string{s.AssetType.Short(), strconv.Itoa(s.AssetCount), strconv.Itoa(s.PassedAssetCount), strconv.Itoa(s.FailedAssetCount),
			strconv.Itoa(s.ScanFailedAssetCount), num(s.AssetPassedRate), strconv.Itoa(s.PassedPolicyItemCount), strconv.Itoa(s.FailedPolicyItemCount),
			strconv.Itoa(s.FailedCriticalPolicyItemCount), strconv.Itoa(s.FailedHighRiskPolicyItemCount), strconv.Itoa(s.FailedMediumRiskPolicyItemCount),
			strconv.Itoa(s.FailedLowRiskPolicyItemCount), strconv.Itoa(s.NoticePolicyItemCount), strconv.Itoa(s.OpenPolicyItemCount),
			strconv.Itoa(s.IgnoredPolicyItemCount), strconv.Itoa(s.TotalPolicyItemCount), strconv.Itoa(s.DetectHostCount), s.LastCheckTime, num(s.CheckCostTime)}
		if i == 1 {
			want[5] = "0.3" // 0.1+0.2 = 0.30000000000000004 keeps Excel's 15 digits
		}
		if got := sum[summaryHeader+i]; !slices.Equal(got, want) {
			t.Errorf("Summary %s:\n got %q\nwant %q", s.AssetType, got, want)
		}
	}
	direct := NewIntegrity(io.Discard)
	for _, r := range src.R {
		direct.AddRow(r)
	}
	if in.ResultsDigest() != direct.ResultsDigest() || in.Rows() != len(src.R) {
		t.Errorf("results digest %s over %d rows, want %s", in.ResultsDigest(), in.Rows(), direct.ResultsDigest())
	}
	digests := sum[summaryHeader+len(src.M.Summary):]
	if len(digests) != 3 || len(digests[0]) != 0 || !slices.Equal(digests[1], []string{"Results digest", ResultsMarker + direct.ResultsDigest()}) ||
		digests[2][0] != "Content digest" || !strings.HasPrefix(digests[2][1], ContentMarker) {
		t.Fatalf("digests %q", digests)
	}

	results, content, ok := verifyXLSX(t, data)
	if !ok || results != direct.ResultsDigest() || ContentMarker+content != digests[2][1] {
		t.Errorf("VerifyXLSX: results %s, content %s, ok %v", results, content, ok)
	}
	if content == zeroDigest {
		t.Error("content digest left zeroed")
	}
	// Verify, the formats' common entry point, recognizes the zip.
	if r2, c2, ok, err := Verify(data); err != nil || !ok || r2 != results || c2 != content {
		t.Errorf("Verify: %s %s %v %v", r2, c2, ok, err)
	}

	// Same source, same content digest.
	again, _ := encodeXLSX(t, xlsxFixture())
	if _, c2, _ := verifyXLSX(t, again); c2 != content {
		t.Errorf("content digest %s, then %s", content, c2)
	}
}

func TestXLSXTamper(t *testing.T) {
	data, _ := encodeXLSX(t, xlsxFixture())
	_, content, _ := verifyXLSX(t, data)
	for _, c := range []struct {
		name string
		edit func(f *excelize.File) error
		ok   bool
	}{
		{"saved again, unchanged", func(*excelize.File) error { return nil }, true},
		{"evidence outcome", func(f *excelize.File) error { return f.SetCellValue("Evidence", "L3", "PASSED") }, false},
		// The digest covers values, not types: 7 as text is still 7.
		{"task id as text, same value", func(f *excelize.File) error { return f.SetCellValue("Evidence", "A2", "7") }, true},
		{"evidence task id", func(f *excelize.File) error { return f.SetCellValue("Evidence", "A2", 8) }, false},
		{"evidence row added", func(f *excelize.File) error { return f.SetCellValue("Evidence", "A20", 1) }, false},
		{"evidence row removed", func(f *excelize.File) error { return f.RemoveRow("Evidence", 3) }, false},
		{"item count", func(f *excelize.File) error { return f.SetCellValue("Items", "I3", 0) }, false},
		{"asset verdict", func(f *excelize.File) error { return f.SetCellValue("Assets", "K2", "PASSED") }, false},
		{"waiver lapsed", func(f *excelize.File) error { return f.SetCellValue("Waivers", "M3", "no") }, false},
		{"summary figure", func(f *excelize.File) error { return f.SetCellValue("Summary", "C15", 2) }, false},
		{"results digest", func(f *excelize.File) error {
			return f.SetCellValue("Summary", "B18", ResultsMarker+strings.Repeat("1", 64))
		}, false},
		{"content digest", func(f *excelize.File) error {
			return f.SetCellValue("Summary", "B19", ContentMarker+strings.Repeat("1", 64))
		}, false},
		{"second content digest", func(f *excelize.File) error {
			return f.SetCellValue("Summary", "C19", ContentMarker+strings.Repeat("1", 64))
		}, false},
		{"row appended after the digests", func(f *excelize.File) error { return f.SetCellValue("Summary", "A21", "signed off") }, false},
		{"the digest copied into the hosts", func(f *excelize.File) error {
			return f.SetCellValue("Summary", "B10", ContentMarker+content)
		}, false},
		{"sheet renamed", func(f *excelize.File) error { return f.SetSheetName("Waivers", "Exceptions") }, false},
		{"sheet added", func(f *excelize.File) error { _, err := f.NewSheet("Notes"); return err }, false},
		{"cell added on a new sheet", func(f *excelize.File) error {
			if _, err := f.NewSheet("Notes"); err != nil {
				return err
			}
			return f.SetCellValue("Notes", "A1", "all good")
		}, false},
		{"sheet removed", func(f *excelize.File) error { return f.DeleteSheet("Waivers") }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := openXLSX(t, data)
			if err := c.edit(f); err != nil {
				t.Fatal(err)
			}
			buf, err := f.WriteToBuffer()
			if err != nil {
				t.Fatal(err)
			}
			_, got, ok := verifyXLSX(t, buf.Bytes())
			if ok != c.ok {
				t.Errorf("ok = %v, want %v", ok, c.ok)
			}
			if c.ok && got != content {
				t.Errorf("content digest %s, want %s", got, content)
			}
		})
	}
	t.Run("content digest removed", func(t *testing.T) {
		f := openXLSX(t, data)
		if err := f.SetCellValue("Summary", "B19", "gone"); err != nil {
			t.Fatal(err)
		}
		buf, err := f.WriteToBuffer()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := VerifyXLSX(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err == nil || !strings.Contains(err.Error(), "baseline-content-sha256") {
			t.Errorf("err = %v, want no content digest", err)
		}
	})
}

// A value that looks like a digest (here a host's name) is hashed as any
// other value and cannot stand in for the digest cell.
func TestXLSXPlantedDigest(t *testing.T) {
	src := xlsxFixture()
	planted := strings.Repeat("ab", 32)
	src.M.Hosts = []string{ContentMarker + planted}
	data, _ := encodeXLSX(t, src)
	_, content, ok := verifyXLSX(t, data)
	if !ok || content == planted {
		t.Fatalf("ok %v, content %s", ok, content)
	}
	f := openXLSX(t, data)
	if err := f.SetCellValue("Summary", "B10", ContentMarker+strings.Repeat("cd", 32)); err != nil {
		t.Fatal(err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	if _, got, ok := verifyXLSX(t, buf.Bytes()); ok || got != content {
		t.Errorf("planted host changed: ok %v, content %s (want %s)", ok, got, content)
	}
}

func TestXLSXEvidenceSplit(t *testing.T) {
	defer func(n int) { maxSheetRows = n }(maxSheetRows)
	maxSheetRows = 5 // a header and 4 rows a sheet
	for _, c := range []struct {
		rows  int
		split []int // rows on each evidence sheet, headers included
	}{
		{0, []int{1}},
		{4, []int{5}},
		{8, []int{5, 5}},
		{9, []int{5, 5, 2}},
	} {
		t.Run(strconv.Itoa(c.rows), func(t *testing.T) {
			src := &SliceSource{M: Meta{Tool: Tool{Name: "baseline"}}}
			for i := range c.rows {
				src.R = append(src.R, results.Row{TaskID: int64(i + 1), ItemID: uint64(i%3 + 1), AssetID: uint64(i/3 + 1), AssetType: assets.Host,
					Status: checks.CheckFinished, Result: checks.ResultPassed, Risk: checks.RiskLow})
			}
			data, _ := encodeXLSX(t, src)
			f := openXLSX(t, data)
			want := []string{"Summary", "Items", "Assets"}
			for i := range c.split {
				name := "Evidence"
				if i > 0 {
					name += " " + strconv.Itoa(i+1)
				}
				want = append(want, name)
			}
			want = append(want, "Waivers")
			if got := f.GetSheetList(); !slices.Equal(got, want) {
				t.Fatalf("sheets %q, want %q", got, want)
			}
			filters := map[string]string{}
			for _, dn := range f.GetDefinedName() {
				if dn.Name == "_xlnm._FilterDatabase" {
					filters[dn.Scope] = dn.RefersTo
				}
			}
			task := 0
			for i, n := range c.split {
				sheet := want[3+i]
				rows := rawRows(t, f, sheet)
				if len(rows) != n || !slices.Equal(rows[0], xlsxEvidenceHeader) {
					t.Errorf("%s: %d rows, header %q; want %d rows", sheet, len(rows), rows[0], n)
				}
				for _, r := range rows[1:] {
					task++
					if r[0] != strconv.Itoa(task) {
						t.Errorf("%s: task %s, want %d", sheet, r[0], task)
					}
				}
				if p, _ := f.GetPanes(sheet); !p.Freeze || p.YSplit != 1 {
					t.Errorf("%s: panes %+v", sheet, p)
				}
				if want := fmt.Sprintf("'%s'!$A$1:$O$%d", sheet, n); filters[sheet] != want {
					t.Errorf("%s: filter %q, want %q", sheet, filters[sheet], want)
				}
			}
			if task != c.rows {
				t.Errorf("%d rows on the evidence sheets, want %d", task, c.rows)
			}
			if _, _, ok := verifyXLSX(t, data); !ok {
				t.Error("does not verify")
			}
		})
	}
}

// An evidence sheet longer than the rows measured for its widths still
// has its used range (the dimension element, which some readers trust):
// the sheet's XML head is written once every row is known.
func TestXLSXDimensionLarge(t *testing.T) {
	data, _ := encodeXLSX(t, &xlsxSynthSource{n: xlsxWidthSample + 1})
	x := xlsxSheetXML(t, data)
	if want := fmt.Sprintf(`<dimension ref="A1:O%d">`, xlsxWidthSample+2); !strings.Contains(x["Evidence"], want) {
		t.Errorf("Evidence: no %s", want)
	}
	if !strings.Contains(x["Items"], `<dimension ref="A1:N151">`) {
		t.Error("Items: no dimension A1:N151")
	}
	f := openXLSX(t, data)
	if rows := rawRows(t, f, "Evidence"); len(rows) != xlsxWidthSample+2 {
		t.Errorf("Evidence: %d rows", len(rows))
	}
	if _, _, ok := verifyXLSX(t, data); !ok {
		t.Error("does not verify")
	}
}

func TestXLSXLongText(t *testing.T) {
	long := strings.Repeat("x", 40000)
	wide := strings.Repeat("😀", 20000) // 40,000 UTF-16 units
	src := &SliceSource{M: Meta{}, R: []results.Row{
		{ItemID: 1, AssetID: 1, Result: checks.ResultFailed, Reason: long, Remediation: wide},
	}}
	data, _ := encodeXLSX(t, src)
	f := openXLSX(t, data)
	ev := rawRows(t, f, "Evidence")
	reason, fix := ev[1][12], ev[1][14]
	if utf16Len(reason) != xlsxMaxCellChars || !strings.HasSuffix(reason, xlsxTruncated) || !strings.HasPrefix(reason, "xxx") {
		t.Errorf("reason: %d units, ends %q", utf16Len(reason), reason[len(reason)-20:])
	}
	if n := utf16Len(fix); n > xlsxMaxCellChars || n < xlsxMaxCellChars-1 || !strings.HasSuffix(fix, xlsxTruncated) || !utf8.ValidString(fix) {
		t.Errorf("fix suggestion: %d units", n)
	}
	if _, _, ok := verifyXLSX(t, data); !ok {
		t.Error("does not verify")
	}
}

func TestXLSXText(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"plain":                "plain",
		"tab\tnl\ncr\r":        "tab\tnl\ncr\r",
		"nul\x00 bell\x07":     "nul\uFFFD bell\uFFFD",
		"bad\xff\xfe utf8":     "bad\uFFFD\uFFFD utf8",
		"noncharacter \uFFFE":  "noncharacter \uFFFD",
		"emoji 😀 and é":        "emoji 😀 and é",
		"_x0041_ stays _x0041": "_x0041_ stays _x0041",
	} {
		if got := xlsxText(in); got != want {
			t.Errorf("xlsxText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestXLSXSourceError(t *testing.T) {
	src := &xlsxSynthSource{n: 10, failAt: 3}
	var buf bytes.Buffer
	if err := (XLSXEncoder{}).Encode(context.Background(), &buf, src, NewIntegrity(&buf)); err == nil || err.Error() != "boom" {
		t.Errorf("err = %v, want boom", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written before the error", buf.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (XLSXEncoder{}).Encode(ctx, &buf, xlsxFixture(), NewIntegrity(&buf)); !errors.Is(err, context.Canceled) || buf.Len() != 0 {
		t.Errorf("cancelled: err %v, %d bytes", err, buf.Len())
	}
}

func TestVerifyXLSXErrors(t *testing.T) {
	check := func(name string, data []byte, want string) {
		t.Helper()
		_, _, ok, err := VerifyXLSX(bytes.NewReader(data), int64(len(data)))
		if ok || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: ok %v, err %v; want an error with %q", name, ok, err, want)
		}
	}
	check("not a zip", []byte("TaskId,CheckedAt\n"), "not an XLSX workbook")
	f := excelize.NewFile()
	defer f.Close()
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	check("no Summary", buf.Bytes(), "no Summary sheet")
	if err := f.SetSheetName("Sheet1", "Summary"); err != nil {
		t.Fatal(err)
	}
	if buf, err = f.WriteToBuffer(); err != nil {
		t.Fatal(err)
	}
	check("no digest", buf.Bytes(), "no baseline-content-sha256 cell")
}

func TestXLSXHashOrder(t *testing.T) {
	got, err := xlsxHashOrder([]string{"Summary", "Items", "Assets", "Evidence", "Evidence 2", "Evidence 10", "Evidence x", "Waivers"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Evidence", "Evidence 2", "Evidence 10", "Items", "Assets", "Evidence x", "Waivers", "Summary"}
	if !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

// xlsxSynthSource makes rows on the fly: 150 items on as many assets as
// the rows need, mostly passed, some failed with evidence, a few of the
// other outcomes.
type xlsxSynthSource struct {
	n      int
	failAt int // > 0: Rows fails at this row
}

var xlsxSynthFix = func() []string {
	out := make([]string, 150)
	for i := range out {
		out[i] = fmt.Sprintf("Edit the configuration of service %d and set the parameter to the value the benchmark requires, then restart it. ", i) +
			strings.Repeat("See the benchmark's rationale. ", 4)
	}
	return out
}()

func (s *xlsxSynthSource) Meta() Meta {
	return Meta{SchemaVersion: ExportSchemaVersion, Tool: Tool{Name: "baseline", Version: "bench"}, By: ByAssetGroup,
		GeneratedAt: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), TaskIDs: []int64{1}, ResultCount: s.n,
		Summary: []store.AssetSummary{{AssetType: assets.Host, AssetCount: (s.n + 149) / 150}}}
}

func (s *xlsxSynthSource) Rows(ctx context.Context, fn func(results.Row) error) error {
	for i := range s.n {
		if s.failAt > 0 && i == s.failAt {
			return errors.New("boom")
		}
		item, asset := i%150, i/150
		r := results.Row{ItemID: uint64(1000 + item), Number: fmt.Sprintf("%d.%d", item/10+1, item%10+1),
			Title: "Ensure the service setting number " + strconv.Itoa(item) + " is configured", Category: "Services",
			StandardID: "cis-linux-2.0", Risk: checks.Risks[item%len(checks.Risks)], AssetID: uint64(1<<40 + asset),
			AssetName: "host-" + strconv.Itoa(asset), AssetType: assets.Host, NodeName: "node-" + strconv.Itoa(asset),
			Status: checks.CheckFinished, Result: checks.ResultPassed, CheckedAt: "2026-03-01 10:00:00", TaskID: 1,
			Remediation: xlsxSynthFix[item]}
		switch i % 20 {
		case 1, 2, 3:
			r.Result = checks.ResultFailed
			r.Evidence = []checks.Evidence{
				{Source: "file:/etc/service.conf", Subject: "Parameter" + strconv.Itoa(item), Actual: "off", Expected: "on"},
				{Source: "file:/etc/service.conf", Subject: "Mode", Actual: "0644", Expected: "0644", Passed: true},
			}
		case 4:
			r.Result, r.Ignored = checks.ResultFailed, true
		case 5:
			r.Result, r.Reason = checks.ResultManual, "needs a manual review"
		case 6:
			r.Status, r.Result, r.Reason = checks.CheckFailed, "", "permission denied reading /etc/service.conf"
		default:
			r.Evidence = []checks.Evidence{{Source: "file:/etc/service.conf", Subject: "Parameter" + strconv.Itoa(item), Actual: "on", Expected: "on", Passed: true}}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// BenchmarkExportXLSXLarge writes 200,000 rows to io.Discard. Besides time
// and allocations it reports the peak live heap seen while encoding
// (sampled every 10 ms).
func BenchmarkExportXLSXLarge(b *testing.B) {
	const n = 200_000
	src := &xlsxSynthSource{n: n}
	peak := sampleHeapPeak()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := (XLSXEncoder{}).Encode(context.Background(), io.Discard, src, NewIntegrity(io.Discard)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(before.HeapAlloc)/(1<<20), "heap-before-MB")
}

// xlsxRezip rewrites a workbook's parts through edit (name, bytes → new
// bytes), as another program saving it would.
func xlsxRezip(t *testing.T, data []byte, edit func(name string, part []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		part, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(edit(zf.Name, part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

var xlsxLiteralEscape = regexp.MustCompile(`_(x[0-9A-Fa-f]{4}_)`)

// xlsxCopyShared writes, with excelize, a new workbook holding the cell
// values of data: its texts in a shared strings table (as Excel and
// LibreOffice save them), numbers as numbers, the Summary's first label as
// rich text in two runs.
func xlsxCopyShared(t *testing.T, data []byte) []byte {
	t.Helper()
	src := openXLSX(t, data)
	dst := excelize.NewFile()
	t.Cleanup(func() { dst.Close() })
	for i, sheet := range src.GetSheetList() {
		if i == 0 {
			if err := dst.SetSheetName("Sheet1", sheet); err != nil {
				t.Fatal(err)
			}
		} else if _, err := dst.NewSheet(sheet); err != nil {
			t.Fatal(err)
		}
		for r, row := range rawRows(t, src, sheet) {
			for c, v := range row {
				if v == "" {
					continue
				}
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				typ, _ := src.GetCellType(sheet, cell)
				var err error
				switch f, perr := strconv.ParseFloat(v, 64); {
				case typ == excelize.CellTypeUnset && perr == nil:
					err = dst.SetCellFloat(sheet, cell, f, -1, 64)
				case sheet == "Summary" && cell == "A1":
					err = dst.SetCellRichText(sheet, cell, []excelize.RichTextRun{{Text: v[:2], Font: &excelize.Font{Bold: true}}, {Text: v[2:]}})
				default:
					// Excel escapes a literal _xHHHH_; excelize's
					// shared strings do not, so the copy does it.
					err = dst.SetCellStr(sheet, cell, xlsxLiteralEscape.ReplaceAllString(v, "_x005F_$1"))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	buf, err := dst.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// VerifyXLSX reads a workbook that another writer (excelize here) saved
// with a shared strings table, rich text and numbers: the same values give
// the same content digest, a changed one does not.
func TestVerifyXLSXSharedStrings(t *testing.T) {
	data, _ := encodeXLSX(t, xlsxFixture())
	results, content, _ := verifyXLSX(t, data)
	copied := xlsxCopyShared(t, data)
	parts := xlsxSheetXML(t, copied)
	if strings.Contains(parts["Evidence"], "inlineStr") || !strings.Contains(parts["Evidence"], `t="s"`) {
		t.Fatal("the copy does not use shared strings")
	}
	r2, c2, ok := verifyXLSX(t, copied)
	if !ok || r2 != results || c2 != content {
		t.Errorf("copy: ok %v, results %s, content %s (want %s)", ok, r2, c2, content)
	}

	// Phonetic runs are not part of a text.
	phonetic := xlsxRezip(t, copied, func(name string, part []byte) []byte {
		if name != "xl/sharedStrings.xml" {
			return part
		}
		return bytes.Replace(part, []byte("</si>"), []byte(`<rPh sb="0" eb="1"><t>ふ</t></rPh></si>`), 1)
	})
	if _, c3, ok := verifyXLSX(t, phonetic); !ok || c3 != content {
		t.Errorf("phonetic run: ok %v", ok)
	}

	f := openXLSX(t, copied)
	if err := f.SetCellStr("Evidence", "L3", "PASSED"); err != nil {
		t.Fatal(err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := verifyXLSX(t, buf.Bytes()); ok {
		t.Error("an edited shared string verifies")
	}
}

// VerifyXLSX holds a workbook's shared strings whole, so it refuses, before
// reading them, a table larger than it reads (xlsxMaxShared), naming the
// part; a table within the bound verifies.
func TestVerifyXLSXBoundsSharedStrings(t *testing.T) {
	data, _ := encodeXLSX(t, xlsxFixture())
	_, content, _ := verifyXLSX(t, data)
	copied := xlsxCopyShared(t, data)
	zr, err := zip.NewReader(bytes.NewReader(copied), int64(len(copied)))
	if err != nil {
		t.Fatal(err)
	}
	var size uint64
	for _, f := range zr.File {
		if f.Name == "xl/sharedStrings.xml" {
			size = f.UncompressedSize64
		}
	}
	if size == 0 {
		t.Fatal("the copy has no shared strings part")
	}
	defer func(max uint64) { xlsxMaxShared = max }(xlsxMaxShared)
	xlsxMaxShared = size
	if _, c, ok := verifyXLSX(t, copied); !ok || c != content {
		t.Errorf("a shared strings table of exactly the bound: ok %v", ok)
	}
	xlsxMaxShared = size - 1
	_, _, _, err = VerifyXLSX(bytes.NewReader(copied), int64(len(copied)))
	if err == nil || !strings.Contains(err.Error(), "xl/sharedStrings.xml") || !strings.Contains(err.Error(), strconv.FormatUint(size, 10)+" bytes") {
		t.Errorf("a shared strings table over the bound: %v", err)
	}
}

// VerifyXLSX holds a row whole until it hashes it, so a row whose values
// together pass xlsxMaxReadRow (each cell within its own bound) is refused
// with the row's number.
func TestVerifyXLSXBoundsARow(t *testing.T) {
	data, _ := encodeXLSX(t, xlsxFixture())
	cell := `<c t="inlineStr"><is><t>` + strings.Repeat("a", xlsxMaxReadCell-16) + `</t></is></c>`
	cells := strings.Repeat(cell, xlsxMaxReadRow/(xlsxMaxReadCell-16)+1)
	wide := xlsxRezip(t, data, func(name string, part []byte) []byte {
		if !strings.HasPrefix(name, "xl/worksheets/") {
			return part
		}
		return regexp.MustCompile(`(?s)<sheetData>.*</sheetData>`).ReplaceAll(part, []byte(`<sheetData><row r="1">`+cells+`</row></sheetData>`))
	})
	_, _, _, err := VerifyXLSX(bytes.NewReader(wide), int64(len(wide)))
	if err == nil || !strings.Contains(err.Error(), "row 1: more than "+strconv.Itoa(xlsxMaxReadRow)+" bytes of values") {
		t.Errorf("a row of %d MB: %v", len(cells)>>20, err)
	}
}

// VerifyXLSX reads rows and cells without their r= references (a cell
// that follows the previous one, a row that follows the previous row), as
// some writers save them.
func TestVerifyXLSXNoReferences(t *testing.T) {
	data, _ := encodeXLSX(t, xlsxFixture())
	_, content, _ := verifyXLSX(t, data)
	tag := regexp.MustCompile(`<row r="\d+"|<c r="([A-Z]+)\d+"`)
	dropped := 0
	bare := xlsxRezip(t, data, func(name string, part []byte) []byte {
		if !strings.HasPrefix(name, "xl/worksheets/") {
			return part
		}
		prev := 0
		return tag.ReplaceAllFunc(part, func(m []byte) []byte {
			if bytes.HasPrefix(m, []byte("<row")) {
				prev = 0
				dropped++
				return []byte("<row")
			}
			col := 0
			for _, c := range tag.FindSubmatch(m)[1] {
				col = col*26 + int(c-'A'+1)
			}
			defer func() { prev = col }()
			if col != prev+1 {
				return m // a cell after a missing one keeps its reference
			}
			dropped++
			return []byte("<c")
		})
	})
	if dropped == 0 || !strings.Contains(xlsxSheetXML(t, bare)["Evidence"], `<c r="N3"`) {
		t.Fatal("nothing dropped, or no missing cell left")
	}
	if _, c2, ok := verifyXLSX(t, bare); !ok || c2 != content {
		t.Errorf("without references: ok %v, content %s (want %s)", ok, c2, content)
	}
}

// A text that reads as an _xHHHH_ escape is written with its underscore
// escaped, so that it reads back literally; the reader decodes escapes
// another writer made.
func TestXLSXEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"_x0041_":          "_x005F_x0041_",
		"_x005F_":          "_x005F_x005F_",
		"a_x12G4_ _x41_ _": "a_x12G4_ _x41_ _",
		"<&>\r\n\t\"'":     "&lt;&amp;&gt;&#xD;\n\t\"'",
	} {
		got := string(appendXLSXText(nil, in))
		if got != want {
			t.Errorf("appendXLSXText(%q) = %q, want %q", in, got, want)
		}
		if back := xlsxUnescape(strings.NewReplacer("&lt;", "<", "&amp;", "&", "&gt;", ">", "&#xD;", "\r").Replace(got)); back != in {
			t.Errorf("%q reads back %q", got, back)
		}
	}
	for in, want := range map[string]string{"caf_x00E9_": "café", "_x0009_tab": "\ttab", "_x005f_x0041_": "_x0041_", "plain": "plain"} {
		if got := xlsxUnescape(in); got != want {
			t.Errorf("xlsxUnescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkVerifyXLSXLarge verifies an export of 200,000 rows: time,
// allocations and the peak live heap while reading.
func BenchmarkVerifyXLSXLarge(b *testing.B) {
	data, _ := encodeXLSX(b, &xlsxSynthSource{n: 200_000})
	runtime.GC()
	peak := sampleHeapPeak()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, _, ok := verifyXLSX(b, data); !ok {
			b.Fatal("does not verify")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(data))/(1<<20), "file-MB")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
}

// sampleHeapPeak samples the live heap every 10 ms until the returned
// function is called, which gives the most seen.
func sampleHeapPeak() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// TestXLSXSpoolLeavesNoFile fills a sheet's spool past what it keeps in
// memory: its bytes come back whole and in order, and at no time does a
// file of them stay in the temporary directory (a kill mid-export leaves
// no evidence behind).
func TestXLSXSpoolLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	var s xlsxSpool
	defer s.close()
	var want bytes.Buffer
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for i := 0; want.Len() <= xlsxSpoolMemory+len(chunk); i++ {
		chunk[0] = byte('a' + i%26)
		if _, err := s.Write(chunk); err != nil {
			t.Fatal(err)
		}
		want.Write(chunk)
	}
	if s.file == nil {
		t.Fatalf("%d bytes stayed in memory, past the spool's %d", want.Len(), xlsxSpoolMemory)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the spool's file is in the temporary directory while it is used: %v", left)
	}
	var got bytes.Buffer
	if err := s.copyTo(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("the spool gave back %d bytes, not the %d written", got.Len(), want.Len())
	}
}
