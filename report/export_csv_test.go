package report_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/report"
)

func TestExportCSVGolden(t *testing.T) {
	out, _ := exportTo(t, report.CSVEncoder{}, exportFixture())
	golden(t, "export.csv.golden", out)
}

func TestExportCSVFormat(t *testing.T) {
	var e report.Encoder = report.CSVEncoder{}
	if e.Format() != "csv" || e.Ext() != ".csv" {
		t.Errorf("Format, Ext = %q, %q", e.Format(), e.Ext())
	}
}

// readExportCSV parses an export as a consumer would: encoding/csv, skipping the
// records that start with "#".
func readExportCSV(t *testing.T, out []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(out))
	r.Comment = '#'
	r.FieldsPerRecord = len(report.CSVColumns)
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// The CSV reads back with encoding/csv: the header, then every row's
// columns as documented, the evidence quoted intact.
func TestExportCSVReadBack(t *testing.T) {
	src := exportFixture()
	out, in := exportTo(t, report.CSVEncoder{}, src)
	records := readExportCSV(t, out)
	if !slices.Equal(records[0], report.CSVColumns) {
		t.Errorf("header %q", records[0])
	}
	if len(records) != 1+len(src.R) || in.Rows() != len(src.R) {
		t.Fatalf("%d records, %d rows hashed; want a header and %d rows", len(records), in.Rows(), len(src.R))
	}
	col := map[string]int{}
	for i, c := range report.CSVColumns {
		col[c] = i
	}
	outcomes := []string{"MANUAL", "PASSED", "NOT_APPLICABLE", "PASSED", "FAILED", "FAILED", "IGNORED", "CHECK_FAILED"}
	evidence := []string{
		"PRETTY_NAME: Debian GNU/Linux 13 (trixie) (expected reviewed by hand)",
		"{.icc}: false (expected '{.icc}' is equal to 'false')",
		"{.Swarm.LocalNodeState}: inactive (expected '{.Swarm.LocalNodeState}' is equal to 'active')",
		// none failed: all of them
		"{.icc}: false (expected '{.icc}' is equal to 'false') | {.BridgeNfIptables}: true (expected '{.BridgeNfIptables}' is equal to 'true')",
		"{.HostConfig.Privileged}: true (expected '{.HostConfig.Privileged}' is equal to 'false')",
		// the failing ones only; commas, quotes and newlines survive
		`{.Mounts[*].Source}: [/srv/www, /etc] (expected '{.Mounts[*].Source}' does not match "/etc") | ` +
			"{.HostConfig.Binds}: /etc:/etc:ro\n# not a comment (expected '{.HostConfig.Binds}' is not set)",
		"{.Config.User}: not set (expected '{.Config.User}' is set)",
		"",
	}
	for i, r := range src.R {
		rec := records[1+i]
		want := map[string]string{
			"TaskId": strconv.FormatInt(r.TaskID, 10), "CheckedAt": r.CheckedAt, "AssetType": string(r.AssetType),
			"CustomerAssetId": strconv.FormatUint(r.AssetID, 10), "AssetName": r.AssetName, "NodeName": r.NodeName,
			"StandardId": r.StandardID, "CustomerPolicyItemId": strconv.FormatUint(r.ItemID, 10), "BenchmarkNumber": r.Number,
			"Name": r.Title, "Category": r.Category, "RiskLevel": string(r.Risk), "CheckStatus": string(r.Status),
			"CheckResult": string(r.Result), "Outcome": outcomes[i], "Ignored": strconv.FormatBool(r.Ignored), "Reason": r.Reason,
			"Evidence": evidence[i], "FixSuggestion": r.Remediation,
		}
		if len(want) != len(report.CSVColumns) {
			t.Fatalf("the test checks %d columns, there are %d", len(want), len(report.CSVColumns))
		}
		for c, v := range want {
			if got := rec[col[c]]; got != v {
				t.Errorf("row %d, %s = %q, want %q", i, c, got, v)
			}
		}
		if r.Outcome() != outcomes[i] {
			t.Errorf("row %d: Outcome() = %q, the test expects %q", i, r.Outcome(), outcomes[i])
		}
	}
	// Checked-at times are the rows', UTC, as documented.
	for _, rec := range records[1:] {
		if _, err := time.Parse(time.DateTime, rec[col["CheckedAt"]]); err != nil {
			t.Errorf("CheckedAt %q: %v", rec[col["CheckedAt"]], err)
		}
	}
}

// The last line is the integrity comment, and nothing follows it; the
// only line starting with "#" outside a quoted field.
func TestExportCSVTrailer(t *testing.T) {
	out, in := exportTo(t, report.CSVEncoder{}, exportFixture())
	m := regexp.MustCompile(`\n# baseline-results-sha256=([0-9a-f]{64}) baseline-content-sha256=[0-9a-f]{64}\n$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the CSV does not end with the integrity line:\n%s", out[max(0, len(out)-200):])
	}
	if string(m[1]) != in.ResultsDigest() {
		t.Errorf("results digest %s, computed %s", m[1], in.ResultsDigest())
	}
	// Read without Comment, the trailer is one record of one field, and it
	// is the last: a consumer can also drop records whose first field
	// starts with "#".
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	var last []string
	comments := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(rec[0], "#") {
			comments++
		}
		last = rec
	}
	if comments != 1 || len(last) != 1 || !strings.HasPrefix(last[0], "# "+report.ResultsMarker) {
		t.Errorf("%d comment records; the last record is %q", comments, last)
	}
}

// An export without rows is a header and the integrity line.
func TestExportCSVEmpty(t *testing.T) {
	out, _ := exportTo(t, report.CSVEncoder{}, &report.SliceSource{})
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2 || lines[0] != strings.Join(report.CSVColumns, ",") || !strings.HasPrefix(lines[1], "# ") {
		t.Errorf("empty export:\n%s", out)
	}
	if _, _, ok, err := report.VerifyContent(out); !ok || err != nil {
		t.Errorf("VerifyContent = %v, %v", ok, err)
	}
}

func BenchmarkExportCSVLarge(b *testing.B) { benchExportStream(b, report.CSVEncoder{}) }

// Text that a spreadsheet would evaluate (an asset named "=cmd|...", a
// node "+1", evidence starting with "-", a reason "@SUM") is written
// inert, with a leading apostrophe; the other columns are as they were.
func TestExportCSVFormulasInert(t *testing.T) {
	src := exportFixture()
	r := &src.R[4]
	r.AssetName, r.NodeName, r.Reason = `=cmd|' /C calc'!A0`, "+1+1", "@SUM(1,1)"
	r.Title, r.Remediation = "\tTAB", "\rCR"
	r.Evidence[0].Subject = "-2+3"
	out, _ := exportTo(t, report.CSVEncoder{}, src)
	rec := readExportCSV(t, out)[1+4]
	col := map[string]int{}
	for i, c := range report.CSVColumns {
		col[c] = i
	}
	for c, want := range map[string]string{"AssetName": `'=cmd|' /C calc'!A0`, "NodeName": "'+1+1", "Reason": "'@SUM(1,1)",
		"Name": "'\tTAB", "FixSuggestion": "'\rCR"} {
		if got := rec[col[c]]; got != want {
			t.Errorf("%s = %q, want %q", c, got, want)
		}
	}
	if ev := rec[col["Evidence"]]; !strings.HasPrefix(ev, "'-2+3") {
		t.Errorf("Evidence = %q, want it to start with '-2+3", ev)
	}
	for i, v := range rec {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			t.Errorf("%s starts with %q: a spreadsheet would evaluate it", report.CSVColumns[i], v[0])
		}
	}
}
