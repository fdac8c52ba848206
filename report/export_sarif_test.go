package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// findingFixture is the fixed export behind the SARIF and JUnit goldens:
// two containers and three items, one row for each outcome (passed,
// failed, ignored, manual, not applicable, check failed), waivers that
// must be told apart by asset, and evidence with <, &, quotes, a tab, a
// line break and a control character. Rows are in asset order.
func findingFixture() *report.SliceSource {
	at := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	cis := report.StandardInfo{ID: "cis-docker-1.6.0", Name: "CIS Docker Benchmark", Version: "1.6.0", Description: "CIS Docker Benchmark v1.6.0", ItemCount: 2}
	own := report.StandardInfo{ID: "baseline-docker-1.0", Name: "Baseline Docker best practices", Version: "1.0", Description: "Our own best practices", ItemCount: 1}
	type item struct {
		id                                uint64
		number, title, category, std, fix string
		risk                              checks.Risk
	}
	privileged := item{100505, "5.5", "Ensure that privileged containers are not used", "Container Runtime", cis.ID, "Remove --privileged.", checks.RiskCritical}
	mounts := item{100506, "5.6", "Ensure sensitive host system directories are not mounted on containers", "Container Runtime", cis.ID, "Do not mount sensitive host directories.", checks.RiskMedium}
	root := item{300009, "B3.1", "Ensure containers do not run as the root user", "Containers", own.ID, "Run the container with --user or set USER in the image.", checks.RiskLow}
	type asset struct {
		id         uint64
		name, node string
	}
	web := asset{4503599627370002, "web-1", "node-1"}
	db := asset{4503599627370004, "db-1", "node-2"}
	row := func(it item, a asset, sec int, status checks.CheckStatus, result checks.CheckResult, ignored bool, reason string, ev ...checks.Evidence) results.Row {
		return results.Row{ItemID: it.id, Number: it.number, Title: it.title, Category: it.category, StandardID: it.std, Risk: it.risk,
			AssetID: a.id, AssetName: a.name, AssetType: assets.Container, NodeName: a.node, Status: status, Result: result,
			Ignored: ignored, Reason: reason, Evidence: ev, CheckedAt: at.Add(time.Duration(sec) * time.Second).Format(time.DateTime),
			TaskID: 7, Remediation: it.fix}
	}
	done := checks.CheckFinished
	return &report.SliceSource{
		M: report.Meta{SchemaVersion: report.ExportSchemaVersion, Tool: report.Tool{Name: "baseline", Version: "test"},
			GeneratedAt: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC), By: report.ByAssetGroup, AssetType: assets.Container,
			TaskIDs: []int64{7}, From: at, To: at.Add(12 * time.Second), Standards: []report.StandardInfo{cis, own},
			Hosts: []string{"node-1", "node-2"}, ResultCount: 6,
			Waivers: []store.WhitelistEntry{
				{ID: 10, ItemID: root.id, ItemName: root.title, StandardID: own.ID, AssetType: assets.Container, AssetIDs: []uint64{db.id}, AssetCount: 1,
					Reason: "the waiver of another asset", CreatedBy: "bob", InsertTime: "2025-03-01 08:00:00"},
				{ID: 11, ItemID: root.id, ItemName: root.title, StandardID: own.ID, AssetType: assets.Container, AssetIDs: []uint64{web.id}, AssetCount: 1,
					Reason: `legacy image runs as "root" <until Q3> & tracked in SEC-42`, CreatedBy: "alice", InsertTime: "2025-03-02 08:00:00", ExpiresAt: "2026-12-31 00:00:00"},
				{ID: 12, ItemID: privileged.id, ItemName: privileged.title, StandardID: cis.ID, AssetType: assets.Container, AllAssets: true,
					Reason: "lapsed, must not apply", CreatedBy: "carol", InsertTime: "2024-01-01 08:00:00", ExpiresAt: "2024-06-30 00:00:00", Lapsed: true},
			}},
		R: []results.Row{
			row(privileged, web, 0, done, checks.ResultFailed, false, "",
				checks.Evidence{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "true", Expected: "'{.HostConfig.Privileged}' is equal to 'false'"},
				checks.Evidence{Source: "container inspect", Subject: "{.HostConfig.CapAdd}", Actual: `["NET_ADMIN"]`, Expected: "'{.HostConfig.CapAdd}' is not set", Passed: true},
				checks.Evidence{Source: "/etc/docker/daemon.json", Subject: `{."log-opts"}`, Actual: "{\"max-size\": \"<unset> & 'none'\"}\n\tsecond line \x1b[31mred\x1b[0m", Expected: `'{."log-opts"}' has "max-size"`}),
			row(mounts, web, 1, done, checks.ResultPassed, false, "",
				checks.Evidence{Source: "container inspect", Subject: "{.Mounts[*].Source}", Actual: "[/srv/www]", Expected: "'{.Mounts[*].Source}' does not match /^/(boot|dev|etc)?$/", Passed: true}),
			row(root, web, 2, done, checks.ResultFailed, true, "",
				checks.Evidence{Source: "container inspect", Subject: "{.Config.User}", Actual: "not set", Expected: "'{.Config.User}' is set"}),
			row(privileged, db, 10, checks.CheckFailed, "", false, "Error response from daemon: No such container: 9f8e7d <gone>"),
			row(mounts, db, 11, done, checks.ResultManual, false, "manual review required; evidence collected",
				checks.Evidence{Source: "container inspect", Subject: "{.Mounts[*].Source}", Actual: "[/var/lib/db & /etc/db.conf]", Expected: "reviewed by hand"}),
			row(root, db, 12, done, checks.ResultNotApplicable, false, `the container runs with --userns-remap & a non-root "app" user`,
				checks.Evidence{Source: "daemon info", Subject: "{.SecurityOptions}", Actual: "[name=userns]", Expected: "'{.SecurityOptions}' has 'userns'"}),
		},
	}
}

