package report

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// The reader of VerifyXLSX: the cell values of a workbook's sheets, raw
// (numbers as their XML holds them, no number format applied), from any
// SpreadsheetML writer: shared or inline strings, rich text runs, numbers,
// cells and rows with or without their references.

const (
	// xlsxMaxReadCell bounds a value read from a cell or the shared
	// strings, in bytes: 32,767 characters of 4 bytes, with room to spare
	// for escapes.
	xlsxMaxReadCell = 1 << 20
	// xlsxMaxReadRow bounds a row's values together, in bytes (each
	// cell within xlsxMaxReadCell): a row is held whole until it is
	// hashed.
	xlsxMaxReadRow = 16 << 20
	xlsxMaxCols    = 16384 // Excel's columns a sheet
)

// xlsxMaxShared bounds the shared strings part that VerifyXLSX reads, in
// bytes decompressed: its strings are held whole, for the cells that point
// at them, so that a hostile workbook cannot make it hold more. A workbook
// of a million rows re-saved by a spreadsheet program stays well below.
var xlsxMaxShared uint64 = 256 << 20

// xlsxBook is a workbook opened for reading.
type xlsxBook struct {
	files  map[string]*zip.File
	sheets []xlsxSheetPart // in the workbook's order
	shared []string
}

// xlsxSheetPart is a sheet's name and part.
type xlsxSheetPart struct{ name, part string }

// openXLSXBook finds the workbook in a package, its sheets and its shared
// strings.
func openXLSXBook(zr *zip.Reader) (*xlsxBook, error) {
	b := &xlsxBook{files: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		b.files[f.Name] = f
	}
	rels, err := b.rels("", "_rels/.rels")
	if err != nil {
		return nil, err
	}
	wb := rels.target("/officeDocument")
	if wb == "" {
		return nil, errors.New("no workbook part")
	}
	dir, base := path.Split(wb)
	wbRels, err := b.rels(dir, dir+"_rels/"+base+".rels")
	if err != nil {
		return nil, err
	}
	if err := b.readSheets(wb, wbRels); err != nil {
		return nil, err
	}
	if sst := wbRels.target("/sharedStrings"); sst != "" {
		if f := b.file(sst); f != nil && f.UncompressedSize64 > xlsxMaxShared {
			return nil, fmt.Errorf("%s: %d bytes of shared strings, more than the %d that verification reads", sst, f.UncompressedSize64, xlsxMaxShared)
		}
		if b.shared, err = b.readShared(sst); err != nil {
			return nil, fmt.Errorf("%s: %w", sst, err)
		}
	}
	return b, nil
}

// open opens a part.
func (b *xlsxBook) open(name string) (io.ReadCloser, error) {
	f := b.file(name)
	if f == nil {
		return nil, fmt.Errorf("no part %s", name)
	}
	return f.Open()
}

// file is the part named name, or nil.
func (b *xlsxBook) file(name string) *zip.File {
	if f := b.files[name]; f != nil {
		return f
	}
	for n, f := range b.files { // part names are case-insensitive
		if strings.EqualFold(n, name) {
			return f
		}
	}
	return nil
}

// xlsxRels are a part's relationships: id → type and target part.
type xlsxRels map[string][2]string

// target is the part of the first relationship whose type ends in suffix.
func (r xlsxRels) target(suffix string) string {
	for _, t := range r {
		if strings.HasSuffix(t[0], suffix) {
			return t[1]
		}
	}
	return ""
}

// rels reads a relationships part; targets are resolved against dir.
func (b *xlsxBook) rels(dir, name string) (xlsxRels, error) {
	out := xlsxRels{}
	err := b.eachStart(name, func(e xml.StartElement) {
		if e.Name.Local != "Relationship" || xlsxAttr(e, "TargetMode") == "External" {
			return
		}
		t := xlsxAttr(e, "Target")
		if strings.HasPrefix(t, "/") {
			t = t[1:]
		} else {
			t = path.Join(dir, t)
		}
		out[xlsxAttr(e, "Id")] = [2]string{xlsxAttr(e, "Type"), path.Clean(t)}
	})
	return out, err
}

