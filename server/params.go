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
	path, n, ok := aboveMaxID(reflect.ValueOf(v))
	if ok {
		return nil
	}
	return errorf(api.InvalidParameterValue, "%s: %d is out of range (ids are at most %d)", strings.TrimPrefix(path, "."), n, uint64(store.MaxID))
}

// aboveMaxID walks v and returns the value of the first unsigned number
// above store.MaxID and its path below v (".Results[3].CustomerAssetId"),
// or ok. The path is built only for that number, on the way back: an
// upload's every result is walked without allocating.
func aboveMaxID(v reflect.Value) (string, uint64, bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "", 0, true
		}
		return aboveMaxID(v.Elem())
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		if n := v.Uint(); n > store.MaxID {
			return "", n, false
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", 0, true // bytes, not ids
		}
		for i := range v.Len() {
			if p, n, ok := aboveMaxID(v.Index(i)); !ok {
				return fmt.Sprintf("[%d]", i) + p, n, false
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if p, n, ok := aboveMaxID(iter.Value()); !ok {
				return fmt.Sprintf("[%v]", iter.Key()) + p, n, false
			}
		}
	case reflect.Struct:
		return structAboveMaxID(v)
	}
	return "", 0, true
}

// structAboveMaxID walks a struct's parameters: its exported fields under
// their JSON names, embedded ones without a name of their own.
func structAboveMaxID(v reflect.Value) (string, uint64, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) { // not a parameter (a time.Time's insides)
			continue
		}
		p, n, ok := aboveMaxID(v.Field(i))
		if ok {
			continue
		}
		if !f.Anonymous || name != "" {
			if name == "" {
				name = f.Name
			}
			p = "." + name + p
		}
		return p, n, false
	}
	return "", 0, true
}
