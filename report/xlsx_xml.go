package report

import (
	"archive/zip"
	"bufio"
	"io"
	"strconv"
	"strings"
)

// The workbook's parts are SpreadsheetML (ECMA-376) written by hand: each
// sheet's rows as they come (see xlsxSheet), the other parts when the zip
// is written.

const (
	xlsxNSMain   = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	xlsxNSRel    = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	xlsxNSPkg    = "http://schemas.openxmlformats.org/package/2006/relationships"
	xlsxXMLDecl  = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	xlsxCTPrefix = "application/vnd.openxmlformats-officedocument."
)

// Row styles: the cells' style index in styles.xml (1 is bold).
const (
	xlsxPlain     = iota
	xlsxBoldRow   // every cell bold: a header row
	xlsxBoldLabel // the first cell bold: a label
)

// appendXLSXRow appends row n (from 1) holding cells, normalized values
// (see xlsxNormalize): a nil is no cell, a string an inline string, a
// number a number.
func appendXLSXRow(b []byte, n int, cells []any, style int) []byte {
	b = append(b, `<row r="`...)
	b = strconv.AppendInt(b, int64(n), 10)
	if style == xlsxBoldRow {
		b = append(b, `" s="1" customFormat="1">`...)
	} else {
		b = append(b, `">`...)
	}
	for i, v := range cells {
		if v == nil {
			continue
		}
		b = append(b, `<c r="`...)
		b = appendXLSXCol(b, i)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '"')
		if style == xlsxBoldRow || style == xlsxBoldLabel && i == 0 {
			b = append(b, ` s="1"`...)
		}
		b = appendXLSXValue(b, v)
	}
	return append(b, "</row>"...)
}

// xlsxSpace reports whether c is white space that XML would drop at
// either end of a text without xml:space="preserve".
func xlsxSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendXLSXValue appends a cell's type and value, and closes the cell.
func appendXLSXValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		b = append(b, ` t="inlineStr"><is><t`...)
		if v != "" && (xlsxSpace(v[0]) || xlsxSpace(v[len(v)-1])) {
			b = append(b, ` xml:space="preserve"`...)
		}
		b = append(b, '>')
		b = appendXLSXText(b, v)
		return append(b, `</t></is></c>`...)
	case int:
		b = append(b, `><v>`...)
		b = strconv.AppendInt(b, int64(v), 10)
	case int64:
		b = append(b, `><v>`...)
		b = strconv.AppendInt(b, v, 10)
	case float64:
		b = append(b, `><v>`...)
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
	default:
		b = append(b, ` t="inlineStr"><is><t>`...)
		b = appendXLSXText(b, xlsxCanon(v))
		return append(b, `</t></is></c>`...)
	}
	return append(b, `</v></c>`...)
}

// appendXLSXText appends s, valid XML text already (see xlsxText), escaped
// as element content: the markup characters, a carriage return (which an
// XML reader would turn into a line feed), and the leading underscore of
// what reads as an _xHHHH_ escape, which is written _x005F_ so that the
// text reads back literally (ECMA-376 Part 1, 22.9.2.19).
func appendXLSXText(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		case '_':
			if !xlsxEscapeAt(s, i) {
				continue
			}
			esc = "_x005F_"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// xlsxEscapeAt reports whether s holds an _xHHHH_ escape at i.
func xlsxEscapeAt(s string, i int) bool {
	if len(s)-i < 7 || s[i] != '_' || s[i+1] != 'x' || s[i+6] != '_' {
		return false
	}
	for _, c := range []byte(s[i+2 : i+6]) {
		if strings.IndexByte("0123456789abcdefABCDEF", c) < 0 {
			return false
		}
	}
	return true
}

// appendXLSXCol appends the name of column i (from 0): A, B, ..., Z, AA...
func appendXLSXCol(b []byte, i int) []byte {
	if i >= 26 {
		b = appendXLSXCol(b, i/26-1)
	}
	return append(b, byte('A'+i%26))
}

// xlsxCell is the reference of column col, row row (both from 1); abs
// makes it absolute ($A$1).
func xlsxCell(col, row int, abs bool) string {
	var b []byte
	if abs {
		b = append(b, '$')
	}
	b = appendXLSXCol(b, col-1)
	if abs {
		b = append(b, '$')
	}
	return string(strconv.AppendInt(b, int64(row), 10))
}

// xlsxEscapeAttr escapes s for an attribute value or element content.
func xlsxEscapeAttr(s string) string { return xlsxAttrEscaper.Replace(s) }

var xlsxAttrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// xlsxWriteParts writes the workbook's parts into zw: the package's
// relationships and content types, the document properties, the workbook,
// its styles and sheets (in the workbook's order).
func xlsxWriteParts(zw *zip.Writer, sheets []*xlsxSheet, m Meta) error {
	parts := []struct {
		name string
		text string
	}{
		{"[Content_Types].xml", xlsxContentTypes(len(sheets))},
		{"_rels/.rels", xlsxRelsPart([][2]string{
			{xlsxNSRel + "/officeDocument", "xl/workbook.xml"},
			{xlsxNSPkg + "/metadata/core-properties", "docProps/core.xml"},
			{xlsxNSRel + "/extended-properties", "docProps/app.xml"},
		})},
		{"docProps/core.xml", xlsxCoreProps(m)},
		{"docProps/app.xml", xlsxDecl(`<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">` +
			`<Application>` + xlsxEscapeAttr(orDefault(m.Tool.Name, "baseline")) + `</Application></Properties>`)},
		{"xl/workbook.xml", xlsxWorkbook(sheets)},
		{"xl/_rels/workbook.xml.rels", xlsxWorkbookRels(len(sheets))},
		{"xl/styles.xml", xlsxStyles},
	}
	for _, p := range parts {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, p.text); err != nil {
			return err
		}
	}
	for i, s := range sheets {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: "xl/worksheets/sheet" + strconv.Itoa(i+1) + ".xml", Method: zip.Deflate})
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(fw, 64<<10)
		if err := s.writeTo(bw, i == 0); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func xlsxDecl(body string) string { return xlsxXMLDecl + body }

