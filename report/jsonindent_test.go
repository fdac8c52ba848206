package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// checkIndent compares appendIndent with json.Indent on the compact form
// of a JSON document, with and without a prefix.
func checkIndent(t *testing.T, doc []byte) {
	t.Helper()
	var compact bytes.Buffer
	if json.Compact(&compact, doc) != nil {
		return
	}
	for _, prefix := range []string{"", "    "} {
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), prefix, "  "); err != nil {
			t.Fatal(err)
		}
		if got := appendIndent(nil, compact.Bytes(), prefix); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("prefix %q:\n got %s\nwant %s", prefix, got, want.Bytes())
		}
	}
}

// TestAppendIndentIsJSONIndent checks the indenter against json.Indent on
// the JSON documents of the golden files and on tricky values.
func TestAppendIndentIsJSONIndent(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, `{"a":[]}`, `{"a":{},"b":[{}]}`, `"x"`, `1`, `null`,
		`{"k\"ey":"v,a:l{u}e[s]\\","e":"\u003cb\u003e \\\" done","n":[1,-2.5e3,true,false,null]}`,
		`[[["deep"]],{"x":{"y":{"z":[]}}}]`,
	} {
		checkIndent(t, []byte(doc))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*json.golden"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkIndent(t, data)
	}
	if len(files) == 0 {
		t.Fatal("no JSON golden files to compare on")
	}
}

// FuzzAppendIndent compares the indenter with json.Indent on any valid
// JSON.
func FuzzAppendIndent(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c\"]"}],"d":{}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if json.Valid(doc) {
			checkIndent(t, doc)
		}
	})
}

// BenchmarkIndent indents the golden JSON report's compact form, by
// appendIndent and (for comparison) by json.Indent.
func BenchmarkIndent(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "report_json.golden"))
	if err != nil {
		b.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		b.Fatal(err)
	}
	b.Run("appendIndent", func(b *testing.B) {
		var out []byte
		for range b.N {
			out = appendIndent(out[:0], compact.Bytes(), "    ")
		}
	})
	b.Run("json.Indent", func(b *testing.B) {
		var out bytes.Buffer
		for range b.N {
			out.Reset()
			_ = json.Indent(&out, compact.Bytes(), "    ", "  ")
		}
	})
}
