package jsondoc

import (
	"reflect"
	"strings"
	"testing"
)

var parseSeeds = []string{
	`{"Id":"abc","State":{"Running":true,"Pid":0,"ExitCode":-1.5e+3},"Config":{"Env":["A=1",null,"B="],"Labels":{}},"Mounts":[]}`,
	` {"a" : null , "b":{"c":null,"d":[null,{"e":null}]}, "a":1, "f":null} `,
	`{"a":1,"a":null}`, `{"a":null,"a":2}`, `[]`, `{}`, `"text"`, `12345678901234567890123`, `-0.0e-0`, `true`, `null`,
	`{"esc":"q\" b\\ s\/ \b\f\n\r\t \u00e9 \u4e2d \ud83d\ude00 lone \ud800 x \udc00 pair-bad \ud800\u0041 \ud800\\u"}`,
	"\"bad utf8 \xff\xfe \xe2\x82 ok é 中\"", "\"ctl \x01\"", `"bad \x"`, `"\u12"`, `"\u12g4"`, `"unterminated`,
	`{"a":1} trailing`, `{"a":1}{"b":2}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{"a":1,}`, `{,}`, `01`, `1.`, `1e`, `-`, `.5`, `+1`,
	`tru`, `nulls`, ``, `   `, "\ufeff{}", `{"a":[[[[[[1]]]]]]}`, strings.Repeat("[", 1200) + strings.Repeat("]", 1200),
	`{"deep":` + strings.Repeat(`{"a":`, 50) + `null` + strings.Repeat(`}`, 50) + `}`,
}

// TestParseDecodesAsEncodingJSON compares Decode with encoding/json's
// decoding (numbers kept, null members dropped) on valid and broken
// documents: the same values, the same errors.
func TestParseDecodesAsEncodingJSON(t *testing.T) {
	for _, s := range parseSeeds {
		checkParse(t, []byte(s))
	}
	for _, s := range parseSeeds[:3] {
		if _, ok := parse([]byte(s)); !ok {
			t.Errorf("%s: left to encoding/json", s)
		}
	}
}

// FuzzParse compares Decode with encoding/json's decoding on any input.
func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkParse)
}

func checkParse(t *testing.T, raw []byte) {
	got, gotErr := Decode(raw)
	want, wantErr := decodeStd(raw)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%q: error %v, encoding/json: %v", raw, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: %#v, encoding/json: %#v", raw, got, want)
	}
}