// findingByItem returns the fixture's rows in item order, as an export by
// item streams them.
func findingByItem(src *report.SliceSource) *report.SliceSource {
	out := &report.SliceSource{M: src.M}
	out.M.By = report.ByItemGroup
	var items []uint64
	seen := map[uint64]bool{}
	for _, r := range src.R {
		if !seen[r.ItemID] {
			seen[r.ItemID] = true
			items = append(items, r.ItemID)
		}
	}
	for _, id := range items {
		for _, r := range src.R {
			if r.ItemID == id {
				out.R = append(out.R, r)
			}
		}
	}
	return out
}

// sarifPassCounter counts the passes an encoder makes over the rows.
type sarifPassCounter struct {
	report.Source
	passes int
}

func (c *sarifPassCounter) Rows(ctx context.Context, fn func(results.Row) error) error {
	c.passes++
	return c.Source.Rows(ctx, fn)
}

// findingEncode runs an encoder as report.Export does.
func findingEncode(t testing.TB, enc report.Encoder, src report.Source) ([]byte, *report.Integrity) {
	t.Helper()
	var buf bytes.Buffer
	in := report.NewIntegrity(&buf)
	if err := enc.Encode(context.Background(), &buf, src, in); err != nil {
		t.Fatalf("%s: %v", enc.Format(), err)
	}
	return buf.Bytes(), in
}

// findingCheckIntegrity verifies the export's digests, then that a one-byte edit
// of the body is caught.
func findingCheckIntegrity(t *testing.T, data []byte, in *report.Integrity, rows int, edit string) {
	t.Helper()
	if in.Rows() != rows {
		t.Errorf("AddRow was called %d times, want %d (once per row)", in.Rows(), rows)
	}
	results, _, ok, err := report.VerifyContent(data)
	if err != nil || !ok {
		t.Fatalf("VerifyContent = ok %t, %v; want ok", ok, err)
	}
	if results != in.ResultsDigest() {
		t.Errorf("results digest in the file %s, want %s", results, in.ResultsDigest())
	}
	i := bytes.Index(data, []byte(edit))
	if i < 0 {
		t.Fatalf("%q is not in the export", edit)
	}
	edited := bytes.Clone(data)
	edited[i] ^= 0x01
	if _, _, ok, err := report.VerifyContent(edited); ok || err != nil {
		t.Errorf("VerifyContent after a one-byte edit = ok %t, %v; want not ok", ok, err)
	}
}

