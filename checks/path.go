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
	// steps are those of a path made of members and [*] alone, which
	// Find follows itself through JSON objects and arrays; nil for any
	// other path.
	steps []pathStep
}

// pathStep is a member of an object, or (all) every element of an array.
type pathStep struct {
	member string
	all    bool
}

// compilePath parses the expression once at load time.
func compilePath(expr string) (*Path, error) {
	text := normalizePath(expr)
	parsed, err := jsonpath.Parse(jsonPathName, text) // as newJSONPath parses it
	if err != nil {
		return nil, err
	}
	p := &Path{Expr: expr, steps: simpleSteps(parsed)}
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

// jsonPathName names the expressions in jsonpath's errors.
const jsonPathName = "path"

func newJSONPath(text string) (*jsonpath.JSONPath, error) {
	j := jsonpath.New(jsonPathName).AllowMissingKeys(true)
	if err := j.Parse(text); err != nil {
		return nil, err
	}
	return j, nil
}

// Find returns the values the path selects in doc, rendered as strings.
// Null values, empty strings and empty collections are left out: they count
// as "not set", as in kube-bench.
func (p *Path) Find(doc any) (vals []string, err error) {
	if vals, ok := p.findSimple(doc); ok {
		return vals, nil
	}
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

// simpleSteps gives the steps of a path made of members and [*] alone,
// nil for any other.
func simpleSteps(parsed *jsonpath.Parser) []pathStep {
	if len(parsed.Root.Nodes) != 1 {
		return nil
	}
	list, ok := parsed.Root.Nodes[0].(*jsonpath.ListNode)
	if !ok || len(list.Nodes) == 0 {
		return nil
	}
	steps := make([]pathStep, 0, len(list.Nodes))
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *jsonpath.FieldNode:
			if n.Value == "" {
				return nil
			}
			steps = append(steps, pathStep{member: n.Value})
		case *jsonpath.ArrayNode:
			if n.Params[0].Known || n.Params[1].Known || n.Params[2].Known {
				return nil
			}
			steps = append(steps, pathStep{all: true})
		default:
			return nil
		}
	}
	return steps
}

// findSimple follows a simple path through a document of JSON objects and
// arrays, with client-go's jsonpath's semantics (a missing member selects
// nothing; an empty array ends the step with what it selected so far);
// ok is false when the path is not simple or the document holds anything
// else on the way, left to client-go's jsonpath.
func (p *Path) findSimple(doc any) (vals []string, ok bool) {
	if p.steps == nil {
		return nil, false
	}
	var bufA, bufB [4]any
	cur, next := append(bufA[:0], doc), bufB[:0]
	for _, st := range p.steps {
		next = next[:0]
		var ok bool
		if st.all {
			next, ok = elements(cur, next)
		} else {
			next, ok = members(cur, next, st.member)
		}
		if !ok {
			return nil, false
		}
		cur, next = next, cur
	}
	for _, v := range cur {
		if s, ok := renderJSON(v); ok {
			vals = append(vals, s)
		}
	}
	return vals, true
}

// members selects the member name of each object of in.
func members(in, out []any, name string) ([]any, bool) {
	for _, v := range in {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v[name]; ok {
				out = append(out, e)
			}
		case nil, string, json.Number, bool, []any:
			// not an object: no member
		default:
			return nil, false
		}
	}
	return out, true
}

// elements selects the elements of each array of in; an empty array ends
// the selection (as client-go's jsonpath does).
func elements(in, out []any) ([]any, bool) {
	for _, v := range in {
		switch v := v.(type) {
		case nil:
		case []any:
			if len(v) == 0 {
				return out, true
			}
			out = append(out, v...)
		default:
			return nil, false
		}
	}
	return out, true
}

// renderJSON is render for a value of a JSON document.
func renderJSON(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, v != ""
	case json.Number:
		return string(v), v != ""
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return render(reflect.ValueOf(v))
}
