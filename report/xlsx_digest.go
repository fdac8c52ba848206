package report

import (
	"archive/zip"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
)

// xlsxContentHash computes the content digest of a workbook: a SHA-256
// over every sheet in xlsxHashOrder, each rendered as
//
//	"\f" sheet-name "\n"
//	then per row, from the first to the last that holds a value:
//	the row's cell values (raw: a number as its XML holds it; empty cells in
//	between as ""; none after the last value) joined by "\t", then "\n"
//
// where in names and values "\" "\t" "\n" "\r" "\f" are written as
// "\\" "\t" "\n" "\r" "\f" (backslash escapes), and the content digest
// cell counts as "baseline-content-sha256=" and 64 zeros. That cell is the
// Summary sheet's last cell in column B that holds
// "baseline-content-sha256=" and 64 hex digits (the last, so that a
// digest-like value elsewhere, a host name say, cannot stand in for it).
type xlsxContentHash struct {
	h     hash.Hash
	buf   []byte
	empty int // empty rows not yet hashed: dropped if no row follows
}

func newXLSXContentHash() *xlsxContentHash { return &xlsxContentHash{h: sha256.New()} }

func (c *xlsxContentHash) startSheet(name string) {
	c.empty = 0
	c.buf = append(c.buf[:0], '\f')
	c.buf = xlsxEscape(c.buf, name)
	c.h.Write(append(c.buf, '\n'))
}

// row hashes a row of normalized values.
func (c *xlsxContentHash) row(r []any) {
	n := len(r)
	for n > 0 && xlsxCanon(r[n-1]) == "" {
		n--
	}
	c.line(n, func(i int) string { return xlsxCanon(r[i]) })
}

// strings hashes a row read back.
func (c *xlsxContentHash) strings(r []string) {
	n := len(r)
	for n > 0 && r[n-1] == "" {
		n--
	}
	c.line(n, func(i int) string { return r[i] })
}

func (c *xlsxContentHash) line(n int, value func(int) string) {
	if n == 0 {
		c.empty++
		return
	}
	c.buf = c.buf[:0]
	for ; c.empty > 0; c.empty-- {
		c.buf = append(c.buf, '\n')
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			c.buf = append(c.buf, '\t')
		}
		c.buf = xlsxEscape(c.buf, value(i))
	}
	c.h.Write(append(c.buf, '\n'))
}

func (c *xlsxContentHash) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

func xlsxEscape(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch b := s[i]; b {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\f':
			buf = append(buf, '\\', 'f')
		default:
			buf = append(buf, b)
		}
	}
	return buf
}

// xlsxContentDigest reports whether a cell holds a content digest, and
// which.
func xlsxContentDigest(v string) (string, bool) {
	d, ok := strings.CutPrefix(v, ContentMarker)
	if !ok || len(d) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(d); err != nil {
		return "", false
	}
	return d, true
}

// xlsxHashOrder is the order in which the content digest covers a
// workbook's sheets: the evidence sheets ("Evidence", "Evidence 2", ...),
// then every other sheet but Summary, each group in the workbook's order,
// then Summary, which holds the digest. (Evidence comes first because it
// is streamed before the Items and Assets sheets can be known.)
func xlsxHashOrder(sheets []string) ([]string, error) {
	var evidence, rest []string
	summary := false
	for _, s := range sheets {
		switch {
		case s == xlsxSummary:
			summary = true
		case xlsxIsEvidence(s):
			evidence = append(evidence, s)
		default:
			rest = append(rest, s)
		}
	}
	if !summary {
		return nil, fmt.Errorf("no %s sheet: not a baseline XLSX export", xlsxSummary)
	}
	return append(append(evidence, rest...), xlsxSummary), nil
}

