package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// exportFixture is one fixed export: two hosts, a container and an image,
// with a result of every outcome (passed, failed, ignored, manual, not
// applicable, check failed), evidence holding commas, quotes, newlines and
// characters JSON would HTML-escape, waivers, a summary and a trend. Every
// time is fixed.
func exportFixture() *report.SliceSource {
	at := func(minute int) time.Time {
		return time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC).Add(time.Duration(minute) * time.Minute)
	}
	api := func(minute int) string { return at(minute).Format(time.DateTime) }
	const host1, host2, web, img = 4503599627370001, 4503599627370004, 4503599627370002, 4503599627370003
	row := func(item uint64, number, title, category, std string, risk checks.Risk, asset uint64, name string, t assets.Type, node string,
		minute int, task int64, fix string) results.Row {
		return results.Row{ItemID: item, Number: number, Title: title, Category: category, StandardID: std, Risk: risk,
			AssetID: asset, AssetName: name, AssetType: t, NodeName: node, Status: checks.CheckFinished, CheckedAt: api(minute), TaskID: task, Remediation: fix}
	}
	var rows []results.Row
	add := func(r results.Row, result checks.CheckResult, reason string, ev ...checks.Evidence) {
		r.Result, r.Reason, r.Evidence = result, reason, ev
		rows = append(rows, r)
	}
	const cis, own = "cis-docker-1.6.0", "baseline-docker-1.0"
	add(row(100119, "1.2.1", "Ensure the container host has been Hardened", "Host Configuration", cis, checks.RiskLow, host1, "node-1", assets.Host, "node-1", 1, 42,
		"Harden the host."), checks.ResultManual, "manual review required; evidence collected",
		checks.Evidence{Source: "/etc/os-release", Subject: "PRETTY_NAME", Actual: "Debian GNU/Linux 13 (trixie)", Expected: "reviewed by hand"})
	add(row(100202, "2.2", "Ensure network traffic is restricted between containers on the default bridge", "Docker daemon configuration", cis, checks.RiskMedium,
		host1, "node-1", assets.Host, "node-1", 1, 42, `Add "icc": false to /etc/docker/daemon.json and restart the daemon.`), checks.ResultPassed, "",
		checks.Evidence{Source: "/etc/docker/daemon.json", Subject: "{.icc}", Actual: "false", Expected: "'{.icc}' is equal to 'false'", Passed: true})
	add(row(100702, "7.2", "Ensure that swarm services are bound to a specific host interface", "Docker Swarm Configuration", cis, checks.RiskMedium,
		host1, "node-1", assets.Host, "node-1", 1, 42, "Re-initialise the swarm with --listen-addr."), checks.ResultNotApplicable, "swarm mode is not active",
		checks.Evidence{Source: "docker info", Subject: "{.Swarm.LocalNodeState}", Actual: "inactive", Expected: "'{.Swarm.LocalNodeState}' is equal to 'active'"})
	add(row(100202, "2.2", "Ensure network traffic is restricted between containers on the default bridge", "Docker daemon configuration", cis, checks.RiskMedium,
		host2, "node-2", assets.Host, "node-2", 3, 42, `Add "icc": false to /etc/docker/daemon.json and restart the daemon.`), checks.ResultPassed, "",
		checks.Evidence{Source: "/etc/docker/daemon.json", Subject: "{.icc}", Actual: "false", Expected: "'{.icc}' is equal to 'false'", Passed: true},
		checks.Evidence{Source: "docker info", Subject: "{.BridgeNfIptables}", Actual: "true", Expected: "'{.BridgeNfIptables}' is equal to 'true'", Passed: true})
	add(row(100505, "5.5", "Ensure that privileged containers are not used", "Container Runtime", cis, checks.RiskCritical,
		web, "web-1", assets.Container, "node-1", 2, 42, "Remove --privileged."), checks.ResultFailed, "",
		checks.Evidence{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "true", Expected: "'{.HostConfig.Privileged}' is equal to 'false'"})
	add(row(100506, "5.6", "Ensure sensitive host system directories are not mounted on containers", "Container Runtime", cis, checks.RiskHigh,
		web, "web-1", assets.Container, "node-1", 2, 42, "Stop the container && run it again without -v /etc:/etc, or mount a <copy>."), checks.ResultFailed, "",
		checks.Evidence{Source: "container inspect", Subject: "{.Mounts[*].Source}", Actual: "[/srv/www, /etc]", Expected: `'{.Mounts[*].Source}' does not match "/etc"`},
		checks.Evidence{Source: "container inspect", Subject: "{.Config.Labels.note}", Actual: "line one\nline two, \"quoted\"", Expected: "'{.Config.Labels.note}' is set", Passed: true},
		checks.Evidence{Source: "container inspect", Subject: "{.HostConfig.Binds}", Actual: "/etc:/etc:ro\n# not a comment", Expected: "'{.HostConfig.Binds}' is not set"})
	add(row(300009, "B3.1", "Ensure containers do not run as the root user", "Containers", own, checks.RiskHigh,
		web, "web-1", assets.Container, "node-1", 2, 42, "Run the container with --user or set USER in the image."), checks.ResultFailed, "",
		checks.Evidence{Source: "container inspect", Subject: "{.HostConfig.UsernsMode}", Actual: "not set", Expected: "'{.HostConfig.UsernsMode}' is not set", Passed: true},
		checks.Evidence{Source: "container inspect", Subject: "{.Config.User}", Actual: "not set", Expected: "'{.Config.User}' is set"})
	rows[len(rows)-1].Ignored = true
	add(row(100401, "4.1", "Ensure that a user for the container has been created", "Container Images and Build File Configuration", cis, checks.RiskHigh,
		img, "nginx:1.25", assets.Image, "node-1", 4, 41, "Add a USER instruction to the Dockerfile."), "",
		"Error response from daemon: No such image: sha256:9b1d2c3e4f5a, removed during the scan")
	rows[len(rows)-1].Status = checks.CheckFailed

	meta := report.Meta{
		SchemaVersion: report.ExportSchemaVersion, Tool: report.Tool{Name: "baseline", Version: "test"},
		GeneratedAt: at(60), By: report.ByAssetGroup, TaskIDs: []int64{41, 42}, From: at(1), To: at(4),
		Standards: []report.StandardInfo{
			{ID: own, Name: "Baseline Docker best practices", Version: "1.0", Description: "Our own best practices beyond CIS", ItemCount: 12},
			{ID: cis, Name: "CIS Docker Benchmark", Version: "1.6.0", Description: "CIS Docker Benchmark v1.6.0", ItemCount: 117},
		},
		Hosts: []string{"node-1", "node-2"},
		Summary: []store.AssetSummary{
			{AssetType: assets.Host, CheckStatus: checks.CheckFinished, PassedPolicyItemCount: 1, TotalPolicyItemCount: 3, OpenPolicyItemCount: 3,
				PassedAssetCount: 2, AssetPassedRate: 100, LastCheckTime: api(3), DetectHostCount: 2, AssetCount: 2, CheckCostTime: 1.25},
			{AssetType: assets.Container, CheckStatus: checks.CheckFinished, FailedPolicyItemCount: 2, FailedCriticalPolicyItemCount: 1,
				FailedHighRiskPolicyItemCount: 1, IgnoredPolicyItemCount: 1, TotalPolicyItemCount: 3, OpenPolicyItemCount: 3, FailedAssetCount: 1,
				LastCheckTime: api(2), DetectHostCount: 1, AssetCount: 1, CheckProgress: 100},
			{AssetType: assets.Image, CheckStatus: checks.CheckFinished, TotalPolicyItemCount: 1, OpenPolicyItemCount: 1, ScanFailedAssetCount: 1,
				LastCheckTime: api(4), DetectHostCount: 1, AssetCount: 1},
		},
		Trend: []report.TrendPoint{
			{TaskID: 40, FinishedAt: at(-1440), AssetType: assets.Container, PassRate: 0, Failed: 1, Passed: 0},
			{TaskID: 42, FinishedAt: at(5), AssetType: assets.Container, PassRate: 0, Failed: 1, Passed: 0},
			{TaskID: 42, FinishedAt: at(5), AssetType: assets.Host, PassRate: 100, Failed: 0, Passed: 2},
		},
		Waivers: []store.WhitelistEntry{
			{ID: 7, ItemID: 300009, ItemName: "Ensure containers do not run as the root user", StandardID: own, StandardName: "Baseline Docker best practices",
				AssetType: assets.Container, AssetIDs: []uint64{web}, AssetCount: 1, Reason: "legacy image, \"root\" needed until v2, see TICKET-12",
				CreatedBy: "alice", InsertTime: api(-2880), UpdateTime: api(-2880), ExpiresAt: "2025-06-30 00:00:00"},
			{ID: 8, ItemID: 100119, ItemName: "Ensure the container host has been Hardened", StandardID: cis, StandardName: "CIS Docker Benchmark",
				AssetType: assets.Host, AllAssets: true, Reason: "hardening is audited yearly", CreatedBy: "bob",
				InsertTime: api(-10080), UpdateTime: api(-4320), ExpiresAt: "2025-01-01 00:00:00", Lapsed: true},
		},
		ResultCount: len(rows),
	}
	return &report.SliceSource{M: meta, R: rows}
}

