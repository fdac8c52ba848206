package server

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/store"
)

// checkIDRange refuses a decoded request that carries an unsigned number
// above store.MaxID, naming it by its path (Results[3].CustomerAssetId).
// Every unsigned parameter of the API is an id (assets, items, standards,
// tasks), and SQLite's integers are signed 64-bit, so such an id cannot
// name anything stored; checked here, no action hands one to the store.
func checkIDRange(v any) error {
	path, n, ok := aboveMaxID(reflect.ValueOf(v), "")
	if ok {
		return nil
	}
	return errorf(api.InvalidParameterValue, "%s: %d is out of range (ids are at most %d)", path, n, uint64(store.MaxID))
}

// aboveMaxID walks v and returns the path and value of the first unsigned
// number above store.MaxID, or ok.
func aboveMaxID(v reflect.Value, path string) (string, uint64, bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "", 0, true
		}
		return aboveMaxID(v.Elem(), path)
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		if n := v.Uint(); n > store.MaxID {
			return path, n, false
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", 0, true // bytes, not ids
		}
		for i := range v.Len() {
			if p, n, ok := aboveMaxID(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, n, false
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if p, n, ok := aboveMaxID(iter.Value(), fmt.Sprintf("%s[%v]", path, iter.Key())); !ok {
				return p, n, false
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || (!f.IsExported() && !f.Anonymous) { // not a parameter (a time.Time's insides)
				continue
			}
			sub := path
			if !f.Anonymous || name != "" {
				if name == "" {
					name = f.Name
				}
				sub = strings.TrimPrefix(path+"."+name, ".")
			}
			if p, n, ok := aboveMaxID(v.Field(i), sub); !ok {
				return p, n, false
			}
		}
	}
	return "", 0, true
}