type sarifLog struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Rules   []struct {
					ID               string `json:"id"`
					Name             string `json:"name"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					FullDescription struct {
						Text string `json:"text"`
					} `json:"fullDescription"`
					Help struct {
						Text string `json:"text"`
					} `json:"help"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
					Properties struct {
						ItemID uint64      `json:"CustomerPolicyItemId"`
						Risk   checks.Risk `json:"RiskLevel"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex *int   `json:"ruleIndex"`
			Kind      string `json:"kind"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				LogicalLocations []struct {
					Name               string `json:"name"`
					Kind               string `json:"kind"`
					FullyQualifiedName string `json:"fullyQualifiedName"`
				} `json:"logicalLocations"`
			} `json:"locations"`
			Suppressions []struct {
				Kind          string `json:"kind"`
				Status        string `json:"status"`
				Justification string `json:"justification"`
			} `json:"suppressions"`
			Properties struct {
				ItemID    uint64            `json:"CustomerPolicyItemId"`
				AssetID   uint64            `json:"CustomerAssetId"`
				NodeName  string            `json:"NodeName"`
				TaskID    int64             `json:"TaskId"`
				CheckedAt string            `json:"LastCheckTime"`
				Outcome   string            `json:"Outcome"`
				Evidence  []checks.Evidence `json:"VerifyInfo"`
			} `json:"properties"`
		} `json:"results"`
		Properties map[string]any `json:"properties"`
	} `json:"runs"`
}

func TestExportSARIFGolden(t *testing.T) {
	src := findingFixture()
	cs := &sarifPassCounter{Source: src}
	data, in := findingEncode(t, report.SARIFEncoder{}, cs)
	golden(t, "export.sarif.golden", data)
	if cs.passes != 2 {
		t.Errorf("the encoder read the rows %d times, want 2 (rules, then results)", cs.passes)
	}
	findingCheckIntegrity(t, data, in, len(src.R), "No such container")
	if !bytes.HasSuffix(data, []byte("\"}}]}\n")) {
		t.Errorf("the integrity is not the run's last property:\n%s", data[max(0, len(data)-200):])
	}
}