// encode runs an encoder over a source and returns the file and the
// integrity it filled in.
func exportTo(t testing.TB, enc report.Encoder, src report.Source) ([]byte, *report.Integrity) {
	t.Helper()
	var buf bytes.Buffer
	in := report.NewIntegrity(&buf)
	if err := enc.Encode(context.Background(), &buf, src, in); err != nil {
		t.Fatalf("%s: %v", enc.Format(), err)
	}
	return buf.Bytes(), in
}

// exportDoc is the JSON export read back.
type exportDoc struct {
	SchemaVersion string           `json:"SchemaVersion"`
	Meta          report.Meta      `json:"Meta"`
	Results       []report.JSONRow `json:"Results"`
	Integrity     string           `json:"Integrity"`
}

func TestExportJSONGolden(t *testing.T) {
	out, _ := exportTo(t, report.JSONEncoder{}, exportFixture())
	if !json.Valid(out) {
		t.Fatalf("invalid JSON:\n%s", out)
	}
	golden(t, "export.json.golden", out)
}

func TestExportJSONFormat(t *testing.T) {
	var e report.Encoder = report.JSONEncoder{}
	if e.Format() != "json" || e.Ext() != ".json" {
		t.Errorf("Format, Ext = %q, %q", e.Format(), e.Ext())
	}
}

