package kube

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// decodePage decodes a List response in one read of its tokens: its
// objects, as client-go's unstructured decoding gives them (integers
// int64, other numbers float64, nulls kept, each item with the list's
// kind and apiVersion), and the continue token. An object's
// metadata.managedFields, a bookkeeping copy of the object that no check
// reads, is skipped rather than decoded.
func decodePage(raw []byte, kind string) ([]Object, string, error) {
	d := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err := expectKind(d, '{'); err != nil {
		return nil, "", err
	}
	var listKind, apiVersion, next string
	var docs []map[string]any
	for d.PeekKind() != '}' {
		key, err := readName(d)
		if err != nil {
			return nil, "", err
		}
		switch key {
		case "kind", "apiVersion":
			var v any
			if v, err = decodeValue(d); err == nil {
				s, _ := v.(string)
				if key == "kind" {
					listKind = s
				} else {
					apiVersion = s
				}
			}
		case "metadata":
			var v any
			if v, err = decodeValue(d); err == nil {
				m, _ := v.(map[string]any)
				next, _ = m["continue"].(string)
			}
		case "items":
			docs, err = decodeItems(d)
		default:
			err = d.SkipValue()
		}
		if err != nil {
			return nil, "", err
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, "", err
	}
	itemKind := strings.TrimSuffix(listKind, "List")
	page := make([]Object, 0, len(docs))
	for _, doc := range docs {
		if doc["kind"] == nil && doc["apiVersion"] == nil && itemKind != "" {
			doc["kind"], doc["apiVersion"] = itemKind, apiVersion
		}
		page = append(page, listedObject(kind, &unstructured.Unstructured{Object: doc}))
	}
	return page, next, nil
}

func decodeItems(d *jsontext.Decoder) ([]map[string]any, error) {
	if d.PeekKind() == 'n' { // "items": null
		_, err := d.ReadToken()
		return nil, err
	}
	if err := expectKind(d, '['); err != nil {
		return nil, err
	}
	var docs []map[string]any
	for d.PeekKind() != ']' {
		if d.PeekKind() != '{' {
			return nil, fmt.Errorf("a list item is a %v, not an object", d.PeekKind())
		}
		v, err := decodeObject(d, true)
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
	_, err := d.ReadToken()
	return docs, err
}

func expectKind(d *jsontext.Decoder, want jsontext.Kind) error {
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != want {
		return fmt.Errorf("unexpected %v in a list response, want %v", tok.Kind(), want)
	}
	return nil
}

func readName(d *jsontext.Decoder) (string, error) {
	tok, err := d.ReadToken()
	if err != nil {
		return "", err
	}
	return tok.String(), nil
}

// decodeObject decodes an object; item says it is a listed object, whose
// metadata.managedFields is skipped.
func decodeObject(d *jsontext.Decoder, item bool) (map[string]any, error) {
	if _, err := d.ReadToken(); err != nil { // '{'
		return nil, err
	}
	m := map[string]any{}
	for d.PeekKind() != '}' {
		key, err := readName(d)
		if err != nil {
			return nil, err
		}
		var v any
		if item && key == "metadata" && d.PeekKind() == '{' {
			v, err = decodeMetadata(d)
		} else {
			v, err = decodeValue(d)
		}
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	_, err := d.ReadToken()
	return m, err
}

func decodeMetadata(d *jsontext.Decoder) (map[string]any, error) {
	if _, err := d.ReadToken(); err != nil { // '{'
		return nil, err
	}
	m := map[string]any{}
	for d.PeekKind() != '}' {
		key, err := readName(d)
		if err != nil {
			return nil, err
		}
		if key == "managedFields" {
			if err := d.SkipValue(); err != nil {
				return nil, err
			}
			continue
		}
		v, err := decodeValue(d)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	_, err := d.ReadToken()
	return m, err
}

// decodeValue decodes any value.
func decodeValue(d *jsontext.Decoder) (any, error) {
	switch d.PeekKind() {
	case '{':
		return decodeObject(d, false)
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		l := []any{}
		for d.PeekKind() != ']' {
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		_, err := d.ReadToken()
		return l, err
	case '0':
		raw, err := d.ReadValue()
		if err != nil {
			return nil, err
		}
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return n, nil
		}
		return strconv.ParseFloat(string(raw), 64)
	}
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %v", tok.Kind())
}