func xlsxContentTypes(sheets int) string {
	var b strings.Builder
	b.WriteString(`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="` + xlsxCTPrefix + `spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="` + xlsxCTPrefix + `spreadsheetml.styles+xml"/>` +
		`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
		`<Override PartName="/docProps/app.xml" ContentType="` + xlsxCTPrefix + `extended-properties+xml"/>`)
	for i := range sheets {
		b.WriteString(`<Override PartName="/xl/worksheets/sheet` + strconv.Itoa(i+1) + `.xml" ContentType="` +
			xlsxCTPrefix + `spreadsheetml.worksheet+xml"/>`)
	}
	b.WriteString(`</Types>`)
	return xlsxDecl(b.String())
}

// xlsxRelsPart lists relationships rId1, rId2, ...: each a type and a target.
func xlsxRelsPart(rels [][2]string) string {
	var b strings.Builder
	b.WriteString(`<Relationships xmlns="` + xlsxNSPkg + `">`)
	for i, r := range rels {
		b.WriteString(`<Relationship Id="rId` + strconv.Itoa(i+1) + `" Type="` + r[0] + `" Target="` + r[1] + `"/>`)
	}
	b.WriteString(`</Relationships>`)
	return xlsxDecl(b.String())
}

// xlsxWorkbookRels: the sheets are rId1..rIdN, the styles rIdN+1.
func xlsxWorkbookRels(sheets int) string {
	rels := make([][2]string, 0, sheets+1)
	for i := range sheets {
		rels = append(rels, [2]string{xlsxNSRel + "/worksheet", "worksheets/sheet" + strconv.Itoa(i+1) + ".xml"})
	}
	return xlsxRelsPart(append(rels, [2]string{xlsxNSRel + "/styles", "styles.xml"}))
}

// xlsxWorkbook lists the sheets, the first one active, and each sheet's
// autofilter range as Excel names it (_xlnm._FilterDatabase).
func xlsxWorkbook(sheets []*xlsxSheet) string {
	var b strings.Builder
	b.WriteString(`<workbook xmlns="` + xlsxNSMain + `" xmlns:r="` + xlsxNSRel + `">` +
		`<bookViews><workbookView activeTab="0"/></bookViews><sheets>`)
	for i, s := range sheets {
		b.WriteString(`<sheet name="` + xlsxEscapeAttr(s.name) + `" sheetId="` + strconv.Itoa(i+1) + `" r:id="rId` + strconv.Itoa(i+1) + `"/>`)
	}
	b.WriteString(`</sheets><definedNames>`)
	for i, s := range sheets {
		ref := "'" + strings.ReplaceAll(s.name, "'", "''") + "'!" + xlsxCell(1, s.filter[0], true) + ":" + xlsxCell(s.cols, s.filter[1], true)
		b.WriteString(`<definedName name="_xlnm._FilterDatabase" localSheetId="` + strconv.Itoa(i) + `" hidden="1">` +
			xlsxEscapeAttr(ref) + `</definedName>`)
	}
	b.WriteString(`</definedNames></workbook>`)
	return xlsxDecl(b.String())
}

// xlsxCoreProps is the document's title, author and times (the export's).
func xlsxCoreProps(m Meta) string {
	tool := xlsxEscapeAttr(toolName(m.Tool))
	var b strings.Builder
	b.WriteString(`<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"` +
		` xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"` +
		` xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<dc:title>Compliance export</dc:title><dc:creator>` + tool + `</dc:creator><cp:lastModifiedBy>` + tool + `</cp:lastModifiedBy>`)
	if at := FormatTime(m.GeneratedAt); at != "" {
		b.WriteString(`<dcterms:created xsi:type="dcterms:W3CDTF">` + at + `</dcterms:created>` +
			`<dcterms:modified xsi:type="dcterms:W3CDTF">` + at + `</dcterms:modified>`)
	}
	b.WriteString(`</cp:coreProperties>`)
	return xlsxDecl(b.String())
}

// xlsxStyles has two cell formats: 0 plain, 1 bold.
var xlsxStyles = xlsxDecl(`<styleSheet xmlns="` + xlsxNSMain + `">` +
	`<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
	`<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
	`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`)
