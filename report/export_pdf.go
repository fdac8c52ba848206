package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"codeberg.org/go-pdf/fpdf"

	"github.com/baselinehq/baseline/results"
)

// PDFEncoder writes the export as a PDF for auditors (A4, written in pure
// Go with fpdf): a cover page (tool, scope, standards, time window, the
// summary figures per asset type, the waivers), then every result grouped
// by asset or by item, with its outcome and evidence. Every page's footer
// carries its number ("page N of M") and the results digest.
//
// Streaming. Rows are laid out as they are read and not kept; fpdf holds
// the pages (their compressed-to-be content) until the end, when the
// results digest and the page count, known only then, replace their
// placeholders in every footer and the file is written.
//
// Integrity. The digests are in a PDF comment line, the only place where
// the markers appear in the file's bytes:
//
//	%baseline-results-sha256=HEX baseline-content-sha256=HEX
//
// placed after the trailer dictionary, just before "startxref" (readers
// skip comments; offsets are unchanged since the cross-reference table
// comes before it), so that the file still ends with %%EOF. The content
// digest covers every byte with the digest zeroed, as in the text formats;
// Verify checks it.
//
// Text is set in the PDF core fonts (Helvetica), in Windows-1252: a
// character outside it is shown as "?", a control character as a space.
type PDFEncoder struct{}

// Format implements Encoder.
func (PDFEncoder) Format() string { return "pdf" }

// Ext implements Encoder.
func (PDFEncoder) Ext() string { return ".pdf" }

// The placeholders that fpdf replaces in every page when the file is
// written. They hold control characters, which pdfDoc.text removes from
// every text it is given, so that no name can contain them.
const (
	pdfPagesAlias   = "\x01pages\x01"
	pdfResultsAlias = "\x01results\x01"
	// pdfTrailer is the comment line holding the digests; the file's last
	// bytes, from "startxref" on, follow it.
	pdfTrailer = "%{results} {content}\n"
	// pdfTailSize is how many of the last bytes are held back to find
	// "startxref" (fpdf writes about 40 after it).
	pdfTailSize = 256
)

// Encode implements Encoder.
func (PDFEncoder) Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error {
	m := src.Meta()
	d := newPDFDoc(m)
	d.cover(m)
	byItem := m.By == ByItemGroup
	waivers := newFindingWaivers(m.Waivers)
	var (
		open bool
		key  uint64
	)
	err := src.Rows(ctx, func(r results.Row) error {
		in.AddRow(r)
		if k := groupKey(r, byItem); !open || k != key {
			open, key = true, k
			d.group(r, byItem)
		}
		d.row(r, byItem, waivers)
		return d.f.Error()
	})
	if err != nil {
		return err
	}
	if !open {
		d.para("No results.")
	}
	d.f.RegisterAlias(pdfResultsAlias, in.ResultsDigest())
	tail := &pdfTail{w: in.Writer()}
	if err := d.f.Output(tail); err != nil {
		return fmt.Errorf("pdf export: %w", err)
	}
	return tail.finish(w, in)
}

// pdfTail passes the PDF through but for its last pdfTailSize bytes, so
// that the digest comment can go before "startxref".
type pdfTail struct {
	w    io.Writer
	tail []byte
}

func (t *pdfTail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= pdfTailSize {
		if _, err := t.w.Write(t.tail); err != nil {
			return 0, err
		}
		if _, err := t.w.Write(p[:len(p)-pdfTailSize]); err != nil {
			return 0, err
		}
		t.tail = append(t.tail[:0], p[len(p)-pdfTailSize:]...)
		return n, nil
	}
	t.tail = append(t.tail, p...)
	if over := len(t.tail) - pdfTailSize; over > 0 {
		if _, err := t.w.Write(t.tail[:over]); err != nil {
			return 0, err
		}
		t.tail = append(t.tail[:0], t.tail[over:]...)
	}
	return n, nil
}