func TestExportSARIFParse(t *testing.T) {
	src := findingFixture()
	data, in := findingEncode(t, report.SARIFEncoder{}, src)
	var log sarifLog
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	if log.Version != "2.1.0" || log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" {
		t.Errorf("version %q, $schema %q", log.Version, log.Schema)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	if d := run.Tool.Driver; d.Name != "baseline" || d.Version != "test" {
		t.Errorf("driver %q %q", d.Name, d.Version)
	}

	rules := run.Tool.Driver.Rules
	if len(rules) != 3 {
		t.Fatalf("%d rules, want 3 (one per item)", len(rules))
	}
	wantRules := map[string]struct {
		item  uint64
		level string
	}{
		"cis-docker-1.6.0/5.5":     {100505, "error"},
		"cis-docker-1.6.0/5.6":     {100506, "warning"},
		"baseline-docker-1.0/B3.1": {300009, "note"},
	}
	index := map[string]int{}
	for i, r := range rules {
		w, ok := wantRules[r.ID]
		if !ok {
			t.Errorf("unexpected rule %q", r.ID)
			continue
		}
		if _, dup := index[r.ID]; dup {
			t.Errorf("rule %q listed twice", r.ID)
		}
		index[r.ID] = i
		if r.Properties.ItemID != w.item || r.DefaultConfiguration.Level != w.level {
			t.Errorf("rule %s: item %d level %q, want %d %q", r.ID, r.Properties.ItemID, r.DefaultConfiguration.Level, w.item, w.level)
		}
		if r.ShortDescription.Text == "" || r.FullDescription.Text == "" || r.Help.Text == "" || r.Name == "" {
			t.Errorf("rule %s lacks a name, description or help: %+v", r.ID, r)
		}
	}
	if !strings.HasPrefix(rules[index["cis-docker-1.6.0/5.5"]].FullDescription.Text, "CIS Docker Benchmark 1.6.0, recommendation 5.5 (Container Runtime): ") {
		t.Errorf("fullDescription %q", rules[index["cis-docker-1.6.0/5.5"]].FullDescription.Text)
	}

	if len(run.Results) != len(src.R) {
		t.Fatalf("%d results, want %d", len(run.Results), len(src.R))
	}
	want := map[string]struct{ kind, level string }{
		"PASSED": {"pass", "none"}, "FAILED": {"fail", "error"}, "IGNORED": {"fail", "note"},
		"MANUAL": {"review", "none"}, "NOT_APPLICABLE": {"notApplicable", "none"}, "CHECK_FAILED": {"open", "none"},
	}
	for i, res := range run.Results {
		r := src.R[i]
		outcome := r.Outcome()
		ri, ok := index[res.RuleID]
		if !ok {
			t.Errorf("result %d: ruleId %q is not among the rules", i, res.RuleID)
		} else if res.RuleIndex == nil || *res.RuleIndex != ri {
			t.Errorf("result %d: ruleIndex %v, want %d", i, res.RuleIndex, ri)
		}
		if w := want[outcome]; res.Kind != w.kind || res.Level != w.level {
			t.Errorf("%s: kind %q level %q, want %q %q", outcome, res.Kind, res.Level, w.kind, w.level)
		}
		p := res.Properties
		if p.Outcome != outcome || p.ItemID != r.ItemID || p.AssetID != r.AssetID || p.NodeName != r.NodeName || p.TaskID != 7 || p.CheckedAt != r.CheckedAt || len(p.Evidence) != len(r.Evidence) {
			t.Errorf("%s: properties %+v", outcome, p)
		}
		if len(res.Locations) != 1 || len(res.Locations[0].LogicalLocations) != 1 {
			t.Fatalf("%s: locations %+v", outcome, res.Locations)
		}
		loc := res.Locations[0].LogicalLocations[0]
		if wantFQN := fmt.Sprintf("ASSET_CONTAINER/%s/%d", r.AssetName, r.AssetID); loc.Name != r.AssetName || loc.Kind != "resource" || loc.FullyQualifiedName != wantFQN {
			t.Errorf("%s: logical location %+v, want %s", outcome, loc, wantFQN)
		}
		if !strings.HasPrefix(res.Message.Text, r.Title+": ") {
			t.Errorf("%s: message %q does not start with the title", outcome, res.Message.Text)
		}
		switch outcome {
		case "IGNORED":
			if len(res.Suppressions) != 1 {
				t.Fatalf("ignored result: suppressions %+v", res.Suppressions)
			}
			s := res.Suppressions[0]
			if s.Kind != "external" || s.Status != "accepted" || s.Justification != `legacy image runs as "root" <until Q3> & tracked in SEC-42` {
				t.Errorf("suppression %+v: want the waiver of this asset's", s)
			}
		default:
			if len(res.Suppressions) != 0 {
				t.Errorf("%s: suppressions %+v on a result that is not ignored", outcome, res.Suppressions)
			}
		}
		switch outcome {
		case "CHECK_FAILED":
			if !strings.Contains(res.Message.Text, "could not be carried out") || !strings.Contains(res.Message.Text, r.Reason) {
				t.Errorf("check failed: message %q lacks the reason", res.Message.Text)
			}
		case "FAILED":
			if !strings.Contains(res.Message.Text, "{.HostConfig.Privileged} = true") || strings.Contains(res.Message.Text, "CapAdd") {
				t.Errorf("failed: message %q should carry the failed evidence only", res.Message.Text)
			}
		}
	}
	props := run.Properties
	if props["ResultCount"] != float64(len(src.R)) {
		t.Errorf("run properties: ResultCount %v", props["ResultCount"])
	}
	if s, _ := props["integrity"].(string); !strings.Contains(s, report.ResultsMarker+in.ResultsDigest()) || !strings.Contains(s, report.ContentMarker) {
		t.Errorf("run properties: integrity %q", s)
	}
}

func TestExportSARIFEmpty(t *testing.T) {
	src := findingFixture()
	src.R = nil
	data, in := findingEncode(t, report.SARIFEncoder{}, src)
	var log sarifLog
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	if len(log.Runs) != 1 || log.Runs[0].Results == nil || len(log.Runs[0].Results) != 0 || len(log.Runs[0].Tool.Driver.Rules) != 0 {
		t.Errorf("empty export:\n%s", data)
	}
	findingCheckIntegrity(t, data, in, 0, `"version"`)
}

// sarifChangingSource streams one more item in its second pass than in its
// first, as the latest results may when a scan ends during an export.
type sarifChangingSource struct {
	*report.SliceSource
	passes int
}