// The document reads back into the export model: the same meta, the same
// rows in the same order, and the integrity field last.
func TestExportJSONReadBack(t *testing.T) {
	src := exportFixture()
	out, in := exportTo(t, report.JSONEncoder{}, src)

	var doc exportDoc
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != report.ExportSchemaVersion {
		t.Errorf("SchemaVersion = %q", doc.SchemaVersion)
	}
	if !reflect.DeepEqual(doc.Meta, src.M) {
		t.Errorf("Meta read back differs:\n got %+v\nwant %+v", doc.Meta, src.M)
	}
	if len(doc.Results) != len(src.R) || doc.Meta.ResultCount != len(src.R) || in.Rows() != len(src.R) {
		t.Fatalf("%d results, ResultCount %d, %d rows hashed; want %d", len(doc.Results), doc.Meta.ResultCount, in.Rows(), len(src.R))
	}
	for i, want := range src.R {
		got := doc.Results[i]
		if want.Evidence == nil {
			want.Evidence = []checks.Evidence{} // written as [], never null
		}
		if !reflect.DeepEqual(got, report.NewJSONRow(want)) {
			t.Errorf("row %d read back differs:\n got %+v\nwant %+v", i, got, want)
		}
	}
	want := report.ResultsMarker + in.ResultsDigest() + " " + report.ContentMarker
	if !strings.HasPrefix(doc.Integrity, want) {
		t.Errorf("Integrity = %q, want it to start with %q", doc.Integrity, want)
	}
	// Integrity is the last field and the trailer the last bytes.
	if !regexp.MustCompile(`\],\n  "Integrity": "baseline-results-sha256=[0-9a-f]{64} baseline-content-sha256=[0-9a-f]{64}"\n\}\n$`).Match(out) {
		t.Errorf("the document does not end with the Integrity field:\n%s", out[max(0, len(out)-300):])
	}
	// No HTML escaping: evidence reads as collected.
	if !bytes.Contains(out, []byte("&& run it again")) || !bytes.Contains(out, []byte("<copy>")) {
		t.Error("HTML characters were escaped")
	}
	// One row per line.
	if n := bytes.Count(out, []byte("\n    {\"CustomerPolicyItemId\":")); n != len(src.R) {
		t.Errorf("%d rows start a line, want %d", n, len(src.R))
	}
}