// readSheets lists the workbook's sheets.
func (b *xlsxBook) readSheets(wb string, rels xlsxRels) error {
	var bad error
	err := b.eachStart(wb, func(e xml.StartElement) {
		if e.Name.Local != "sheet" {
			return
		}
		id := ""
		for _, a := range e.Attr {
			if a.Name.Local == "id" && a.Name.Space != "" {
				id = a.Value
			}
		}
		t, ok := rels[id]
		if !ok && bad == nil {
			bad = fmt.Errorf("sheet %q: no relationship %q", xlsxAttr(e, "name"), id)
		}
		b.sheets = append(b.sheets, xlsxSheetPart{name: xlsxAttr(e, "name"), part: t[1]})
	})
	if err != nil {
		return err
	}
	return bad
}

// eachStart calls fn with each start element of a part.
func (b *xlsxBook) eachStart(name string, fn func(xml.StartElement)) error {
	rc, err := b.open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	d := xml.NewDecoder(bufio.NewReader(rc))
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if e, ok := tok.(xml.StartElement); ok {
			fn(e)
		}
	}
}

func xlsxAttr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// xlsxTextReader collects a string item's text: its own <t> and its runs'
// (<r><t>), not its phonetic runs (<rPh>), as a reader shows it.
type xlsxTextReader struct {
	sb       strings.Builder
	in, skip int // inside <t>; inside <rPh>
}

// token handles tok; it reports an error when the text grows too long.
func (x *xlsxTextReader) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.StartElement:
		switch t.Name.Local {
		case "t":
			x.in++
		case "rPh":
			x.skip++
		}
	case xml.EndElement:
		switch t.Name.Local {
		case "t":
			x.in--
		case "rPh":
			x.skip--
		}
	case xml.CharData:
		if x.in > 0 && x.skip == 0 {
			if x.sb.Len()+len(t) > xlsxMaxReadCell {
				return fmt.Errorf("a text longer than %d bytes", xlsxMaxReadCell)
			}
			x.sb.Write(t)
		}
	}
	return nil
}

// text is the text collected, its _xHHHH_ escapes decoded; reset starts
// the next.
func (x *xlsxTextReader) text() string { return xlsxUnescape(x.sb.String()) }

func (x *xlsxTextReader) reset() { x.sb.Reset(); x.in, x.skip = 0, 0 }

// readShared reads the shared strings table.
func (b *xlsxBook) readShared(name string) ([]string, error) {
	rc, err := b.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	d := xml.NewDecoder(bufio.NewReader(rc))
	var out []string
	var x xlsxTextReader
	in := false
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "si" {
				in = true
				x.reset()
				continue
			}
		case xml.EndElement:
			if t.Name.Local == "si" {
				in = false
				out = append(out, x.text())
				continue
			}
		}
		if in {
			if err := x.token(tok); err != nil {
				return nil, err
			}
		}
	}
}

