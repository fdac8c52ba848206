package checks

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// unknownFields lists, in document order, the mapping keys of a parsed
// document that name no field of the struct type t decodes into, in the
// words of yaml.v3's strict decoder ("line N: field K not found in type
// T"). With a decode of the same node it is the strict decode, done
// without parsing the file a second time.
func unknownFields(root *yaml.Node, t reflect.Type) []string {
	var out []string
	budget := maxStrictVisits // aliases are walked where they are used, as decoded
	var walk func(n *yaml.Node, t reflect.Type)
	walk = func(n *yaml.Node, t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil || budget == 0 {
			return
		}
		budget--
		switch {
		case n.Kind == yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, t)
			}
		case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			for _, c := range n.Content {
				walk(c, t.Elem())
			}
		case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
			fields := yamlFields(t)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if isMergeKey(k) {
					walkMerge(v, t, walk)
					continue
				}
				ft, ok := fields[k.Value]
				if !ok {
					out = append(out, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, t))
					continue
				}
				walk(v, ft)
			}
		}
	}
	walk(root, t)
	return out
}

// maxStrictVisits bounds the nodes the check visits, aliases counted
// each time they are used.
const maxStrictVisits = 1 << 20

// isMergeKey tells a "<<" merge key, as yaml.v3 does.
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" &&
		(k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

// walkMerge checks the mapping (or sequence of mappings) merged into a
// mapping of type t.
func walkMerge(v *yaml.Node, t reflect.Type, walk func(*yaml.Node, reflect.Type)) {
	for v != nil && v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v != nil && v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			walk(c, t)
		}
		return
	}
	walk(v, t)
}

var fieldsByType sync.Map // reflect.Type → map[string]reflect.Type

// yamlFields maps the YAML keys of a struct's fields to the fields' types
// (the definition types have no inline or custom-decoded fields).
func yamlFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldsByType.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "-" {
			continue
		}
		if key == "" {
			key = strings.ToLower(f.Name)
		}
		m[key] = f.Type
	}
	fieldsByType.Store(t, m)
	return m
}
