package report_test

import (
	"bytes"
	"encoding/json"
	"os"
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
		s.Add(byID[rs[0].AssetID], rs[:n])
		rs = rs[n:]
	}
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

// The summary view streamed asset by asset is the view of the whole
// report; the asset and item views, which list every finding, refuse to
// stream.
func TestTableStreamWritesTheSummaryView(t *testing.T) {
	rep := goldenReport()
	s, err := report.NewTableStream(report.TableOptions{View: report.BySummary})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[uint64]assets.Asset{}
	for _, a := range rep.Assets {
		byID[a.ID] = a
	}
	for i := range rep.Results {
		s.Add(byID[rep.Results[i].AssetID], rep.Results[i:i+1])
	}
	var got, want bytes.Buffer
	streamed := *rep
	streamed.Results = nil
	if err := s.Write(&got, &streamed); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteTable(&want, rep, report.BySummary); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("streamed:\n%s\nwhole:\n%s", got.String(), want.String())
	}
	for _, v := range []report.View{report.ByAsset, report.ByItem} {
		if _, err := report.NewTableStream(report.TableOptions{View: v}); err == nil {
			t.Errorf("the %s view streamed", v)
		}
	}
}
