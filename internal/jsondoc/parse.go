package jsondoc

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// parse reads a document that is exactly one JSON value (spaces around
// it allowed) into what Decode gives for it, null members of objects left
// out as it goes; ok is false for anything else, which Decode leaves to
// encoding/json (its errors, and what it makes of trailing data). It is
// several times cheaper than encoding/json's decoding into any, which
// copies the input into its own buffer and scans each value twice.
func parse(raw []byte) (v any, ok bool) {
	p := parser{s: raw}
	p.space()
	v, ok = p.value(0)
	if !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(p.s)
}

// maxDepth bounds the nesting that parse reads, well below
// encoding/json's limit; deeper documents are left to it.
const maxDepth = 1000

type parser struct {
	s []byte
	i int
	// buf holds an unescaped string while it is built.
	buf []byte
}

func (p *parser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, bool) {
	if p.i >= len(p.s) || depth > maxDepth {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, ok := p.string()
		return s, ok
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, false
}

func (p *parser) literal(word string) bool {
	if len(p.s)-p.i < len(word) || string(p.s[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *parser) object(depth int) (any, bool) {
	p.i++ // {
	m := map[string]any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, false
		}
		k, ok := p.string()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.space()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		if v == nil {
			delete(m, k) // a null member is absent; it replaces an earlier one
		} else {
			m[k] = v
		}
		if end, ok := p.separator('}'); !ok || end {
			return m, ok
		}
	}
}

// separator reads what follows a member or an element: a comma (end
// false) or the closing bracket (end true); ok is false for anything else.
func (p *parser) separator(closer byte) (end, ok bool) {
	p.space()
	if p.i >= len(p.s) {
		return false, false
	}
	switch p.s[p.i] {
	case ',':
		p.i++
		return false, true
	case closer:
		p.i++
		return true, true
	}
	return false, false
}

func (p *parser) array(depth int) (any, bool) {
	p.i++ // [
	a := []any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		p.space()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if end, ok := p.separator(']'); !ok || end {
			return a, ok
		}
	}
}

// number reads a number as the JSON grammar spells it, kept as its text.
func (p *parser) number() (any, bool) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.i < len(p.s) && p.s[p.i] >= '1' && p.s[p.i] <= '9':
		p.digits()
	default:
		return nil, false
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if !p.digits() {
			return nil, false
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return nil, false
		}
	}
	return json.Number(p.s[start:p.i]), true
}

// digits reads one or more digits.
func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// string reads a string, unescaped; invalid UTF-8 and lone surrogates
// become U+FFFD, as encoding/json makes them.
func (p *parser) string() (string, bool) {
	p.i++ // "
	start := p.i
	for p.i < len(p.s) { // the common case: nothing to unescape or replace
		c := p.s[p.i]
		if c == '"' {
			s := string(p.s[start:p.i])
			p.i++
			return s, true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		p.i++
	}
	p.buf = append(p.buf[:0], p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(p.buf), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if !p.escape() {
				return "", false
			}
		case c < utf8.RuneSelf:
			p.buf = append(p.buf, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.s[p.i:])
			p.buf = utf8.AppendRune(p.buf, r) // RuneError for invalid UTF-8
			p.i += size
		}
	}
	return "", false
}

// escape reads one escape sequence of a string into buf.
func (p *parser) escape() bool {
	if p.i+1 >= len(p.s) {
		return false
	}
	c := p.s[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		p.buf = append(p.buf, c)
	case 'b':
		p.buf = append(p.buf, '\b')
	case 'f':
		p.buf = append(p.buf, '\f')
	case 'n':
		p.buf = append(p.buf, '\n')
	case 'r':
		p.buf = append(p.buf, '\r')
	case 't':
		p.buf = append(p.buf, '\t')
	case 'u':
		r, ok := p.hex4(p.i)
		if !ok {
			return false
		}
		p.i += 4
		if utf16.IsSurrogate(r) {
			// A pair makes one rune; anything else leaves a replacement
			// for this half, and the next escape read on its own.
			if p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
				if r2, ok := p.hex4(p.i + 2); ok {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						p.buf = utf8.AppendRune(p.buf, pair)
						p.i += 6
						return true
					}
				}
			}
			r = utf8.RuneError
		}
		p.buf = utf8.AppendRune(p.buf, r)
	default:
		return false
	}
	return true
}

// hex4 reads the four hexadecimal digits at i.
func (p *parser) hex4(i int) (rune, bool) {
	if i+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range p.s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
