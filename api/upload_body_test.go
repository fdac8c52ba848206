package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// uploadReport is a finished scan of a host and two containers, one of
// which could not be read.
func uploadReport() *results.Report {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	host := assets.Asset{ID: 1, Type: assets.Host, Name: "node-1", Ref: "machine-1", NodeName: "node-1"}
	c1 := assets.Asset{ID: 2, Type: assets.Container, Name: "web", Ref: "c1", NodeName: "node-1"}
	c2 := assets.Asset{ID: 3, Type: assets.Container, Name: "db \"quoted\" <&>", Ref: "c2", NodeName: "node-1"}
	ev := []checks.Evidence{{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "true", Expected: "false"}}
	return &results.Report{
		StartedAt: at, FinishedAt: at.Add(time.Second), Host: host,
		Standards: []*checks.Standard{{ID: "cis-docker-1.6.0"}},
		Assets:    []assets.Asset{host, c1, c2},
		Results: []results.Result{
			{ItemID: 10, AssetID: 1, Verdict: checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed}, CheckedAt: at},
			{ItemID: 11, AssetID: 2, Verdict: checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultFailed, Evidence: ev}, CheckedAt: at},
			{ItemID: 12, AssetID: 2, Verdict: checks.Failed("could not read\n the file"), CheckedAt: at},
		},
		Failures: []results.AssetFailure{{AssetID: 3, Reason: "inspect refused", CheckTime: at}},
	}
}

// An upload's document written result by result as a scan hands them
// over decodes as the upload NewScanUpload makes of the whole report,
// idempotency key included; its size and SHA-256 are those of its bytes,
// and it reads the same for every attempt. Its file is gone from the
// directory as soon as it is created.
func TestUploadBodyDecodesAsTheWholeUpload(t *testing.T) {
	rep := uploadReport()
	scope := store.Scope{Node: "node-1", Types: []assets.Type{assets.Container}}
	want := api.NewScanUpload(scope, rep)
	want.IdempotencyKey = "scan/0123"

	for _, tc := range []struct {
		name  string
		parts [][]results.Result // handed over before Finish; the rest stay in the report
	}{
		{"streamed, one asset at a time", [][]results.Result{rep.Results[:1], rep.Results[1:]}},
		{"streamed, an asset without results", [][]results.Result{rep.Results[:1], nil, rep.Results[1:]}},
		{"whole report at Finish", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b, err := api.NewUploadBody(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if names, _ := os.ReadDir(dir); len(names) != 0 {
				t.Errorf("the upload's document is a file in its directory: %v", names)
			}
			streamed := *rep
			if tc.parts != nil {
				for _, p := range tc.parts {
					b.Add(p)
				}
				streamed.Results = nil
			}
			if err := b.Finish(scope, &streamed, want.IdempotencyKey); err != nil {
				t.Fatal(err)
			}
			var first []byte
			for attempt := range 2 {
				r, size := b.Reader()
				doc, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(doc)) != size {
					t.Errorf("attempt %d: read %d bytes, size says %d", attempt, len(doc), size)
				}
				if sum := sha256.Sum256(doc); b.SHA256() != hex.EncodeToString(sum[:]) {
					t.Errorf("attempt %d: SHA256() = %s, not the document's", attempt, b.SHA256())
				}
				if attempt == 0 {
					first = doc
				} else if !bytes.Equal(doc, first) {
					t.Errorf("the second read differs from the first")
				}
			}
			dec := json.NewDecoder(bytes.NewReader(first))
			dec.DisallowUnknownFields() // as the daemon decodes an upload
			var got api.ScanUpload
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("decoding the document: %v\n%s", err, first)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the document decodes as\n%+v\nwant\n%+v", got, want)
			}
			if err := b.Finish(scope, &streamed, ""); err == nil {
				t.Error("a second Finish is accepted")
			}
		})
	}
}

// The document's members after its results are ScanUpload's other fields,
// with the same names, types and tags: a field added to the upload cannot
// be left out of the streamed document.
func TestUploadBodyWritesEveryField(t *testing.T) {
	rep := uploadReport()
	b, err := api.NewUploadBody(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Finish(store.Scope{}, rep, "key"); err != nil {
		t.Fatal(err)
	}
	r, _ := b.Reader()
	var members map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&members); err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[api.ScanUpload]()
	for i := range typ.NumField() {
		name, _, _ := bytes.Cut([]byte(typ.Field(i).Tag.Get("json")), []byte(","))
		if _, ok := members[string(name)]; !ok {
			t.Errorf("the document has no member %s (ScanUpload.%s)", name, typ.Field(i).Name)
		}
	}
	if len(members) != typ.NumField() {
		t.Errorf("the document has %d members, ScanUpload %d fields", len(members), typ.NumField())
	}
}
