package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// xlsxTruncated ends a text cut to fit a cell.
	xlsxTruncated = "… [truncated]"
	// xlsxMaxCellChars is how long a cell's text may be, in UTF-16 units:
	// Excel's limit.
	xlsxMaxCellChars = 32767
)

// xlsxNormalize turns a row's values, in place, into what the cells store
// and a reader gets back: text valid in XML and within Excel's cell
// length (an empty text is no cell at all), floats with at most 15
// significant digits (Excel's precision). The content digest is
// computed from the normalized values.
func xlsxNormalize(r []any) {
	for i, v := range r {
		switch v := v.(type) {
		case string:
			if v == "" {
				r[i] = nil // no cell: reads back as ""
			} else {
				r[i] = xlsxText(v)
			}
		case float64:
			r[i] = xlsxFloat(v)
		case int, int64, nil:
		default:
			r[i] = xlsxText(fmt.Sprint(v))
		}
	}
}

// xlsxText makes s a cell's text: every character XML cannot hold (and
// every byte that is not UTF-8) becomes U+FFFD, as encoding/xml writes
// them; past Excel's 32,767 UTF-16 units, the text is cut.
func xlsxText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= utf8.RuneSelf || b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			clean = false
			break
		}
	}
	if clean {
		if len(s) <= xlsxMaxCellChars {
			return s
		}
		return s[:xlsxMaxCellChars-utf16Len(xlsxTruncated)] + xlsxTruncated
	}
	limit := -1
	if utf16Len(s) > xlsxMaxCellChars {
		limit = xlsxMaxCellChars - utf16Len(xlsxTruncated)
	}
	var sb strings.Builder
	sb.Grow(len(s))
	units := 0
	for _, r := range s {
		if !xmlChar(r) {
			r = utf8.RuneError
		}
		if limit >= 0 {
			if units += utf16Units(r); units > limit {
				break
			}
		}
		sb.WriteRune(r)
	}
	if limit >= 0 {
		sb.WriteString(xlsxTruncated)
	}
	return sb.String()
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

func utf16Units(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Units(r)
	}
	return n
}

// xlsxFloat keeps 15 significant digits (Excel drops the rest) and
// writes what is not a finite number as text.
func xlsxFloat(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v == 0 {
		return 0.0 // not -0
	}
	v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	return v
}

// xlsxCanon is a normalized value as its cell's XML holds it, and as a
// reader gets it back raw (without number formats).
func xlsxCanon(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
