package report

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// xlsxWidthSample is how many rows of an evidence sheet, after its
	// header, are measured for its column widths.
	xlsxWidthSample = 1000
	xlsxMinWidth    = 10
	xlsxMaxWidth    = 80
	// xlsxSpoolMemory is how much of a sheet's XML is kept in memory; the
	// rest goes to a temporary file.
	xlsxSpoolMemory = 4 << 20
)

// xlsxEvidenceWriter writes the evidence rows, on as many sheets as they
// need.
type xlsxEvidenceWriter struct {
	ch     *xlsxContentHash
	cur    *xlsxSheetWriter
	sheets []*xlsxSheet
}

func (e *xlsxEvidenceWriter) add(r []any) error {
	if e.cur == nil || e.cur.rows >= maxSheetRows {
		e.next()
	}
	return e.cur.add(r)
}

func (e *xlsxEvidenceWriter) next() {
	if e.cur != nil {
		e.cur.close()
	}
	name := xlsxEvidence
	if len(e.sheets) > 0 {
		name = xlsxEvidence + " " + strconv.Itoa(len(e.sheets)+1)
	}
	e.cur = newXLSXSheetWriter(name, xlsxEvidenceHeader, xlsxWidthSample, e.ch)
	e.sheets = append(e.sheets, e.cur.xlsxSheet)
}

// close ends the last evidence sheet; there is one even without rows.
func (e *xlsxEvidenceWriter) close() error {
	if e.cur == nil {
		e.next()
	}
	e.cur.close()
	return e.cur.err
}

// xlsxSheet is a sheet being written: its rows' XML is spooled (in memory,
// then in a temporary file) until the zip is written, when its size and
// column widths are known.
type xlsxSheet struct {
	name   string
	cols   int    // the table's columns
	widths []int  // the longest value of each column, in characters
	freeze int    // rows frozen at the top
	filter [2]int // the autofilter's first and last row
	rows   int    // the last row written
	body   xlsxSpool
	buf    []byte
	err    error // the first error writing the rows
}

// writeRow writes the sheet's next row, normalized values.
func (s *xlsxSheet) writeRow(r []any, style int) {
	s.rows++
	s.buf = appendXLSXRow(s.buf[:0], s.rows, r, style)
	if _, err := s.body.Write(s.buf); err != nil && s.err == nil {
		s.err = err
	}
}

// writeTo writes the sheet's XML; selected marks the sheet the workbook
// opens on.
func (s *xlsxSheet) writeTo(w *bufio.Writer, selected bool) error {
	if s.err != nil {
		return s.err
	}
	last := xlsxCell(s.cols, max(s.rows, 1), false)
	top := "A" + strconv.Itoa(s.freeze+1)
	sel := ""
	if selected {
		sel = ` tabSelected="1"`
	}
	_, _ = w.WriteString(xlsxXMLDecl + `<worksheet xmlns="` + xlsxNSMain + `" xmlns:r="` + xlsxNSRel + `">` +
		`<dimension ref="A1:` + last + `"></dimension>` +
		`<sheetViews><sheetView` + sel + ` workbookViewId="0"><pane ySplit="` + strconv.Itoa(s.freeze) + `" topLeftCell="` + top +
		`" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="` + top + `" sqref="` + top + `"/>` +
		`</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>`)
	for i, n := range s.widths {
		c := strconv.Itoa(i + 1)
		_, _ = w.WriteString(`<col min="` + c + `" max="` + c + `" width="` +
			strconv.Itoa(min(max(n+2, xlsxMinWidth), xlsxMaxWidth)) + `" customWidth="1"/>`)
	}
	_, _ = w.WriteString(`</cols><sheetData>`)
	if err := s.body.copyTo(w); err != nil {
		return err
	}
	_, err := w.WriteString(`</sheetData><autoFilter ref="` + xlsxCell(1, s.filter[0], false) + ":" + xlsxCell(s.cols, s.filter[1], false) +
		`"/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`)
	return err
}

// xlsxSpool holds bytes in memory up to xlsxSpoolMemory, then in an
// unlinked temporary file, closed by close.
type xlsxSpool struct {
	mem  bytes.Buffer
	file *os.File
	w    *bufio.Writer
}

func (s *xlsxSpool) Write(p []byte) (int, error) {
	if s.file == nil {
		if s.mem.Len()+len(p) <= xlsxSpoolMemory {
			return s.mem.Write(p)
		}
		f, err := os.CreateTemp("", "baseline-xlsx-*")
		if err != nil {
			return 0, err
		}
		// Unlinked at once (the open file stays): a process killed
		// mid-export leaves no file of evidence behind.
		_ = os.Remove(f.Name())
		s.file, s.w = f, bufio.NewWriterSize(f, 256<<10)
		if _, err := s.w.Write(s.mem.Bytes()); err != nil {
			return 0, err
		}
		s.mem = bytes.Buffer{}
	}
	return s.w.Write(p)
}

// copyTo writes the bytes held to w.
func (s *xlsxSpool) copyTo(w io.Writer) error {
	if s.file == nil {
		_, err := w.Write(s.mem.Bytes())
		return err
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.file)
	return err
}

// close closes the temporary file, if any.
func (s *xlsxSpool) close() {
	if s.file != nil {
		_ = s.file.Close()
		s.file = nil
	}
	s.mem = bytes.Buffer{}
}

// xlsxSheetWriter writes a table: a header row, then rows. Each row is
// hashed into the content digest as it is added, and the first ones
// (measure) widen the columns to fit.
type xlsxSheetWriter struct {
	*xlsxSheet
	ch      *xlsxContentHash
	measure int // rows still to measure
}

func newXLSXSheetWriter(name string, header []string, measure int, ch *xlsxContentHash) *xlsxSheetWriter {
	s := &xlsxSheetWriter{xlsxSheet: &xlsxSheet{name: name, cols: len(header), widths: make([]int, len(header)), freeze: 1},
		ch: ch, measure: measure}
	h := make([]any, len(header))
	for i, v := range header {
		h[i] = v
	}
	xlsxNormalize(h)
	xlsxMeasure(s.widths, h)
	ch.startSheet(name)
	ch.row(h)
	s.writeRow(h, xlsxBoldRow)
	return s
}

func (s *xlsxSheetWriter) add(r []any) error {
	xlsxNormalize(r)
	s.ch.row(r)
	if s.measure > 0 {
		s.measure--
		xlsxMeasure(s.widths, r)
	}
	s.writeRow(r, xlsxPlain)
	return s.err
}

// close sets the autofilter on the table.
func (s *xlsxSheetWriter) close() { s.filter = [2]int{1, s.rows} }

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
