// Package jsondoc decodes documents that tests address by JSONPath: numbers
// stay exact, and null members are dropped, so that "null" and "absent"
// mean the same (not set) to every path, filters included.
package jsondoc

import (
	"bytes"
	"encoding/json"
)

// Decode reads one JSON document.
func Decode(raw []byte) (any, error) {
	if v, ok := parse(raw); ok {
		return v, nil
	}
	return decodeStd(raw)
}

// decodeStd is Decode by encoding/json alone: what parse leaves to it
// (its errors, trailing data, deeper nesting).
func decodeStd(raw []byte) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return Prune(v), nil
}

// Prune removes null members of objects, recursively, in place.
func Prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = Prune(e)
		}
	case []any:
		for i, e := range t {
			t[i] = Prune(e)
		}
	}
	return v
}
