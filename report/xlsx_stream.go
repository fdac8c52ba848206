package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

const (
	// xlsxWidthSample is how many rows of a streamed sheet are held back to
	// measure its column widths.
	xlsxWidthSample = 1000
	xlsxMinWidth    = 10
	xlsxMaxWidth    = 80
)

// xlsxEvidenceWriter writes the evidence rows, on as many sheets as they
// need.
type xlsxEvidenceWriter struct {
	f      *excelize.File
	ch     *xlsxContentHash
	bold   int
	cur    *xlsxSheetWriter
	sheets int
}

func (e *xlsxEvidenceWriter) add(r []any) error {
	if e.cur == nil || e.cur.rows >= maxSheetRows {
		if err := e.next(); err != nil {
			return err
		}
	}
	return e.cur.add(r)
}

func (e *xlsxEvidenceWriter) next() error {
	if e.cur != nil {
		if err := e.cur.close(); err != nil {
			return err
		}
	}
	e.sheets++
	name := xlsxEvidence
	if e.sheets > 1 {
		name = xlsxEvidence + " " + strconv.Itoa(e.sheets)
	}
	if _, err := e.f.NewSheet(name); err != nil {
		return err
	}
	var err error
	e.cur, err = newXLSXSheetWriter(e.f, name, xlsxEvidenceHeader, xlsxWidthSample, e.ch, e.bold)
	return err
}

// close ends the last evidence sheet; there is one even without rows.
func (e *xlsxEvidenceWriter) close() error {
	if e.cur == nil {
		if err := e.next(); err != nil {
			return err
		}
	}
	return e.cur.close()
}

// xlsxSheetWriter streams a table: a header row, then rows. It holds back
// the first rows (sample) to measure the column widths, which a stream
// writer must set before its first row; each row is hashed into the
// content digest as it is added.
type xlsxSheetWriter struct {
	f       *excelize.File
	name    string
	ch      *xlsxContentHash
	bold    int
	header  []any
	widths  []int
	sample  [][]any
	keep    int
	sw      *excelize.StreamWriter
	rows    int // rows added, the header included
	written int // rows written to the stream
}

func newXLSXSheetWriter(f *excelize.File, name string, header []string, sample int, ch *xlsxContentHash, bold int) (*xlsxSheetWriter, error) {
	s := &xlsxSheetWriter{f: f, name: name, ch: ch, bold: bold, keep: sample, widths: make([]int, len(header)), rows: 1}
	s.header = make([]any, len(header))
	for i, h := range header {
		s.header[i] = h
	}
	xlsxNormalize(s.header)
	xlsxMeasure(s.widths, s.header)
	ch.startSheet(name)
	ch.row(s.header)
	return s, nil
}

func (s *xlsxSheetWriter) add(r []any) error {
	xlsxNormalize(r)
	s.ch.row(r)
	s.rows++
	if s.sw != nil {
		return s.write(r)
	}
	xlsxMeasure(s.widths, r)
	s.sample = append(s.sample, r)
	if len(s.sample) < s.keep {
		return nil
	}
	return s.start(false)
}

// start opens the stream and writes the header and the rows held back;
// complete says they are all the sheet's rows.
func (s *xlsxSheetWriter) start(complete bool) error {
	used := ""
	if complete {
		last, err := excelize.CoordinatesToCellName(len(s.header), s.rows)
		if err != nil {
			return err
		}
		used = "A1:" + last
	}
	var err error
	if s.sw, err = xlsxStream(s.f, s.name, s.widths, 1, used); err != nil {
		return err
	}
	if err := s.sw.SetRow("A1", s.header, excelize.RowOpts{StyleID: s.bold}); err != nil {
		return err
	}
	s.written = 1
	for _, r := range s.sample {
		if err := s.write(r); err != nil {
			return err
		}
	}
	s.sample = nil
	return nil
}

func (s *xlsxSheetWriter) write(r []any) error {
	s.written++
	return s.sw.SetRow("A"+strconv.Itoa(s.written), r)
}

func (s *xlsxSheetWriter) close() error {
	if s.sw == nil {
		if err := s.start(true); err != nil {
			return err
		}
	}
	last, err := excelize.ColumnNumberToName(len(s.header))
	if err != nil {
		return err
	}
	if err := s.f.AutoFilter(s.name, fmt.Sprintf("A1:%s%d", last, s.written), nil); err != nil {
		return err
	}
	return s.sw.Flush()
}

// xlsxStream opens a sheet's stream writer with its column widths and the
// rows down to freeze frozen. The autofilter is set after (AutoFilter marks
// the sheet as filtered when its properties are still to be written).
//
// used is the sheet's range, "" when not known yet. A stream writer writes
// the sheet's dimension before its rows; left as excelize has it ("A1"),
// readers that trust it (openpyxl read-only, so pandas) see one row. An
// unknown range is left out: the element is optional.
func xlsxStream(f *excelize.File, name string, widths []int, freeze int, used string) (*excelize.StreamWriter, error) {
	if err := f.SetSheetDimension(name, used); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, float64(min(max(w+2, xlsxMinWidth), xlsxMaxWidth))); err != nil {
			return nil, err
		}
	}
	top := "A" + strconv.Itoa(freeze+1)
	err = sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: freeze, TopLeftCell: top, ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}}})
	return sw, err
}

// xlsxMeasure widens widths to fit r's values (the longest line of a
// text, in characters).
func xlsxMeasure(widths []int, r []any) {
	for i, v := range r {
		if i >= len(widths) {
			break
		}
		n := 0
		switch v := v.(type) {
		case string:
			for line := range strings.SplitSeq(v, "\n") {
				if n = max(n, utf8.RuneCountInString(line)); n >= xlsxMaxWidth {
					break
				}
			}
		case nil:
		default:
			n = len(xlsxCanon(v))
		}
		widths[i] = max(widths[i], n)
	}
}
