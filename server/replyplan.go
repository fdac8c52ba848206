package server

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/baselinehq/baseline/internal/jsondoc"
)

// The list responses (pages of a hundred rows of strings and numbers) are
// written from their values, without encoding them first and reading that
// encoding again: each struct type's members are listed once, sorted by
// key (a plan), and each value is written as the envelope's path through
// maps would write it. A member of a kind that the plan does not write
// itself (a float, a map, a pointer, a value with a method of its own) is
// encoded by encoding/json and written by the one-pass writer; a type
// that encoding/json would treat in a way that the plan does not know
// (an embedded struct, two members of one key, a key that needs an
// escape, the string option) has no plan, and its response takes the
// one-pass writer's path.

// plan is how a struct type is written: its members in key order.
type plan struct {
	fields []planField
}

// planField is one member of a struct: its key written with its quotes
// and colon, the field's index, and how its value is written.
type planField struct {
	key       string
	name      string
	index     int
	kind      fieldKind
	omitEmpty bool
	elem      *plan // the element's plan, for kind listOfStructs; the struct's for kind nested
}

type fieldKind int

const (
	kindOther fieldKind = iota // encoded by encoding/json, then the one-pass writer
	kindString
	kindInt
	kindUint
	kindBool
	kindListOfStructs
	kindNested
)

var (
	plans         sync.Map // reflect.Type → *plan, nil when the type has none
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// planOf is the plan of struct type t, nil when it has none.
func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := newPlan(t, 0)
	plans.Store(t, p) // another request may have stored the same plan meanwhile
	return p
}

// ownEncoding reports whether encoding/json writes t through a method of
// t or *t.
func ownEncoding(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || t.Implements(textType) || pt.Implements(marshalerType) || pt.Implements(textType)
}

// maxPlanDepth bounds the structs planned within a struct (a type that
// holds itself is written by encoding/json below it).
const maxPlanDepth = 8

// newPlan lists the members of struct type t as encoding/json writes
// them, sorted by key; nil when t is not a struct that the plan knows.
func newPlan(t reflect.Type, depth int) *plan {
	if t.Kind() != reflect.Struct || ownEncoding(t) || depth > maxPlanDepth {
		return nil
	}
	p := &plan{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil
		}
		if !sf.IsExported() {
			continue
		}
		f, ok := newPlanField(sf, depth)
		if !ok {
			return nil
		}
		if f.name == "-" && f.key == "" {
			continue
		}
		f.index = i
		p.fields = append(p.fields, f)
	}
	slices.SortFunc(p.fields, func(a, b planField) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(p.fields); i++ {
		if p.fields[i].name == p.fields[i-1].name {
			return nil
		}
	}
	return p
}

// newPlanField is how one exported field is written; false when the plan
// cannot say (a tag's option or a key that it does not know).
func newPlanField(sf reflect.StructField, depth int) (planField, bool) {
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return planField{name: "-"}, true
	}
	name, opts, _ := strings.Cut(tag, ",")
	omit := false
	for o := range strings.SplitSeq(opts, ",") {
		switch o {
		case "":
		case "omitempty":
			omit = true
		default:
			return planField{}, false
		}
	}
	if name == "" {
		name = sf.Name
	}
	if !plainKey(name) {
		return planField{}, false
	}
	f := planField{key: `"` + name + `":`, name: name, omitEmpty: omit, kind: kindOf(sf.Type)}
	switch f.kind {
	case kindListOfStructs:
		f.elem = newPlan(sf.Type.Elem(), depth+1)
	case kindNested:
		f.elem = newPlan(sf.Type, depth+1)
	}
	if (f.kind == kindListOfStructs || f.kind == kindNested) && f.elem == nil {
		f.kind = kindOther
	}
	return f, true
}

// kindOf is how a value of type t is written.
func kindOf(t reflect.Type) fieldKind {
	if ownEncoding(t) {
		return kindOther
	}
	switch t.Kind() {
	case reflect.String:
		return kindString
	case reflect.Bool:
		return kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return kindUint
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return kindListOfStructs
		}
	case reflect.Struct:
		return kindNested
	}
	return kindOther
}

// plainKey reports whether a key is written as it is, without an escape:
// letters, digits and the underscore.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return k != ""
}

