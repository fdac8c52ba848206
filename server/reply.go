package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
)

// The response envelope's bytes are those of encoding/json over maps:
// every object's keys sorted, at every depth, and numbers as float64
// writes them. replyBody gives these bytes in one pass over the
// response's encoding, without decoding it into maps and encoding it
// again.

// errNotCanonical says that the encoding is not one that the one-pass
// writer handles; the caller then takes the path through maps.
var errNotCanonical = errors.New("not a compact JSON object")

// replyBody is {"Response":{...resp's members, "RequestId":reqID}} with
// every object's keys sorted, followed by a newline, as encoding
// map[string]any{"Response": body} gives it: written from resp's plan
// when its type has one (replyplan.go), else from its encoding.
func replyBody(resp any, reqID string) ([]byte, error) {
	return appendReplyBody(nil, resp, reqID)
}

// appendReplyBody appends replyBody's bytes to dst.
func appendReplyBody(dst []byte, resp any, reqID string) ([]byte, error) {
	id, err := json.Marshal(reqID)
	if err != nil {
		return nil, err
	}
	w := canonWriter{out: dst}
	w.out = append(w.out, `{"Response":`...)
	if ok, err := w.planned(resp, id); ok {
		if err != nil {
			return nil, err
		}
		return append(w.out, "}\n"...), nil
	}
	raw, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errNotCanonical
	}
	w.out = slices.Grow(w.out, len(raw)+len(id)+32)
	rest, err := w.object(raw, "RequestId", id)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errNotCanonical
	}
	w.out = append(w.out, "}\n"...)
	return w.out, nil
}

// canonWriter writes compact JSON (json.Marshal's output) again with
// sorted keys and float64 numbers.
type canonWriter struct {
	out     []byte
	members []member // a stack: the members of the objects being written
	scratch []byte
}

// member is where one object member's key (without quotes) and value are
// written, relative to the object's start.
type member struct {
	keyFrom, keyTo, from, to int
}

// value writes the value at the start of src and returns what follows it.
func (w *canonWriter) value(src []byte) ([]byte, error) {
	if len(src) == 0 {
		return nil, errNotCanonical
	}
	switch c := src[0]; {
	case c == '{':
		return w.object(src, "", nil)
	case c == '[':
		return w.array(src)
	case c == '"':
		return w.str(src)
	case c == 't' && bytes.HasPrefix(src, []byte("true")):
		w.out = append(w.out, "true"...)
		return src[4:], nil
	case c == 'f' && bytes.HasPrefix(src, []byte("false")):
		w.out = append(w.out, "false"...)
		return src[5:], nil
	case c == 'n' && bytes.HasPrefix(src, []byte("null")):
		w.out = append(w.out, "null"...)
		return src[4:], nil
	case c == '-' || (c >= '0' && c <= '9'):
		return w.number(src)
	}
	return nil, errNotCanonical
}

// object writes the object at the start of src, and a member extraKey
// with the encoded value extraVal when extraVal is not nil (which replaces
// src's member of the same key), its keys sorted as encoding/json sorts a
// map's; a key met twice keeps its last value, as a map does. The members
// are written as they come, and written again sorted only when they are
// not. A key that needs an escape is left to the path through maps.
func (w *canonWriter) object(src []byte, extraKey string, extraVal []byte) ([]byte, error) {
	src = src[1:]
	start, base := len(w.out), len(w.members)
	defer func() { w.members = w.members[:base] }()
	w.out = append(w.out, '{')
	for n := 0; len(src) > 0 && src[0] != '}'; n++ {
		if n > 0 {
			if src[0] != ',' {
				return nil, errNotCanonical
			}
			src = src[1:]
			w.out = append(w.out, ',')
		}
		end, err := strEnd(src)
		if err != nil {
			return nil, err
		}
		if bytes.IndexByte(src[:end], '\\') >= 0 {
			return nil, errNotCanonical
		}
		keyFrom := len(w.out) + 1 - start
		w.out = append(w.out, src[:end]...)
		keyTo := len(w.out) - 1 - start
		src = src[end:]
		if len(src) == 0 || src[0] != ':' {
			return nil, errNotCanonical
		}
		w.out = append(w.out, ':')
		from := len(w.out) - start
		if src, err = w.value(src[1:]); err != nil {
			return nil, err
		}
		w.members = append(w.members, member{keyFrom: keyFrom, keyTo: keyTo, from: from, to: len(w.out) - start})
	}
	if len(src) == 0 {
		return nil, errNotCanonical
	}
	if extraVal != nil {
		if len(w.members) > base {
			w.out = append(w.out, ',')
		}
		keyFrom := len(w.out) + 1 - start
		w.out = strconv.AppendQuote(w.out, extraKey)
		keyTo := len(w.out) - 1 - start
		w.out = append(w.out, ':')
		from := len(w.out) - start
		w.out = append(w.out, extraVal...)
		w.members = append(w.members, member{keyFrom: keyFrom, keyTo: keyTo, from: from, to: len(w.out) - start})
	}
	w.sortMembers(start, w.members[base:])
	w.out = append(w.out, '}')
	return src[1:], nil
}