// finish writes the held bytes up to "startxref", then the trailer (see
// Integrity.Finish): the digest comment and the rest of the file.
func (t *pdfTail) finish(w io.Writer, in *Integrity) error {
	i := bytes.LastIndex(t.tail, []byte("\nstartxref"))
	if i < 0 {
		return errors.New("pdf export: no startxref at the end of the file")
	}
	if _, err := t.w.Write(t.tail[:i+1]); err != nil {
		return fmt.Errorf("pdf export: %w", err)
	}
	if _, err := in.Finish(w, pdfTrailer+string(t.tail[i+1:])); err != nil {
		return fmt.Errorf("pdf export: %w", err)
	}
	return nil
}

// pdfDoc is the document being laid out.
type pdfDoc struct {
	f  *fpdf.Fpdf
	tr func(string) string
	// width is the text width in mm.
	width float64
	// current is the group being written, repeated at the top of the
	// pages it continues on.
	current string
}

// Font sizes and line heights (mm).
const (
	pdfBody   = 9.0
	pdfSmall  = 7.5
	pdfLine   = 4.2
	pdfSmallH = 3.6
	// pdfOutcomeW is the width of a result's outcome column.
	pdfOutcomeW = 30.0
)

func newPDFDoc(m Meta) *pdfDoc {
	f := fpdf.New("P", "mm", "A4", "")
	d := &pdfDoc{f: f, tr: f.UnicodeTranslatorFromDescriptor("")}
	f.SetCatalogSort(true) // fonts and resources in a fixed order: the same results give the same bytes
	f.SetMargins(15, 15, 15)
	f.SetAutoPageBreak(true, 20)
	w, _ := f.GetPageSize()
	d.width = w - 30
	if !m.GeneratedAt.IsZero() {
		f.SetCreationDate(m.GeneratedAt.UTC())
		f.SetModificationDate(m.GeneratedAt.UTC())
	}
	f.SetTitle(d.text("Compliance export"), false)
	f.SetCreator(d.text(toolName(m.Tool)), false)
	f.AliasNbPages(pdfPagesAlias)
	f.SetFooterFunc(func() {
		f.SetY(-15)
		f.SetFont("Helvetica", "", 7)
		f.SetTextColor(90, 90, 90)
		f.CellFormat(0, 3.5, d.text(toolName(m.Tool)+", generated at "+FormatTime(m.GeneratedAt))+
			", page "+strconv.Itoa(f.PageNo())+" of "+pdfPagesAlias, "T", 1, "L", false, 0, "")
		f.CellFormat(0, 3.5, "Results digest (SHA-256): "+pdfResultsAlias, "", 1, "L", false, 0, "")
		f.SetTextColor(0, 0, 0)
	})
	f.SetHeaderFunc(func() {
		if d.current != "" {
			d.small("continued: " + d.current)
			f.Ln(1)
		}
	})
	f.AddPage()
	return d
}

// text makes s printable in the core fonts: control characters become
// spaces (line breaks are kept), characters outside Windows-1252 "?".
func (d *pdfDoc) text(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || (c < 0x20 && c != '\n') || c == 0x7f {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			sb.WriteByte('\n')
		case unicode.IsControl(r):
			sb.WriteByte(' ')
		case r < 0x80:
			sb.WriteRune(r)
		default:
			c := d.tr(string(r))
			if c == "." {
				c = "?"
			}
			sb.WriteString(c)
		}
	}
	return sb.String()
}

// para writes a paragraph of body text.
func (d *pdfDoc) para(s string) {
	d.f.SetFont("Helvetica", "", pdfBody)
	d.f.MultiCell(0, pdfLine, d.text(s), "", "L", false)
}

// heading writes a section heading.
func (d *pdfDoc) heading(s string, size float64) {
	d.f.Ln(2)
	d.f.SetFont("Helvetica", "B", size)
	d.f.MultiCell(0, size*0.5, d.text(s), "", "L", false)
	d.f.Ln(1)
}

