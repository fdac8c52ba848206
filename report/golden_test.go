package report_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenReport is the fixed scan of every golden file (testhost.GoldenReport).
func goldenReport() *results.Report { return testhost.GoldenReport() }

func TestGoldenTableByAsset(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteTable(&buf, goldenReport(), report.ByAsset); err != nil {
		t.Fatal(err)
	}
	golden(t, "table_by_asset.golden", buf.Bytes())
}

func TestGoldenTableByItem(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteTable(&buf, goldenReport(), report.ByItem); err != nil {
		t.Fatal(err)
	}
	golden(t, "table_by_item.golden", buf.Bytes())
}

func TestGoldenJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, goldenReport(), "test"); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("WriteJSON wrote invalid JSON:\n%s", buf.Bytes())
	}
	golden(t, "report_json.golden", buf.Bytes())
}

// TestWriteJSONAsEncoder: the report written element by element is, byte
// for byte, what json.Encoder writes of the whole document, for a report
// with results and for an empty one (its lists as []).
func TestWriteJSONAsEncoder(t *testing.T) {
	for name, rep := range map[string]*results.Report{"golden": goldenReport(), "empty": {}} {
		var got, want bytes.Buffer
		if err := report.WriteJSON(&got, rep, "test"); err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report.NewDocument(rep, "test")); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s report: WriteJSON wrote\n%s\njson.Encoder writes\n%s", name, got.Bytes(), want.Bytes())
		}
	}
}

// TestGoldenXLSX pins the XLSX export of goldenReport. The golden holds
// the workbook's parts, readable, rather than the zip: every part, in name
// order, with its bytes exactly as written (see xlsxParts); the order of
// the entries, their compression and the zip headers are not compared.
// No time field needs redacting: the entries carry no modification time,
// and docProps/core.xml's created and modified times are the export's
// GeneratedAt, the report's fixed FinishedAt.
func TestGoldenXLSX(t *testing.T) {
	out, _ := exportTo(t, report.XLSXEncoder{}, report.NewScanSource(goldenReport(), "test"))
	golden(t, "export.xlsx.golden", xlsxParts(t, out))
}

// xlsxParts renders a workbook's parts, sorted by name, each as a
// "=== NAME (N bytes)" line followed by its N bytes and a newline.
func xlsxParts(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the XLSX export is not a zip: %v", err)
	}
	files := append([]*zip.File(nil), zr.File...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var buf bytes.Buffer
	for _, f := range files {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		part, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		fmt.Fprintf(&buf, "=== %s (%d bytes)\n", f.Name, len(part))
		buf.Write(part)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testhost.Golden(t, name, got, *update, func(want, got []byte) string { return lineDiff(string(want), string(got)) })
}

// lineDiff is a small line-based diff (longest common subsequence) that
// shows the differing lines with a line of context around each change.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
		n    int // line number in the golden file (or where it would be)
	}
	var ops []line
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, line{' ', x[i], i + 1})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, line{'-', x[i], i + 1})
			i++
		default:
			ops = append(ops, line{'+', y[j], i + 1})
			j++
		}
	}
	var sb strings.Builder
	last := -1
	for k, op := range ops {
		near := false
		for d := -1; d <= 1; d++ {
			if k+d >= 0 && k+d < len(ops) && ops[k+d].op != ' ' {
				near = true
			}
		}
		if !near {
			continue
		}
		if last >= 0 && k != last+1 {
			sb.WriteString("...\n")
		}
		if op.op == ' ' {
			fmt.Fprintf(&sb, "  %s\n", op.text)
		} else if k == 0 || ops[k-1].op == ' ' {
			fmt.Fprintf(&sb, "%c %s    (golden line %d)\n", op.op, op.text, op.n)
		} else {
			fmt.Fprintf(&sb, "%c %s\n", op.op, op.text)
		}
		last = k
	}
	return sb.String()
}
