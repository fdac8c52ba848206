package checks

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
)

// strictDecode is the reference: yaml.v3's own strict decoder.
func strictDecode(data []byte) (fileDef, []string, error) {
	var def fileDef
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&def)
	var te *yaml.TypeError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return def, nil, nil
	case errors.As(err, &te):
		return def, te.Errors, nil
	}
	return def, nil, err
}

// TestParseFileOnceMatchesStrictDecoder checks that one parse, its decode
// and the walk for unknown keys give what yaml.v3's strict decoder gives:
// the same definitions and the same messages in the same order.
func TestParseFileOnceMatchesStrictDecoder(t *testing.T) {
	docs := map[string]string{
		"empty":           "",
		"comments only":   "# nothing\n",
		"valid":           stdHeader + "items:\n" + item("1", "1.1"),
		"unknown keys":    "standard:\n  id: s\n  titel: x\nitems:\n  - id: 1\n    platfrom: linux\n    tests:\n      test_items:\n        - path: a\n          compare: {op: eq, vlaue: b}\n",
		"wrong types":     "items:\n  - id: one\n    level: [1]\n",
		"mixed":           "items:\n  - id: one\n    colour: red\n    level: x\n  - id: 2\n    size: 3\n",
		"merge and alias": "base: &b {number: \"1\", oops: 1}\nitems:\n  - <<: *b\n    id: 1\n  - *b\n",
		"not a mapping":   "just text\n",
		"null items":      "items:\n  -\n  - id: 3\n",
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			wantDef, wantMsgs, wantErr := strictDecode([]byte(doc))
			def, _, ps := parseFile("f.yaml", []byte(doc))
			var want []Problem
			switch {
			case wantErr != nil:
				want = yamlProblems("f.yaml", wantErr)
			case len(wantMsgs) > 0:
				want = yamlProblems("f.yaml", &yaml.TypeError{Errors: wantMsgs})
			}
			if !reflect.DeepEqual(ps, want) {
				t.Fatalf("problems:\n got %v\nwant %v", ps, want)
			}
			if def != nil && !reflect.DeepEqual(*def, wantDef) {
				t.Fatalf("definitions:\n got %+v\nwant %+v", *def, wantDef)
			}
		})
	}
}