// An export without rows, or with nil lists in its meta, is still a valid
// document: lists are [], never null.
func TestExportJSONEmpty(t *testing.T) {
	src := &report.SliceSource{M: report.Meta{By: report.ByItemGroup, GeneratedAt: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)}}
	out, in := exportTo(t, report.JSONEncoder{}, src)
	if in.Rows() != 0 {
		t.Errorf("%d rows", in.Rows())
	}
	if !bytes.Contains(out, []byte(`"Results": [],`)) || bytes.Contains(out, []byte("null")) {
		t.Errorf("empty export:\n%s", out)
	}
	if err := validateExport(t, out); err != nil {
		t.Error(err)
	}
	if _, _, ok, err := report.VerifyContent(out); !ok || err != nil {
		t.Errorf("VerifyContent = %v, %v", ok, err)
	}
}

// ---- integrity, shared by both formats ----

func TestExportIntegrity(t *testing.T) {
	for _, enc := range []report.Encoder{report.JSONEncoder{}, report.CSVEncoder{}} {
		t.Run(enc.Format(), func(t *testing.T) { checkExportIntegrity(t, enc) })
	}
}

// checkExportIntegrity checks an encoder's digests: the file verifies, every
// one-byte edit breaks it, the results digest depends on the rows only.
func checkExportIntegrity(t *testing.T, enc report.Encoder) {
	src := exportFixture()
	out, in := exportTo(t, enc, src)
	results, content, ok, err := report.VerifyContent(out)
	if err != nil || !ok {
		t.Fatalf("VerifyContent = %v, %v", ok, err)
	}
	if results != in.ResultsDigest() {
		t.Errorf("results digest in the file %s, computed %s", results, in.ResultsDigest())
	}
	if n := strings.Count(string(out), report.ContentMarker+content); n != 1 {
		t.Errorf("the content digest appears %d times", n)
	}

	// A one-byte edit anywhere, the digests and markers included, fails.
	for i := range out {
		edited := bytes.Clone(out)
		edited[i] ^= 0x01
		if _, _, ok, _ := report.VerifyContent(edited); ok {
			t.Fatalf("flipping byte %d (%q in %q) still verifies", i, out[i], out[max(0, i-20):min(len(out), i+20)])
		}
	}
	// So does a row removed, or bytes appended after the trailer.
	lines := strings.SplitAfter(string(out), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "100505") })
	if i < 0 {
		t.Fatal("no row of item 100505")
	}
	if _, _, ok, _ := report.VerifyContent([]byte(strings.Join(slices.Delete(lines, i, i+1), ""))); ok {
		t.Error("a row removed still verifies")
	}
	if _, _, ok, _ := report.VerifyContent(append(bytes.Clone(out), '\n')); ok {
		t.Error("a byte appended after the trailer still verifies")
	}

	// The same rows give the same results digest; the other format too.
	again, in2 := exportTo(t, enc, exportFixture())
	if in2.ResultsDigest() != in.ResultsDigest() || !bytes.Equal(again, out) {
		t.Error("a second export of the same rows differs")
	}
	other := report.Encoder(report.CSVEncoder{})
	if enc.Format() == "csv" {
		other = report.JSONEncoder{}
	}
	if _, in3 := exportTo(t, other, exportFixture()); in3.ResultsDigest() != in.ResultsDigest() {
		t.Errorf("%s and %s exports of the same rows have different results digests", enc.Format(), other.Format())
	}
	// Meta does not enter the results digest.
	m := exportFixture()
	m.M.GeneratedAt = m.M.GeneratedAt.Add(time.Hour)
	if _, in4 := exportTo(t, enc, m); in4.ResultsDigest() != in.ResultsDigest() {
		t.Error("the generation time changed the results digest")
	}

	// One row's result changed: another results digest.
	changed := exportFixture()
	changed.R[4].Result = checks.ResultPassed
	if _, in5 := exportTo(t, enc, changed); in5.ResultsDigest() == in.ResultsDigest() {
		t.Error("a changed result left the results digest as it was")
	}
	// One evidence value changed, or the order of two rows: another one.
	changed = exportFixture()
	changed.R[5].Evidence[0].Actual = "[/srv/www]"
	if _, in6 := exportTo(t, enc, changed); in6.ResultsDigest() == in.ResultsDigest() {
		t.Error("changed evidence left the results digest as it was")
	}
	changed = exportFixture()
	changed.R[0], changed.R[1] = changed.R[1], changed.R[0]
	if _, in7 := exportTo(t, enc, changed); in7.ResultsDigest() == in.ResultsDigest() {
		t.Error("reordered rows left the results digest as it was")
	}
}

// ---- errors ----

// exportFailWriter fails once n bytes have been written.
type exportFailWriter struct{ n int }