func xlsxIsEvidence(name string) bool {
	if name == xlsxEvidence {
		return true
	}
	n, ok := strings.CutPrefix(name, xlsxEvidence+" ")
	if !ok || n == "" {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// VerifyXLSX checks an XLSX export of size bytes read from r: it reopens
// the workbook, recomputes the content digest from the cell values (see
// xlsxContentHash: the sheets in a fixed order, the content digest cell
// zeroed) and compares it with the one the Summary sheet holds. It returns
// the results and content digests written in the workbook; ok is false
// when the content digest does not match (a value was changed, added or
// removed, a sheet renamed, added or removed). The check is on values,
// not bytes: a workbook saved again with its values unchanged still
// verifies. err is set when r is not a workbook or has no content digest.
// The sheets are read as streams; the shared strings table (a workbook
// saved by a spreadsheet program has one) and the Summary sheet are held
// in memory.
func VerifyXLSX(r io.ReaderAt, size int64) (results, content string, ok bool, err error) {
	v, err := verifyXLSXCells(r, size)
	return v.Results, v.Content, v.Intact, err
}

func verifyXLSXCells(r io.ReaderAt, size int64) (v Verification, err error) {
	if err := xlsxPartsIntact(r, size); err != nil {
		return v, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return v, fmt.Errorf("not an XLSX workbook: %w", err)
	}
	book, err := openXLSXBook(zr)
	if err != nil {
		return v, fmt.Errorf("not an XLSX workbook: %w", err)
	}
	parts := make(map[string]string, len(book.sheets))
	names := make([]string, len(book.sheets))
	for i, s := range book.sheets {
		parts[s.name], names[i] = s.part, s.name
	}
	order, err := xlsxHashOrder(names)
	if err != nil {
		return v, err
	}
	ch := newXLSXContentHash()
	var summary [][]string // hashed last, once the digest cell is known
	for _, name := range order {
		ch.startSheet(name)
		err := book.rows(parts[name], func(cells []string) {
			if name == xlsxSummary {
				summary = append(summary, slices.Clone(cells))
				return
			}
			ch.strings(cells)
		})
		if err != nil {
			return v, fmt.Errorf("sheet %s: %w", name, err)
		}
	}
	return verifyXLSXSummary(ch, summary)
}

// verifyXLSXSummary hashes the Summary sheet's rows, its digest cells
// zeroed, and compares the content digest with the one it holds.
func verifyXLSXSummary(ch *xlsxContentHash, summary [][]string) (Verification, error) {
	v, digestRow, sigRow := xlsxSummaryDigests(summary)
	if digestRow < 0 {
		return v, fmt.Errorf("no %s cell on the %s sheet: not a baseline export, or the digest was removed",
			strings.TrimSuffix(ContentMarker, "="), xlsxSummary)
	}
	for i, cells := range summary {
		switch i {
		case digestRow:
			cells[1] = ContentMarker + zeroDigest
		case sigRow:
			cells[1] = SignatureMarker + zeroSignature
		}
		ch.strings(cells)
	}
	v.Intact = ch.sum() == v.Content
	return v, nil
}

// xlsxSummaryDigests reads the Summary sheet's digests, from its last rows
// up (column B): the content digest (digestRow, -1 when there is none),
// the results digest above it, and, below it, the signature (sigRow, -1
// when unsigned) and the signer's fingerprint.
func xlsxSummaryDigests(summary [][]string) (v Verification, digestRow, sigRow int) {
	digestRow, sigRow = -1, -1
	for i := len(summary) - 1; i >= 0 && (digestRow < 0 || v.Results == ""); i-- {
		if len(summary[i]) < 2 {
			continue
		}
		cell := summary[i][1]
		if d, ok := xlsxContentDigest(cell); ok && digestRow < 0 {
			digestRow, v.Content = i, d
		} else if d, ok := strings.CutPrefix(cell, ResultsMarker); ok && digestRow >= 0 && v.Results == "" {
			v.Results = d
		} else if digestRow >= 0 {
			continue
		} else if sig := signatureAt(cell, 0); sig != "" && strings.HasPrefix(cell, SignatureMarker) && sigRow < 0 {
			sigRow, v.Signature = i, sig
		} else if strings.HasPrefix(cell, SignerMarker) && v.Signer == "" {
			v.Signer = signerAt(cell, 0)
		}
	}
	return v, digestRow, sigRow
}

// xlsxPartsIntact checks the workbook's archive byte for byte, beyond the
// cells that the content digest covers: every part is read to its end (an
// edit of its stored bytes fails its checksum), each part's local header
// and data descriptor must agree with its central directory entry, and the
// parts must follow one another with nothing between them.
func xlsxPartsIntact(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("not an XLSX workbook: %w", err)
	}
	type span struct{ start, end int64 }
	spans := make([]span, 0, len(zr.File))
	for _, part := range zr.File {
		if err := readPart(part); err != nil {
			return err
		}
		start, end, err := localRecord(r, part)
		if err != nil {
			return fmt.Errorf("XLSX part %s: %w", part.Name, err)
		}
		spans = append(spans, span{start, end})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	next := int64(0)
	for _, s := range spans {
		if s.start != next {
			return fmt.Errorf("XLSX archive: unexpected bytes at offset %d", next)
		}
		next = s.end
	}
	return nil
}

// readPart reads a part to its end, which checks its CRC-32.
func readPart(part *zip.File) error {
	rc, err := part.Open()
	if err != nil {
		return fmt.Errorf("XLSX part %s: %w", part.Name, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("XLSX part %s: %w", part.Name, err)
	}
	return nil
}

// localRecord finds a part's local header, checks it and its data
// descriptor against the central directory, and returns where the part's
// record starts and ends.
func localRecord(r io.ReaderAt, part *zip.File) (start, end int64, err error) {
	data, err := part.DataOffset()
	if err != nil {
		return 0, 0, err
	}
	const fixed = 30
	n := int64(len(part.Name))
	for extra := int64(0); extra <= 0xffff && data-fixed-n-extra >= 0; extra++ {
		start = data - fixed - n - extra
		hdr := make([]byte, fixed+n)
		if _, err := r.ReadAt(hdr, start); err != nil {
			return 0, 0, err
		}
		le := binary.LittleEndian
		if le.Uint32(hdr) != 0x04034b50 || int64(le.Uint16(hdr[26:])) != n || int64(le.Uint16(hdr[28:])) != extra {
			continue
		}
		if le.Uint16(hdr[4:]) != part.ReaderVersion || le.Uint16(hdr[6:]) != part.Flags || le.Uint16(hdr[8:]) != part.Method ||
			le.Uint16(hdr[10:]) != part.ModifiedTime || le.Uint16(hdr[12:]) != part.ModifiedDate || string(hdr[fixed:]) != part.Name {
			return 0, 0, fmt.Errorf("local header differs from the central directory")
		}
		end = data + int64(part.CompressedSize64)
		if part.Flags&0x8 == 0 {
			if le.Uint32(hdr[14:]) != part.CRC32 || uint64(le.Uint32(hdr[18:])) != part.CompressedSize64 || uint64(le.Uint32(hdr[22:])) != part.UncompressedSize64 {
				return 0, 0, fmt.Errorf("local header differs from the central directory")
			}
			return start, end, nil
		}
		if le.Uint32(hdr[14:]) != 0 || le.Uint32(hdr[18:]) != 0 || le.Uint32(hdr[22:]) != 0 {
			return 0, 0, fmt.Errorf("local header differs from the central directory")
		}
		desc := make([]byte, 16)
		if _, err := r.ReadAt(desc, end); err != nil {
			return 0, 0, err
		}
		if le.Uint32(desc) != 0x08074b50 || le.Uint32(desc[4:]) != part.CRC32 ||
			uint64(le.Uint32(desc[8:])) != part.CompressedSize64 || uint64(le.Uint32(desc[12:])) != part.UncompressedSize64 {
			return 0, 0, fmt.Errorf("data descriptor differs from the central directory")
		}
		return start, end + 16, nil
	}
	return 0, 0, fmt.Errorf("no local header")
}
