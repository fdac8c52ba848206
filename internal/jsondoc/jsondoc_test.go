package jsondoc

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestDecodeDropsNullsAndKeepsNumbers(t *testing.T) {
	got, err := Decode([]byte(`{"a":null,"b":{"c":null,"d":[1,null,{"e":null,"f":12345678901234567890}]},"g":0.5}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"b": map[string]any{"d": []any{json.Number("1"), nil, map[string]any{"f": json.Number("12345678901234567890")}}}, "g": json.Number("0.5")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode = %#v\nwant %#v", got, want)
	}
	if _, err := Decode([]byte(`{"a":`)); err == nil {
		t.Error("truncated JSON decoded")
	}
}
