package jsondoc

import "unicode/utf8"

// safe and safeHTML tell the ASCII characters that a JSON string holds as
// they are: every printable one but the quote and the backslash, and for
// safeHTML not <, > and & either.
var safe, safeHTML = func() (plain, html [utf8.RuneSelf]bool) {
	for c := range plain {
		plain[c] = c >= 0x20 && c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return plain, html
}()

// AppendString appends s as a JSON string, byte for byte as encoding/json
// writes it: the quote, the backslash and the control characters escaped
// (\b, \f, \n, \r and \t by letter, the others as \u00XX), invalid UTF-8
// as \ufffd, U+2028 and U+2029 escaped; with html (encoding/json's
// default), <, > and & as \u00XX too.
func AppendString(dst []byte, s string, html bool) []byte {
	const hexDigits = "0123456789abcdef"
	ok := &safe
	if html {
		ok = &safeHTML
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if ok[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, `\b`...)
			case '\f':
				dst = append(dst, `\f`...)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