// planned writes the response resp (a struct or a pointer to one) with
// the member RequestId (extraVal, encoded) from its plan; false when its
// type has none.
func (w *canonWriter) planned(resp any, extraVal []byte) (bool, error) {
	v := reflect.ValueOf(resp)
	if v.Kind() == reflect.Pointer && !v.IsNil() && !ownEncoding(v.Type()) {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return false, nil
	}
	p := planOf(v.Type())
	if p == nil {
		return false, nil
	}
	return true, w.structValue(p, v, "RequestId", extraVal)
}

// structValue writes struct v from its plan, with the member extraKey
// (its value extraVal, encoded) in its place among the sorted keys when
// extraVal is not nil, replacing the struct's own member of that key.
func (w *canonWriter) structValue(p *plan, v reflect.Value, extraKey string, extraVal []byte) error {
	w.out = append(w.out, '{')
	n := 0
	member := func(key string) {
		if n > 0 {
			w.out = append(w.out, ',')
		}
		n++
		w.out = append(w.out, key...)
	}
	extra := extraVal != nil
	for i := range p.fields {
		f := &p.fields[i]
		if extra && f.name >= extraKey {
			member(`"` + extraKey + `":`)
			w.out = append(w.out, extraVal...)
			extra = false
			if f.name == extraKey {
				continue
			}
		}
		fv := v.Field(f.index)
		if f.omitEmpty && emptyValue(fv) {
			continue
		}
		member(f.key)
		if err := w.fieldValue(f, fv); err != nil {
			return err
		}
	}
	if extra {
		member(`"` + extraKey + `":`)
		w.out = append(w.out, extraVal...)
	}
	w.out = append(w.out, '}')
	return nil
}

// emptyValue is encoding/json's omitempty test.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// fieldValue writes one member's value.
func (w *canonWriter) fieldValue(f *planField, v reflect.Value) error {
	switch f.kind {
	case kindString:
		w.out = appendCanonString(w.out, v.String())
	case kindInt:
		w.out = appendCanonInt(w.out, v.Int())
	case kindUint:
		w.out = appendCanonUint(w.out, v.Uint())
	case kindBool:
		w.out = strconv.AppendBool(w.out, v.Bool())
	case kindNested:
		return w.structValue(f.elem, v, "", nil)
	case kindListOfStructs:
		if v.IsNil() {
			w.out = append(w.out, "null"...)
			return nil
		}
		w.out = append(w.out, '[')
		for i := range v.Len() {
			if i > 0 {
				w.out = append(w.out, ',')
			}
			if err := w.structValue(f.elem, v.Index(i), "", nil); err != nil {
				return err
			}
		}
		w.out = append(w.out, ']')
	default:
		return w.encoded(v)
	}
	return nil
}

// encoded writes v as encoding/json encodes it (through its address when
// it has one, as encoding/json calls a pointer's methods then), by the
// one-pass writer.
func (w *canonWriter) encoded(v reflect.Value) error {
	x := v.Interface()
	if v.CanAddr() {
		x = v.Addr().Interface()
	}
	raw, err := json.Marshal(x)
	if err != nil {
		return err
	}
	rest, err := w.value(raw)
	if err == nil && len(rest) != 0 {
		err = errNotCanonical
	}
	return err
}

// appendCanonString appends s as the path through maps writes it:
// encoding/json writes each byte of invalid UTF-8 as \ufffd, which reads
// back as U+FFFD and is then written as that character.
func appendCanonString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
		}
		s = b.String()
	}
	return jsondoc.AppendString(dst, s, true)
}

// maxExact is the largest magnitude whose integers are written as they
// are (canonWriter.number: up to 15 digits).
const maxExact = 999_999_999_999_999

// appendCanonInt appends n as a float64 writes it.
func appendCanonInt(dst []byte, n int64) []byte {
	if n >= -maxExact && n <= maxExact {
		return strconv.AppendInt(dst, n, 10)
	}
	return appendFloat(dst, float64(n))
}

// appendCanonUint appends n as a float64 writes it.
func appendCanonUint(dst []byte, n uint64) []byte {
	if n <= maxExact {
		return strconv.AppendUint(dst, n, 10)
	}
	return appendFloat(dst, float64(n))
}

// appendFloat appends f, an integer of 64 bits beyond maxExact, as
// encoding/json writes a float64 of that magnitude (at least 1e-6 and
// below 1e21): the shortest decimal that reads back as f, without an
// exponent.
func appendFloat(dst []byte, f float64) []byte {
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}
