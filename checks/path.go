package checks

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"k8s.io/client-go/util/jsonpath"
)

// Path is a compiled JSONPath expression (kube-bench's `{.a.b}` syntax; a
// bare `.a.b` or `a.b` is accepted too). It is safe for concurrent use.
type Path struct {
	Expr string
	pool sync.Pool
}

// compilePath parses the expression once at load time.
func compilePath(expr string) (*Path, error) {
	text := normalizePath(expr)
	if _, err := newJSONPath(text); err != nil {
		return nil, err
	}
	p := &Path{Expr: expr}
	p.pool.New = func() any {
		j, _ := newJSONPath(text) // already validated
		return j
	}
	return p, nil
}

func normalizePath(expr string) string {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "{") {
		return e
	}
	if !strings.HasPrefix(e, ".") {
		e = "." + e
	}
	return "{" + e + "}"
}

func newJSONPath(text string) (*jsonpath.JSONPath, error) {
	j := jsonpath.New("path").AllowMissingKeys(true)
	if err := j.Parse(text); err != nil {
		return nil, err
	}
	return j, nil
}

// Find returns the values the path selects in doc, rendered as strings.
// Null values, empty strings and empty collections are left out: they count
// as "not set", as in kube-bench.
func (p *Path) Find(doc any) (vals []string, err error) {
	j := p.pool.Get().(*jsonpath.JSONPath)
	defer p.pool.Put(j)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("path %s: %v", p.Expr, r)
		}
	}()
	results, err := j.FindResults(doc)
	if err != nil {
		return nil, fmt.Errorf("path %s: %w", p.Expr, err)
	}
	for _, set := range results {
		for _, v := range set {
			if s, ok := render(v); ok {
				vals = append(vals, s)
			}
		}
	}
	return vals, nil
}

// render turns a found value into its string form; ok is false when the
// value is null or empty.
func render(v reflect.Value) (string, bool) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return "", false
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		return s, s != ""
	case reflect.Map, reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return "", false
		}
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return fmt.Sprint(v.Interface()), true
		}
		return string(b), true
	}
	return fmt.Sprint(v.Interface()), true
}
