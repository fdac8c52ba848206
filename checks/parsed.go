package checks

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// A tree's definition files can be parsed ahead of time (Precompile), so
// that a scan does not parse the same YAML on every run: the built-in
// standards ship their parsed form beside their YAML. The parsed form
// holds, for every file, its name, the SHA-256 of its content, its
// decoded definitions and the line of each item. A file is taken from it
// only when its content has that digest; any other file (edited, added)
// is parsed as YAML. The format also records the layout of the definition
// types, so that a parsed form written by another version of them is not
// used at all.

// parsedMagic opens a parsed form.
const parsedMagic = "baseline parsed definitions 1\n"

// parsedFile is one definition file in a parsed form.
type parsedFile struct {
	Name      string // the path in its tree
	Sum       string // SHA-256 of the file's content
	ItemLines []int  // the line of each item
	Def       fileDef
}

// Precompile parses every definition file of fsys, strictly, and encodes
// the result as Tree.Parsed. A file with a problem fails it: only valid
// definitions are parsed ahead.
func Precompile(fsys fs.FS) ([]byte, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isDefinitionFile(p) {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	enc := &defEncoder{}
	enc.string(parsedMagic)
	enc.string(typeLayout(reflect.TypeFor[fileDef]()))
	enc.uint(uint64(len(names)))
	for _, name := range names {
		data, err := readLimited(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		def, root, ps := parseFile(name, data)
		if len(ps) > 0 {
			return nil, NewLoadError(ps)
		}
		sum := sha256.Sum256(data)
		f := parsedFile{Name: name, Sum: string(sum[:]), Def: *def}
		for j := range def.Items {
			f.ItemLines = append(f.ItemLines, NodeLine(root, "items", j))
		}
		enc.value(reflect.ValueOf(&f).Elem())
	}
	return enc.buf, nil
}

func isDefinitionFile(p string) bool {
	ext := path.Ext(p)
	return ext == ".yaml" || ext == ".yml"
}

// decodeParsed reads a parsed form, by file name; nil when there is none
// or it does not fit these definition types.
func decodeParsed(parsed string) map[string]*parsedFile {
	if parsed == "" {
		return nil
	}
	dec := &defDecoder{s: parsed}
	if dec.string() != parsedMagic || dec.string() != typeLayout(reflect.TypeFor[fileDef]()) {
		return nil
	}
	n := dec.uint()
	if dec.err != nil || n > uint64(len(parsed)) {
		return nil
	}
	files := make([]parsedFile, n)
	for i := range files {
		dec.value(reflect.ValueOf(&files[i]).Elem())
	}
	if dec.err != nil || dec.s != "" {
		return nil
	}
	out := make(map[string]*parsedFile, len(files))
	for i := range files {
		out[files[i].Name] = &files[i]
	}
	return out
}

// sumPool holds the buffers that files are hashed through.
var sumPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// matches reports whether the file name of fsys has the content that f
// was parsed from.
func (f *parsedFile) matches(fsys fs.FS, name string) bool {
	file, err := fsys.Open(name)
	if err != nil {
		return false
	}
	defer func() { _ = file.Close() }()
	h := sha256.New()
	buf := sumPool.Get().(*[32 << 10]byte)
	defer sumPool.Put(buf)
	n, err := io.CopyBuffer(h, io.LimitReader(file, MaxFileSize+1), buf[:])
	return err == nil && n <= MaxFileSize && string(h.Sum(nil)) == f.Sum
}

// typeLayout describes the fields of a definition type, recursively, as
// the parsed form lays them out.
func typeLayout(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeLayout(t.Elem())
	case reflect.Slice:
		return "[]" + typeLayout(t.Elem())
	case reflect.Struct:
		parts := make([]string, t.NumField())
		for i := range parts {
			f := t.Field(i)
			parts[i] = f.Name + " " + typeLayout(f.Type)
		}
		return "{" + strings.Join(parts, "; ") + "}"
	}
	return t.Kind().String()
}

// defEncoder writes values of the definition types: unsigned varints for
// lengths and numbers, strings as their length and bytes, a presence byte
// before what a pointer points to, and a slice's length plus one (0 for a
// nil slice), so that decoding gives back exactly what YAML decoded.
type defEncoder struct{ buf []byte }

func (e *defEncoder) uint(n uint64) { e.buf = binary.AppendUvarint(e.buf, n) }

func (e *defEncoder) string(s string) {
	e.uint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *defEncoder) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		e.string(v.String())
	case reflect.Bool:
		if v.Bool() {
			e.uint(1)
		} else {
			e.uint(0)
		}
	case reflect.Int, reflect.Int64:
		e.buf = binary.AppendVarint(e.buf, v.Int())
	case reflect.Uint64:
		e.uint(v.Uint())
	case reflect.Pointer:
		if v.IsNil() {
			e.uint(0)
			return
		}
		e.uint(1)
		e.value(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			e.uint(0)
			return
		}
		e.uint(uint64(v.Len()) + 1)
		for i := range v.Len() {
			e.value(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			e.value(v.Field(i))
		}
	default:
		panic("checks: no parsed form for " + v.Type().String())
	}
}

// defDecoder reads what defEncoder wrote. Strings are cut from the parsed
// form itself, never copied. The first error stops it.
type defDecoder struct {
	s   string
	err error
}

var errParsedForm = errors.New("corrupt parsed definitions")

func (d *defDecoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	var n uint64
	for shift := 0; shift < 64; shift += 7 {
		if d.s == "" {
			break
		}
		b := d.s[0]
		d.s = d.s[1:]
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return n
		}
	}
	d.err = errParsedForm
	return 0
}

func (d *defDecoder) string() string {
	n := d.uint()
	if d.err != nil || n > uint64(len(d.s)) {
		d.err = errParsedForm
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

// length reads a slice's length (-1 for a nil slice), bounded by what is
// left to read.
func (d *defDecoder) length() int {
	n := d.uint()
	if d.err != nil || n > uint64(len(d.s))+1 {
		d.err = errParsedForm
		return -1
	}
	return int(n) - 1
}

func (d *defDecoder) value(v reflect.Value) {
	if d.err != nil {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(d.string())
	case reflect.Bool:
		v.SetBool(d.uint() == 1)
	case reflect.Int, reflect.Int64:
		u := d.uint()
		v.SetInt(int64(u>>1) ^ -int64(u&1)) // zig-zag, as binary.AppendVarint
	case reflect.Uint64:
		v.SetUint(d.uint())
	case reflect.Pointer:
		if d.uint() == 1 {
			p := reflect.New(v.Type().Elem())
			d.value(p.Elem())
			v.Set(p)
		}
	case reflect.Slice:
		if n := d.length(); n >= 0 {
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				d.value(s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			d.value(v.Field(i))
		}
	default:
		d.err = errParsedForm
	}
}