// xlsxUnescape decodes the _xHHHH_ escapes of a text (ECMA-376 Part 1,
// 22.9.2.19): _x005F_ is an underscore, so "_x005F_x0041_" reads
// "_x0041_".
func xlsxUnescape(s string) string {
	i := strings.Index(s, "_x")
	if i < 0 {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	sb.WriteString(s[:i])
	for ; i < len(s); i++ {
		if s[i] == '_' && xlsxEscapeAt(s, i) {
			n, _ := strconv.ParseUint(s[i+2:i+6], 16, 32)
			sb.WriteRune(rune(n)) // a surrogate becomes U+FFFD
			i += 6
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// xlsxRowReader reads a worksheet's rows.
type xlsxRowReader struct {
	shared []string
	row    []string
	n      int // the current row's number
	col    int // the current cell's column, from 1
	typ    string
	v      strings.Builder // the cell's <v>
	inV    bool
	inIS   bool // inside the cell's <is>
	hasIS  bool
	is     xlsxTextReader
	data   bool // inside <sheetData>
	size   int  // bytes of the current row's values
}

// rows calls fn with each row of a sheet's part, from the first to the
// last it holds: a missing row is empty, a missing cell "".
func (b *xlsxBook) rows(part string, fn func([]string)) error {
	rc, err := b.open(part)
	if err != nil {
		return err
	}
	defer rc.Close()
	d := xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	r := &xlsxRowReader{shared: b.shared}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := r.token(tok, fn); err != nil {
			return err
		}
	}
}

func (r *xlsxRowReader) token(tok xml.Token, fn func([]string)) error {
	switch t := tok.(type) {
	case xml.StartElement:
		return r.start(t, fn)
	case xml.EndElement:
		return r.end(t, fn)
	case xml.CharData:
		if r.inIS {
			return r.is.token(t)
		}
		if r.inV {
			if r.v.Len()+len(t) > xlsxMaxReadCell {
				return fmt.Errorf("row %d: a value longer than %d bytes", r.n, xlsxMaxReadCell)
			}
			r.v.Write(t)
		}
	}
	return nil
}

func (r *xlsxRowReader) start(t xml.StartElement, fn func([]string)) error {
	if r.inIS {
		return r.is.token(t)
	}
	switch t.Name.Local {
	case "sheetData":
		r.data = true
	case "row":
		if !r.data {
			return nil
		}
		n := r.n + 1
		if s := xlsxAttr(t, "r"); s != "" {
			var err error
			if n, err = strconv.Atoi(s); err != nil || n <= r.n || n > 1<<20 {
				return fmt.Errorf("row %q after row %d", s, r.n)
			}
		}
		for r.n++; r.n < n; r.n++ {
			fn(nil)
		}
		r.row, r.col, r.size = r.row[:0], 0, 0
	case "c":
		if !r.data {
			return nil
		}
		return r.startCell(t)
	case "v":
		r.inV = r.data
	case "is":
		r.inIS, r.hasIS = r.data, r.data
		r.is.reset()
	}
	return nil
}

func (r *xlsxRowReader) startCell(t xml.StartElement) error {
	col := r.col + 1
	if ref := xlsxAttr(t, "r"); ref != "" {
		col = 0
		for _, c := range []byte(ref) {
			if c < 'A' || c > 'Z' {
				break
			}
			col = col*26 + int(c-'A'+1)
			if col > xlsxMaxCols {
				break
			}
		}
	}
	if col <= r.col || col > xlsxMaxCols {
		return fmt.Errorf("row %d: cell %q out of order", r.n, xlsxAttr(t, "r"))
	}
	r.col, r.typ, r.hasIS = col, xlsxAttr(t, "t"), false
	r.v.Reset()
	return nil
}

func (r *xlsxRowReader) end(t xml.EndElement, fn func([]string)) error {
	if r.inIS && t.Name.Local != "is" {
		return r.is.token(t)
	}
	switch t.Name.Local {
	case "sheetData":
		r.data = false
	case "v":
		r.inV = false
	case "is":
		r.inIS = false
	case "c":
		if !r.data {
			return nil
		}
		v, err := r.value()
		if err != nil {
			return fmt.Errorf("row %d: %w", r.n, err)
		}
		if r.size += len(v); r.size > xlsxMaxReadRow {
			return fmt.Errorf("row %d: more than %d bytes of values", r.n, xlsxMaxReadRow)
		}
		for len(r.row) < r.col-1 {
			r.row = append(r.row, "")
		}
		r.row = append(r.row, v)
	case "row":
		if r.data {
			fn(r.row)
		}
	}
	return nil
}

// value is the cell's value, raw: a shared string's text, an inline
// string's, or what its <v> holds (a number, a boolean as 0 or 1, a
// formula's cached result).
func (r *xlsxRowReader) value() (string, error) {
	v := r.v.String()
	switch r.typ {
	case "s":
		if v == "" {
			return "", nil
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(r.shared) {
			return "", fmt.Errorf("no shared string %q", v)
		}
		return r.shared[i], nil
	case "inlineStr":
		if r.hasIS {
			return r.is.text(), nil
		}
	}
	return v, nil
}