var errExportDiskFull = errors.New("disk full")

func (w *exportFailWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errExportDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// exportErrSource fails after some rows.
type exportErrSource struct {
	report.SliceSource
	after int
}

var errExportStore = errors.New("store went away")

func (s *exportErrSource) Rows(ctx context.Context, fn func(results.Row) error) error {
	for i, r := range s.R {
		if i == s.after {
			return errExportStore
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func TestExportErrors(t *testing.T) {
	for _, enc := range []report.Encoder{report.JSONEncoder{}, report.CSVEncoder{}} {
		t.Run(enc.Format(), func(t *testing.T) {
			full, _ := exportTo(t, enc, exportFixture())
			// The writer fails: at the start, in the middle, in the trailer.
			for _, n := range []int{0, len(full) / 2, len(full) - 10} {
				w := &exportFailWriter{n: n}
				err := enc.Encode(context.Background(), w, exportFixture(), report.NewIntegrity(w))
				if !errors.Is(err, errExportDiskFull) {
					t.Errorf("writer failing after %d bytes: err = %v", n, err)
				}
			}
			// The source fails.
			src := &exportErrSource{SliceSource: *exportFixture(), after: 3}
			var buf bytes.Buffer
			if err := enc.Encode(context.Background(), &buf, src, report.NewIntegrity(&buf)); !errors.Is(err, errExportStore) {
				t.Errorf("source failing: err = %v", err)
			}
			if bytes.Contains(buf.Bytes(), []byte(report.ContentMarker)) {
				t.Error("a failed export has an integrity trailer")
			}
			// The export is cancelled.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			buf.Reset()
			if err := enc.Encode(ctx, &buf, exportFixture(), report.NewIntegrity(&buf)); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled: err = %v", err)
			}
		})
	}
}

// ---- the schema ----

// schema is report/schema/export.schema.json, as far as the tests use it.
type jsonSchema struct {
	Schema      string                 `json:"$schema"`
	Ref         string                 `json:"$ref"`
	Type        string                 `json:"type"`
	Format      string                 `json:"format"`
	Pattern     string                 `json:"pattern"`
	Enum        []any                  `json:"enum"`
	Const       any                    `json:"const"`
	Minimum     *float64               `json:"minimum"`
	Properties  map[string]*jsonSchema `json:"properties"`
	Required    []string               `json:"required"`
	Additional  *bool                  `json:"additionalProperties"`
	Items       *jsonSchema            `json:"items"`
	Defs        map[string]*jsonSchema `json:"$defs"`
	Title       string                 `json:"title"`
	Description string                 `json:"description"`
}

// exportSchemaKeywords are the keywords the test validator implements (or, for
// annotations, may ignore); the schema must use no other.
var exportSchemaKeywords = []string{"$schema", "$ref", "$defs", "type", "format", "pattern", "enum", "const", "minimum",
	"properties", "required", "additionalProperties", "items", "title", "description"}

func loadExportSchema(t testing.TB) *jsonSchema {
	t.Helper()
	data, err := os.ReadFile("schema/export.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s jsonSchema
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a keyword the validator does not know fails here
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("schema/export.schema.json: %v (the test validator knows %v)", err, exportSchemaKeywords)
	}
	return &s
}

// resolve follows a "#/$defs/NAME" reference.
func (root *jsonSchema) resolve(s *jsonSchema) (*jsonSchema, string) {
	name := ""
	for s.Ref != "" {
		name = strings.TrimPrefix(s.Ref, "#/$defs/")
		d, ok := root.Defs[name]
		if !ok {
			panic("unresolved $ref " + s.Ref)
		}
		s = d
	}
	return s, name
}

func TestExportSchemaIsDraft202012(t *testing.T) {
	s := loadExportSchema(t)
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q", s.Schema)
	}
	if s.Properties["SchemaVersion"].Const != report.ExportSchemaVersion {
		t.Errorf("the schema's SchemaVersion is %v, the code's %q", s.Properties["SchemaVersion"].Const, report.ExportSchemaVersion)
	}
	// Every object forbids properties it does not list; every $ref resolves.
	var walk func(path string, s *jsonSchema)
	root := s
	walk = func(path string, s *jsonSchema) {
		if s.Ref != "" {
			if _, ok := root.Defs[strings.TrimPrefix(s.Ref, "#/$defs/")]; !ok || !strings.HasPrefix(s.Ref, "#/$defs/") {
				t.Errorf("%s: $ref %q does not resolve", path, s.Ref)
			}
		}
		if s.Type == "object" && (s.Additional == nil || *s.Additional) {
			t.Errorf("%s: object without \"additionalProperties\": false", path)
		}
		for _, r := range s.Required {
			if s.Properties[r] == nil {
				t.Errorf("%s: required %q is not a property", path, r)
			}
		}
		for name, p := range s.Properties {
			walk(path+"."+name, p)
		}
		if s.Items != nil {
			walk(path+"[]", s.Items)
		}
		for name, d := range s.Defs {
			walk("$defs."+name, d)
		}
	}
	walk("$", s)
}

// The schema and the Go types do not drift: each object of the schema has
// exactly the JSON fields of its Go type, those without omitempty are
// required, the others not, and the JSON types agree.
func TestExportSchemaMatchesTypes(t *testing.T) {
	root := loadExportSchema(t)
	types := map[string]reflect.Type{
		"":               reflect.TypeFor[exportDoc](),
		"Meta":           reflect.TypeFor[report.Meta](),
		"Row":            reflect.TypeFor[report.JSONRow](),
		"Evidence":       reflect.TypeFor[checks.Evidence](),
		"AssetSummary":   reflect.TypeFor[store.AssetSummary](),
		"WhitelistEntry": reflect.TypeFor[store.WhitelistEntry](),
		"TrendPoint":     reflect.TypeFor[report.TrendPoint](),
		"StandardInfo":   reflect.TypeFor[report.StandardInfo](),
		"Tool":           reflect.TypeFor[report.Tool](),
	}
	for name, typ := range types {
		s := root
		if name != "" {
			s = root.Defs[name]
		}
		if s == nil {
			t.Errorf("the schema has no $defs/%s (for %s)", name, typ)
			continue
		}
		fields := goJSONFields(typ)
		var goNames, goRequired []string
		for _, f := range fields {
			goNames = append(goNames, f.name)
			if !f.omitempty {
				goRequired = append(goRequired, f.name)
			}
			p := s.Properties[f.name]
			if p == nil {
				t.Errorf("%s.%s (%s) is not a property of the schema's %s", typ, f.field, f.name, schemaDefName(name))
				continue
			}
			checkJSONType(t, root, types, fmt.Sprintf("%s.%s", schemaDefName(name), f.name), f.typ, p)
		}
		for p := range s.Properties {
			if !slices.Contains(goNames, p) {
				t.Errorf("the schema's %s.%s is not a JSON field of %s", schemaDefName(name), p, typ)
			}
		}
		sort.Strings(goRequired)
		required := slices.Sorted(slices.Values(s.Required))
		if !slices.Equal(goRequired, required) {
			t.Errorf("%s: required %v, but the fields of %s without omitempty are %v", schemaDefName(name), required, typ, goRequired)
		}
	}
	// The enums are the code's.
	enum := func(def string, want []string) {
		var got []string
		for _, v := range root.Defs[def].Enum {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("$defs/%s enum %q, the code has %q", def, got, want)
		}
	}
	var ts, rs []string
	for _, a := range assets.Types {
		ts = append(ts, string(a))
	}
	for _, r := range checks.Risks {
		rs = append(rs, string(r))
	}
	enum("AssetType", ts)
	enum("RiskLevel", rs)
	enum("CheckStatus", []string{string(checks.CheckInit), string(checks.CheckRunning), string(checks.CheckFinished), string(checks.CheckFailed)})
	enum("CheckResult", []string{string(checks.ResultPassed), string(checks.ResultFailed), string(checks.ResultManual), string(checks.ResultNotApplicable), ""})
	var by []string
	for _, v := range root.Defs["Meta"].Properties["By"].Enum {
		by = append(by, v.(string))
	}
	if !slices.Equal(by, []string{string(report.ByAssetGroup), string(report.ByItemGroup)}) {
		t.Errorf("Meta.By enum %q", by)
	}
}

func schemaDefName(name string) string {
	if name == "" {
		return "(document)"
	}
	return name
}

// goJSONField is one field as encoding/json writes it.
type goJSONField struct {
	field, name string
	typ         reflect.Type
	omitempty   bool
}

// goJSONFields lists a struct's JSON fields as encoding/json sees them:
// exported fields, json tag names, "-" skipped, untagged embedded structs
// flattened.
func goJSONFields(t reflect.Type) []goJSONField {
	var out []goJSONField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, goJSONFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
		out = append(out, goJSONField{field: f.Name, name: name, typ: f.Type, omitempty: omit})
	}
	return out
}

// checkJSONType checks that a Go type encodes to what a property allows.
func checkJSONType(t *testing.T, root *jsonSchema, types map[string]reflect.Type, path string, typ reflect.Type, p *jsonSchema) {
	t.Helper()
	s, def := root.resolve(p)
	want := ""
	switch {
	case typ == reflect.TypeFor[time.Time]():
		want = "string"
		if s.Format != "date-time" {
			t.Errorf("%s: a time.Time, but the schema's format is %q", path, s.Format)
		}
	case typ.Kind() == reflect.String:
		want = "string"
	case typ.Kind() == reflect.Bool:
		want = "boolean"
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		want = "integer"
		if typ.Kind() >= reflect.Uint && s.Minimum == nil {
			t.Errorf("%s: unsigned, but the schema has no minimum", path)
		}
	case typ.Kind() == reflect.Float32 || typ.Kind() == reflect.Float64:
		want = "number"
	case typ.Kind() == reflect.Slice:
		want = "array"
		if s.Items == nil {
			t.Errorf("%s: an array without items", path)
		} else {
			checkJSONType(t, root, types, path+"[]", typ.Elem(), s.Items)
		}
	case typ.Kind() == reflect.Struct:
		want = "object"
		if types[def] != typ {
			t.Errorf("%s: a %s, but the schema refers to $defs/%q", path, typ, def)
		}
	default:
		t.Errorf("%s: no JSON type for %s", path, typ)
	}
	got := s.Type
	if got == "" && s.Const != nil {
		got = "string"
	}
	if got != want {
		t.Errorf("%s: the Go type %s encodes as %s, the schema says %q", path, typ, want, got)
	}
}

// validate checks a JSON document against the schema, with the keywords
// the schema uses (exportSchemaKeywords).
func validateExport(t testing.TB, data []byte) error {
	t.Helper()
	root := loadExportSchema(t)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	var errs []error
	root.validate(root, "$", v, &errs)
	return errors.Join(errs...)
}

func (root *jsonSchema) validate(s *jsonSchema, path string, v any, errs *[]error) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	s, _ = root.resolve(s)
	switch v.(type) {
	case map[string]any, []any:
		if s.Const != nil || s.Enum != nil {
			fail("not a scalar")
			return
		}
	}
	if s.Const != nil && v != s.Const {
		fail("%v is not the constant %v", v, s.Const)
	}
	if s.Enum != nil && !slices.Contains(s.Enum, v) {
		fail("%v is not one of %v", v, s.Enum)
	}
	switch s.Type {
	case "":
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			fail("not an object")
			return
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				fail("no %q", r)
			}
		}
		for k, val := range obj {
			p, ok := s.Properties[k]
			if !ok {
				if s.Additional != nil && !*s.Additional {
					fail("unexpected property %q", k)
				}
				continue
			}
			root.validate(p, path+"."+k, val, errs)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			fail("not an array")
			return
		}
		for i, e := range arr {
			root.validate(s.Items, fmt.Sprintf("%s[%d]", path, i), e, errs)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("not a string")
			return
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			fail("%q does not match %s", str, s.Pattern)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not a date-time", str)
			}
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			fail("not a number")
			return
		}
		if s.Type == "integer" && strings.ContainsAny(n.String(), ".eE") {
			fail("%s is not an integer", n)
		}
		f, _ := n.Float64()
		if s.Minimum != nil && f < *s.Minimum {
			fail("%s is below %v", n, *s.Minimum)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("not a boolean")
		}
	default:
		fail("the validator does not know type %q", s.Type)
	}
}