func (c *sarifChangingSource) Rows(ctx context.Context, fn func(results.Row) error) error {
	c.passes++
	rows := c.R
	if c.passes > 1 {
		extra := rows[0]
		extra.ItemID, extra.Number = 100999, "9.9"
		rows = append(rows[:len(rows):len(rows)], extra)
	}
	for _, r := range rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func TestExportSARIFResultsChanged(t *testing.T) {
	src := &sarifChangingSource{SliceSource: findingFixture()}
	var buf bytes.Buffer
	err := report.SARIFEncoder{}.Encode(context.Background(), &buf, src, report.NewIntegrity(&buf))
	if err == nil || !strings.Contains(err.Error(), "changed during the export") {
		t.Fatalf("Encode = %v, want an error saying the results changed", err)
	}
}

func TestExportSARIFCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	err := report.SARIFEncoder{}.Encode(ctx, &buf, findingFixture(), report.NewIntegrity(&buf))
	if err != context.Canceled {
		t.Fatalf("Encode = %v, want context.Canceled", err)
	}
}

// findingBenchSource synthesizes n rows as they are read, never holding them:
// 150 items over as many assets as it takes, in asset or item order,
// mostly passed, with a failure, a manual and a check failure now and then.
// It records the peak heap seen every 10,000 rows.
type findingBenchSource struct {
	n        int
	byItem   bool
	peakHeap uint64
}

const findingBenchItems = 150

func (s *findingBenchSource) Meta() report.Meta {
	by := report.ByAssetGroup
	if s.byItem {
		by = report.ByItemGroup
	}
	return report.Meta{SchemaVersion: report.ExportSchemaVersion, Tool: report.Tool{Name: "baseline", Version: "bench"},
		GeneratedAt: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC), By: by, TaskIDs: []int64{1},
		Standards: []report.StandardInfo{{ID: "cis-docker-1.6.0", Name: "CIS Docker Benchmark", Version: "1.6.0", ItemCount: findingBenchItems}},
		Hosts:     []string{"node-1"}, ResultCount: s.n,
		Waivers: []store.WhitelistEntry{{ID: 1, ItemID: 100007, AllAssets: true, Reason: "accepted"}}}
}

func (s *findingBenchSource) Rows(ctx context.Context, fn func(results.Row) error) error {
	assetCount := (s.n + findingBenchItems - 1) / findingBenchItems
	risks := checks.Risks
	var ms runtime.MemStats
	for k := 0; k < s.n; k++ {
		a, i := k/findingBenchItems, k%findingBenchItems
		if s.byItem {
			i, a = k/assetCount, k%assetCount
		}
		if k%10000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			runtime.ReadMemStats(&ms)
			s.peakHeap = max(s.peakHeap, ms.HeapInuse)
		}
		r := results.Row{ItemID: uint64(100000 + i), Number: fmt.Sprintf("%d.%d", i/10+1, i%10+1), Title: "Ensure that the benchmark item is configured",
			Category: "Container Runtime", StandardID: "cis-docker-1.6.0", Risk: risks[i%len(risks)], AssetID: uint64(4503599627370000 + a),
			AssetName: fmt.Sprintf("container-%d", a), AssetType: assets.Container, NodeName: "node-1", Status: checks.CheckFinished,
			Result: checks.ResultPassed, CheckedAt: "2025-03-14 09:26:53", TaskID: 1, Remediation: "Fix the configuration.",
			Evidence: []checks.Evidence{{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "false", Expected: "'{.HostConfig.Privileged}' is equal to 'false'", Passed: true}}}
		switch {
		case i == 7:
			r.Result, r.Ignored = checks.ResultFailed, true
		case (a+i)%11 == 0:
			r.Result, r.Evidence[0].Actual, r.Evidence[0].Passed = checks.ResultFailed, "true", false
		case (a+i)%17 == 0:
			r.Result, r.Reason = checks.ResultManual, "manual review required"
		case (a+i)%101 == 0:
			r.Status, r.Result, r.Reason, r.Evidence = checks.CheckFailed, "", "Error response from daemon: No such container", nil
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// findingBench exports 200,000 synthesized rows to io.Discard and reports
// the peak heap in use while doing so.
func findingBench(b *testing.B, enc report.Encoder, byItem bool) {
	const rows = 200_000
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		src := &findingBenchSource{n: rows, byItem: byItem}
		in := report.NewIntegrity(io.Discard)
		if err := enc.Encode(context.Background(), io.Discard, src, in); err != nil {
			b.Fatal(err)
		}
		if in.Rows() != rows {
			b.Fatalf("%d rows exported, want %d", in.Rows(), rows)
		}
		peak = max(peak, src.peakHeap)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
}

func BenchmarkExportSARIFLarge(b *testing.B) { findingBench(b, report.SARIFEncoder{}, false) }
