package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
)

// streamJSON writes rep through a JSONStream: its results added asset by
// asset, in order, and the report's own list emptied, as a streamed scan
// leaves it.
func streamJSON(t *testing.T, rep *results.Report, dir string) []byte {
	t.Helper()
	s, err := report.NewJSONStream(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addByAsset(rep, s.Add)
	streamed := *rep
	streamed.Results, streamed.ResultCount = nil, len(rep.Results)
	var buf bytes.Buffer
	if err := s.Write(&buf, &streamed, "test"); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A report streamed asset by asset is, byte for byte, the report written
// whole, for a report with results and for an empty one; the spool leaves
// no file behind, even while the stream is open.
func TestJSONStreamWritesTheWholeReport(t *testing.T) {
	for name, rep := range map[string]*results.Report{"golden": goldenReport(), "empty": {}} {
		dir := t.TempDir()
		var want bytes.Buffer
		if err := report.WriteJSON(&want, rep, "test"); err != nil {
			t.Fatal(err)
		}
		got := streamJSON(t, rep, dir)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s report: the stream wrote\n%s\nWriteJSON writes\n%s", name, got, want.Bytes())
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s report: the spool left %d files", name, len(left))
		}
	}
}

// Roll-ups added result by result are the same roll-ups as the report summarized
// whole.
func TestRollupsAsSummarize(t *testing.T) {
	rep := goldenReport()
	rollups := report.NewRollups()
	byID := map[uint64]assets.Asset{}
	for _, a := range rep.Assets {
		byID[a.ID] = a
	}
	for i := range rep.Results {
		rollups.Add(byID[rep.Results[i].AssetID], rep.Results[i:i+1])
	}
	var got, want bytes.Buffer
	if err := jsonEncode(&got, rollups.Summary(rep)); err != nil {
		t.Fatal(err)
	}
	if err := jsonEncode(&want, report.Summarize(rep)); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("added:\n%s\nSummarize:\n%s", got.String(), want.String())
	}
}

func jsonEncode(w *bytes.Buffer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(v)
}

// Every table view streamed asset by asset is the view of the whole
// report.
func TestTableStreamWritesEachView(t *testing.T) {
	rep := goldenReport()
	for _, view := range []report.View{report.BySummary, report.ByAsset, report.ByItem} {
		got := streamTable(t, rep, view)
		var want bytes.Buffer
		if err := report.WriteTable(&want, rep, view); err != nil {
			t.Fatal(err)
		}
		if got != want.String() {
			t.Errorf("%s view streamed:\n%s\nwhole:\n%s", view, got, want.String())
		}
	}
}

// A scan with thousands of findings lists them in tables of 500 rows, each
// laid out once full: streamed or from the whole report, the same tables,
// and every finding in one of them; the spool leaves no file behind.
func TestTableStreamLaysOutFindingsInChunks(t *testing.T) {
	rep := largeReport(300, 40) // 3,000 findings
	dir := t.TempDir()
	for _, view := range []report.View{report.ByAsset, report.ByItem} {
		s := report.NewTableStream(report.TableOptions{View: view}, rep.Items, dir)
		addByAsset(rep, s.Add)
		streamed := *rep
		streamed.Results = nil
		var got, want bytes.Buffer
		if err := s.Write(&got, &streamed); err != nil {
			t.Fatal(err)
		}
		if err := report.WriteTable(&want, rep, view); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s view: the streamed findings differ from the whole report's", view)
		}
		for _, title := range []string{"Findings 1 to 500 of the scan", "Findings 2501 to 3000 of the scan"} {
			if !strings.Contains(got.String(), title) {
				t.Errorf("%s view: no table %q", view, title)
			}
		}
		if n := strings.Count(got.String(), "│ container web-"); n != 3000 {
			t.Errorf("%s view: %d findings listed, want 3000", view, n)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the findings' spool left %d files", len(left))
	}
}

// streamTable writes rep's view through a TableStream, its results added
// asset by asset.
func streamTable(t *testing.T, rep *results.Report, view report.View) string {
	t.Helper()
	s := report.NewTableStream(report.TableOptions{View: view}, rep.Items, t.TempDir())
	addByAsset(rep, s.Add)
	streamed := *rep
	streamed.Results = nil
	var buf bytes.Buffer
	if err := s.Write(&buf, &streamed); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// addByAsset hands rep's results to add, one asset's run at a time.
func addByAsset(rep *results.Report, add func(assets.Asset, []results.Result)) {
	byID := map[uint64]assets.Asset{}
	for _, a := range rep.Assets {
		byID[a.ID] = a
	}
	rs := rep.Results
	for len(rs) > 0 {
		n := 1
		for n < len(rs) && rs[n].AssetID == rs[0].AssetID {
			n++
		}
		add(byID[rs[0].AssetID], rs[:n])
		rs = rs[n:]
	}
}