// The exported document validates against the schema; so do an empty one
// and one limited to an asset type and ids; and the validator does reject.
func TestExportJSONValidatesAgainstSchema(t *testing.T) {
	out, _ := exportTo(t, report.JSONEncoder{}, exportFixture())
	if err := validateExport(t, out); err != nil {
		t.Fatalf("the export does not validate:\n%v", err)
	}
	// Structurally: the top-level keys, and each result has exactly the
	// schema's Row properties.
	root := loadExportSchema(t)
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(doc)), slices.Sorted(slices.Values(root.Required)); !slices.Equal(got, want) {
		t.Errorf("top-level keys %v, schema requires %v", got, want)
	}
	var results []map[string]json.RawMessage
	if err := json.Unmarshal(doc["Results"], &results); err != nil {
		t.Fatal(err)
	}
	rowProps := slices.Sorted(maps.Keys(root.Defs["Row"].Properties))
	for i, r := range results {
		if got := slices.Sorted(maps.Keys(r)); !slices.Equal(got, rowProps) {
			t.Errorf("result %d has keys %v, the schema's Row %v", i, got, rowProps)
		}
	}

	limited := exportFixture()
	limited.M.AssetType, limited.M.IDs = assets.Container, []uint64{4503599627370002}
	out, _ = exportTo(t, report.JSONEncoder{}, limited)
	if err := validateExport(t, out); err != nil {
		t.Errorf("a limited export does not validate:\n%v", err)
	}

	// The validator rejects: an unknown row field, a missing one, a bad enum.
	for _, bad := range []struct{ from, to string }{
		{`"FixSuggestion":`, `"Extra":1,"FixSuggestion":`},
		{`"TaskId":42,`, ``},
		{`"RISK_HIGH"`, `"RISK_SEVERE"`},
		{`"CustomerAssetId":4503599627370002`, `"CustomerAssetId":-1`},
		{`"By": "asset"`, `"By": "host"`},
	} {
		broken := bytes.Replace(out, []byte(bad.from), []byte(bad.to), 1)
		if bytes.Equal(broken, out) {
			t.Fatalf("%q not in the export", bad.from)
		}
		if err := validateExport(t, broken); err == nil {
			t.Errorf("replacing %s by %s still validates", bad.from, bad.to)
		}
	}
}