// sortMembers writes the members of the object written from start again,
// sorted by key, when they are not.
func (w *canonWriter) sortMembers(start int, members []member) {
	obj := w.out[start:]
	key := func(m member) []byte { return obj[m.keyFrom:m.keyTo] }
	byKey := func(a, b member) int { return bytes.Compare(key(a), key(b)) }
	if slices.IsSortedFunc(members, byKey) && distinct(obj, members) {
		return
	}
	w.scratch = append(w.scratch[:0], obj...)
	obj = w.scratch
	slices.SortStableFunc(members, byKey)
	w.out = append(w.out[:start], '{')
	for i, m := range members {
		if i+1 < len(members) && bytes.Equal(key(members[i+1]), key(m)) {
			continue // the later value wins
		}
		if len(w.out) > start+1 {
			w.out = append(w.out, ',')
		}
		w.out = append(w.out, obj[m.keyFrom-1:m.keyTo+1]...)
		w.out = append(w.out, ':')
		w.out = append(w.out, obj[m.from:m.to]...)
	}
}

// distinct reports whether sorted members have no key twice.
func distinct(obj []byte, members []member) bool {
	for i := 1; i < len(members); i++ {
		if bytes.Equal(obj[members[i-1].keyFrom:members[i-1].keyTo], obj[members[i].keyFrom:members[i].keyTo]) {
			return false
		}
	}
	return true
}

// array writes the array at the start of src.
func (w *canonWriter) array(src []byte) ([]byte, error) {
	src = src[1:]
	w.out = append(w.out, '[')
	for n := 0; len(src) > 0 && src[0] != ']'; n++ {
		if n > 0 {
			if src[0] != ',' {
				return nil, errNotCanonical
			}
			src = src[1:]
			w.out = append(w.out, ',')
		}
		var err error
		if src, err = w.value(src); err != nil {
			return nil, err
		}
	}
	if len(src) == 0 {
		return nil, errNotCanonical
	}
	w.out = append(w.out, ']')
	return src[1:], nil
}

// str writes the string at the start of src: as it is when it has no
// escape (json.Marshal escaped all that needs escaping), decoded and
// encoded again otherwise, so that its escapes are encoding/json's.
func (w *canonWriter) str(src []byte) ([]byte, error) {
	end, err := strEnd(src)
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(src[:end], '\\') < 0 {
		w.out = append(w.out, src[:end]...)
		return src[end:], nil
	}
	s, err := decodeString(src[:end])
	if err != nil {
		return nil, err
	}
	w.out, err = appendString(w.out, s)
	return src[end:], err
}

// number writes the number at the start of src as encoding/json writes a
// float64: an integer of up to 15 digits is written as it is (a float64
// holds it exactly, and writes it the same), any other is parsed and
// written again.
func (w *canonWriter) number(src []byte) ([]byte, error) {
	end := 0
	plain := true
	for end < len(src) && bytes.IndexByte([]byte("+-0123456789.eE"), src[end]) >= 0 {
		if c := src[end]; c == '.' || c == 'e' || c == 'E' || c == '+' {
			plain = false
		}
		end++
	}
	digits := end
	if end > 0 && src[0] == '-' {
		digits--
	}
	negZero := digits == 1 && src[0] == '-' && src[end-1] == '0'
	if plain && digits > 0 && digits <= 15 && !negZero {
		w.out = append(w.out, src[:end]...)
		return src[end:], nil
	}
	f, err := strconv.ParseFloat(string(src[:end]), 64)
	if err != nil {
		return nil, errNotCanonical
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	w.out = append(w.out, b...)
	return src[end:], nil
}

// strEnd is the length of the string literal at the start of src.
func strEnd(src []byte) (int, error) {
	if len(src) == 0 || src[0] != '"' {
		return 0, errNotCanonical
	}
	for i := 1; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errNotCanonical
}

func decodeString(lit []byte) (string, error) {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", errNotCanonical
	}
	return s, nil
}

// appendString appends s as encoding/json writes a string (HTML escaped).
func appendString(dst []byte, s string) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}