// group starts a group of rows: an asset (By asset) or an item.
func (d *pdfDoc) group(r results.Row, byItem bool) {
	f := d.f
	d.current = ""
	if f.GetY() > 240 {
		f.AddPage()
	}
	f.Ln(3)
	f.SetFillColor(225, 230, 240)
	f.SetFont("Helvetica", "B", 11)
	title, detail := "Asset "+r.AssetType.Short()+" "+r.AssetName, fmt.Sprintf("id %d, type %s, on %s", r.AssetID, r.AssetType, r.NodeName)
	if byItem {
		title, detail = "Item "+findingRuleID(r)+" "+r.Title, fmt.Sprintf("id %d, %s, risk %s", r.ItemID, r.Category, r.Risk.Short())
	}
	f.MultiCell(0, 6, d.text(title), "", "L", true)
	d.small(detail)
	d.current = title
	f.Ln(1)
}

// small writes a line of small grey text.
func (d *pdfDoc) small(s string) {
	d.f.SetFont("Helvetica", "", pdfSmall)
	d.f.SetTextColor(70, 70, 70)
	d.f.MultiCell(0, pdfSmallH, d.text(s), "", "L", false)
	d.f.SetTextColor(0, 0, 0)
}

// pdfOutcomeColor is the colour of an outcome's label.
func pdfOutcomeColor(o string) (r, g, b int) {
	switch o {
	case "PASSED":
		return 30, 120, 50
	case "FAILED", "CHECK_FAILED":
		return 180, 30, 30
	case "IGNORED":
		return 150, 100, 0
	}
	return 80, 80, 80
}

// row writes one result: its outcome and what it is about (the item, or
// the asset when grouped by item), the details, the reason or waiver, the
// evidence and, when it failed, the remediation.
func (d *pdfDoc) row(r results.Row, byItem bool, waivers findingWaivers) {
	f := d.f
	if f.GetY() > 265 {
		f.AddPage()
	}
	o := r.Outcome()
	f.SetFont("Helvetica", "B", pdfSmall+0.5)
	f.SetTextColor(pdfOutcomeColor(o))
	f.CellFormat(pdfOutcomeW, pdfLine, o, "", 0, "L", false, 0, "")
	f.SetTextColor(0, 0, 0)
	f.SetFont("Helvetica", "B", pdfBody)
	what := findingRuleID(r) + " " + r.Title
	if byItem {
		what = r.AssetType.Short() + " " + r.AssetName + " (" + Itoa(r.AssetID) + ")"
	}
	f.MultiCell(0, pdfLine, d.text(what), "", "L", false)
	left, _, _, _ := f.GetMargins()
	x := left + pdfOutcomeW
	detail := fmt.Sprintf("item %d, risk %s, checked %s, task %d", r.ItemID, r.Risk.Short(), r.CheckedAt, r.TaskID)
	if byItem {
		detail = fmt.Sprintf("on %s, checked %s, task %d", r.NodeName, r.CheckedAt, r.TaskID)
	}
	d.indented(x, pdfSmall, detail)
	if r.Reason != "" {
		d.indented(x, pdfSmall, "Reason: "+r.Reason)
	}
	if r.Ignored {
		d.indented(x, pdfSmall, "Waived: "+waivers.find(r).reason())
	}
	for _, e := range evidenceLines(r) {
		d.indented(x, pdfSmall, "- "+e)
	}
	if o == "FAILED" && r.Remediation != "" {
		d.indented(x, pdfSmall, "Remediation: "+r.Remediation)
	}
	f.Ln(1)
}

// indented writes text in a column starting at x.
func (d *pdfDoc) indented(x, size float64, s string) {
	f := d.f
	f.SetFont("Helvetica", "", size)
	left, _, _, _ := f.GetMargins()
	f.SetLeftMargin(x)
	f.SetX(x)
	f.MultiCell(0, size*0.48, d.text(s), "", "L", false)
	f.SetLeftMargin(left)
	f.SetX(left)
}