// ---- memory ----

// synthExportSource makes n rows on the fly, never holding them.
type synthExportSource struct {
	n       int
	maxHeap uint64 // the largest heap seen while streaming
}

func (s *synthExportSource) Meta() report.Meta {
	return report.Meta{SchemaVersion: report.ExportSchemaVersion, Tool: report.Tool{Name: "baseline", Version: "bench"},
		GeneratedAt: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC), By: report.ByAssetGroup, ResultCount: s.n}
}

func (s *synthExportSource) Rows(ctx context.Context, fn func(results.Row) error) error {
	evidence := []checks.Evidence{
		{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "true", Expected: "'{.HostConfig.Privileged}' is equal to 'false'"},
		{Source: "container inspect", Subject: "{.Config.User}", Actual: "app, \"uid\" 1000", Expected: "'{.Config.User}' is set", Passed: true},
	}
	var ms runtime.MemStats
	for i := range s.n {
		if i%20000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			runtime.ReadMemStats(&ms)
			s.maxHeap = max(s.maxHeap, ms.HeapAlloc)
		}
		r := results.Row{ItemID: 100000 + uint64(i%120), Number: "5.5", Title: "Ensure that privileged containers are not used",
			Category: "Container Runtime", StandardID: "cis-docker-1.6.0", Risk: checks.RiskCritical,
			AssetID: 4503599627370000 + uint64(i/120), AssetName: "web-1", AssetType: assets.Container, NodeName: "node-1",
			Status: checks.CheckFinished, Result: checks.ResultFailed, Evidence: evidence, CheckedAt: "2025-03-14 09:26:53",
			TaskID: 42, Remediation: "Remove --privileged."}
		if i%3 == 0 {
			r.Result, r.Evidence = checks.ResultPassed, evidence[1:]
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

const exportBenchRows = 200_000

// benchExportStream exports exportBenchRows synthesized rows to io.Discard and reports
// bytes written per op and the largest heap seen while streaming.
func benchExportStream(b *testing.B, enc report.Encoder) {
	b.ReportAllocs()
	src := &synthExportSource{n: exportBenchRows}
	var written int64
	for b.Loop() {
		cw := &exportCountWriter{w: io.Discard}
		in := report.NewIntegrity(cw)
		if err := enc.Encode(context.Background(), cw, src, in); err != nil {
			b.Fatal(err)
		}
		if in.Rows() != exportBenchRows {
			b.Fatalf("%d rows", in.Rows())
		}
		written = cw.n
	}
	b.ReportMetric(float64(written)/(1<<20), "MB-written/op")
	b.ReportMetric(float64(src.maxHeap)/(1<<20), "max-heap-MB")
}

type exportCountWriter struct {
	w io.Writer
	n int64
}

func (c *exportCountWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}

func BenchmarkExportJSONLarge(b *testing.B) { benchExportStream(b, report.JSONEncoder{}) }
