package kubebench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/checks"
)

// fakeHost is a process table and a set of existing files.
type fakeHost struct {
	procs []Process
	files map[string]bool
}

func (h fakeHost) Processes() ([]Process, error) { return h.procs, nil }
func (h fakeHost) Exists(p string) (bool, error) { return h.files[p], nil }
func proc(comm string, args ...string) Process   { return Process{Comm: comm, Args: args} }
func one(s checks.Subject) checks.Observation {
	return checks.Observation{Subjects: []checks.Subject{s}}
}
func (f fakeFacts) Observe(context.Context, *checks.Source) (checks.Observation, error) {
	return one(f.s), nil
}

type fakeFacts struct{ s checks.Subject }

// writeDir writes a kube-bench directory from file names and contents.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const testConfig = `---
master:
  components: [apiserver, etcd, kubelet]
  apiserver:
    bins: ["kube-apiserver", "hyperkube apiserver"]
    confs: [/etc/kubernetes/manifests/kube-apiserver.yaml, /etc/kube-apiserver.yaml]
    defaultconf: /etc/kubernetes/manifests/kube-apiserver.yaml
  etcd:
    optional: true
    bins: [etcd]
    datadirs: [/var/lib/etcd/default.etcd]
    defaultdatadir: /var/lib/etcd/default.etcd
  kubelet:
    optional: true
    bins: [kubelet]
version_mapping:
  "1.30": "bench-1.0"
  "1.34": "bench-2.0"
target_mapping:
  "bench-2.0": [master]
`

const testMaster = `---
controls:
version: "bench-2.0"
id: 1
text: "Control Plane"
type: "master"
groups:
  - id: 1.1
    text: "API Server"
    checks:
      - id: 1.1.1
        text: "profiling is off"
        audit: "/bin/ps -ef | grep $apiserverbin | grep -v grep"
        tests:
          test_items:
            - flag: "--profiling"
              compare:
                op: eq
                value: false
        remediation: "Edit $apiserverconf and set --profiling=false."
        scored: true
      - id: 1.1.2
        text: "etcd data directory"
        audit: "stat -c permissions=%a $etcddatadir; ps -ef | grep $etcdbin; ps -fC $kubeletbin"
        tests:
          test_items:
            - flag: "permissions"
              compare:
                op: bitmask
                value: "700"
        scored: true
      - id: 1.1.3
        text: "ownership"
        audit: "stat -c %U:%G $apiserverconf"
        use_multiple_values: true
        tests:
          bin_op: or
          test_items:
            - flag: "root:root"
            - flag: "--x"
              set: false
              compare:
                op: eq
                value: "ignored"
        scored: false
      - id: 1.1.4
        text: "manual"
        type: manual
        audit: "true"
        scored: false
  - id: 1.2
    text: "Skipped group"
    type: skip
    checks:
      - id: 1.2.1
        text: "skipped"
        audit: "true"
        tests:
          test_items:
            - flag: "--y"
        scored: true
`

func TestLoadSubstitutesAsKubeBench(t *testing.T) {
	dir := writeDir(t, map[string]string{"config.yaml": testConfig, "bench-2.0/master.yaml": testMaster, "bench-2.0/config.yaml": "---\n## nothing\n"})
	host := fakeHost{
		procs: []Process{proc("hyperkube", "/usr/bin/hyperkube", "apiserver", "--profiling=false")},
		files: map[string]bool{"/etc/kube-apiserver.yaml": true},
	}
	std, err := Load(Options{Dir: dir, KubeVersion: "v1.37.2", Host: host})
	if err != nil {
		t.Fatal(err)
	}
	if std.ID != "kube-bench-bench-2.0" || len(std.Items) != 5 {
		t.Fatalf("standard %s with %d items", std.ID, len(std.Items))
	}
	byNumber := map[string]*checks.Item{}
	for _, it := range std.Items {
		byNumber[it.Number] = it
		if it.ID < IDBase || it.ID >= IDBase+idSpan || it.ID != ItemID(std.ID, "master", it.Number) {
			t.Errorf("%s: id %d", it.Number, it.ID)
		}
	}
	// The first running binary of several words is quoted; the first
	// existing configuration file is used; an optional component that does
	// not run is named by the component.
	if got, want := byNumber["1.1.1"].Source.Shell, "/bin/ps -ef | grep 'hyperkube apiserver' | grep -v grep"; got != want {
		t.Errorf("1.1.1 audit %q, want %q", got, want)
	}
	if got, want := byNumber["1.1.1"].Remediation, "Edit /etc/kube-apiserver.yaml and set --profiling=false."; got != want {
		t.Errorf("1.1.1 remediation %q, want %q", got, want)
	}
	if got, want := byNumber["1.1.2"].Source.Shell, "stat -c permissions=%a /var/lib/etcd/default.etcd; ps -ef | grep etcd; ps -fC kubelet"; got != want {
		t.Errorf("1.1.2 audit %q, want %q", got, want)
	}
	if it := byNumber["1.1.4"]; it.Automated || it.Source != nil {
		t.Errorf("1.1.4 (manual) automated %v, source %v", it.Automated, it.Source)
	}
	if it := byNumber["1.2.1"]; it.Automated || len(it.OnlyIf) != 1 {
		t.Errorf("1.2.1 (group skip) automated %v, conditions %d", it.Automated, len(it.OnlyIf))
	}
	if it := byNumber["1.1.3"]; it.Scored || it.Risk != checks.RiskLow || it.Pos.Line == 0 || !strings.HasSuffix(it.Pos.File, "master.yaml") {
		t.Errorf("1.1.3: scored %v, risk %s, at %s", it.Scored, it.Risk, it.Pos)
	}

	// A mandatory component that does not run: no binary is substituted
	// (as in kube-bench) and the target's items are not applicable.
	std, err = Load(Options{Dir: dir, Version: "bench-2.0", Host: fakeHost{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range std.Items {
		if it.Number == "1.1.1" {
			if !strings.Contains(it.Source.Shell, "$apiserverbin") || len(it.OnlyIf) != 1 || !strings.Contains(it.OnlyIf[0].Reason, "apiserver") {
				t.Errorf("1.1.1 without an API server: %q, conditions %+v", it.Source.Shell, it.OnlyIf)
			}
		}
	}
}

// An unscored check whose tests fail is a review by default (kube-bench's
// WARN) and a failure with Strict; a scored one fails either way, and a
// manual one stays manual.
func TestUnscoredFailureIsAReview(t *testing.T) {
	dir := writeDir(t, map[string]string{"config.yaml": testConfig, "bench-2.0/master.yaml": testMaster})
	host := fakeHost{procs: []Process{proc("kube-apiserver", "kube-apiserver", "--profiling=true")}}
	failing := fakeFacts{checks.Subject{Text: "--profiling=true --x=1\nroot:wheel\npermissions=755"}}
	for _, strict := range []bool{false, true} {
		std, err := Load(Options{Dir: dir, Version: "bench-2.0", Host: host, Strict: strict})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]checks.CheckResult{"1.1.1": checks.ResultFailed, "1.1.2": checks.ResultFailed, "1.1.3": checks.ResultManual, "1.1.4": checks.ResultManual}
		if strict {
			want["1.1.3"] = checks.ResultFailed
		}
		for _, it := range std.Items {
			w, ok := want[it.Number]
			if !ok {
				continue
			}
			if it.ReviewOnFail != (it.Number == "1.1.3" && !strict) {
				t.Errorf("strict %v, %s: ReviewOnFail %v", strict, it.Number, it.ReviewOnFail)
			}
			v := it.Evaluate(context.Background(), failing)
			if v.Result != w {
				t.Errorf("strict %v, %s: %s (%s), want %s", strict, it.Number, v.Result, v.Reason, w)
			}
			if it.Number == "1.1.3" && !strict && (v.Reason != checks.ReviewReason || len(v.Evidence) == 0 || v.Evidence[0].Passed) {
				t.Errorf("1.1.3 review: reason %q, evidence %+v; want the failing tests", v.Reason, v.Evidence)
			}
		}
		if !strings.Contains(std.Description, map[bool]string{false: "for review", true: "strict"}[strict]) {
			t.Errorf("strict %v: description %q does not say how unscored failures are reported", strict, std.Description)
		}
	}
}

func TestConvertedTestsJudgeAsKubeBench(t *testing.T) {
	dir := writeDir(t, map[string]string{"config.yaml": testConfig, "bench-2.0/master.yaml": testMaster})
	std, err := Load(Options{Dir: dir, Version: "bench-2.0", Host: fakeHost{procs: []Process{proc("kube-apiserver", "kube-apiserver")}}})
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]*checks.Item{}
	for _, it := range std.Items {
		items[it.Number] = it
	}
	cases := []struct {
		number, text string
		want         checks.CheckResult
	}{
		{"1.1.1", "root 1 kube-apiserver --profiling=false", checks.ResultPassed},
		{"1.1.1", "root 1 kube-apiserver --profiling=true", checks.ResultFailed},
		// A word that must appear: anywhere in each line.
		{"1.1.3", "root:root\nroot:root\n", checks.ResultPassed},
		{"1.1.3", "root:root\nroot:adm\n", checks.ResultPassed}, // or: --x is not set
		{"1.2.1", "--y", checks.ResultNotApplicable},
	}
	for _, c := range cases {
		v := items[c.number].Evaluate(context.Background(), fakeFacts{checks.Subject{Name: "audit", Text: c.text}})
		if v.Result != c.want {
			t.Errorf("%s on %q: %s %s (%+v), want %s", c.number, c.text, v.Status, v.Result, v.Evidence, c.want)
		}
	}
}

func TestCompareKubeBenchFixes(t *testing.T) {
	for _, c := range []struct {
		op, value, found string
		want             bool
	}{
		{"noteqx", "0", "1", false},
		{"eq", "True", "true", false},
		{"noteq", "True", "true", true},
		{"gte", "1.5", "2", false},
		{"valid_elements", ",", "a", false},
		{"gte", "2", "2", true},
	} {
		op, value, err := compare(c.op, c.value)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := checks.NewTests("", []checks.TestSpec{{Flag: "--x", Op: op, Value: value}})
		if err != nil {
			t.Fatal(err)
		}
		it := &checks.Item{Automated: true, Source: &checks.Source{Kind: checks.SourceShell}, Tests: ts}
		v := it.Evaluate(context.Background(), fakeFacts{checks.Subject{Text: "--x=" + c.found}})
		if got := v.Result == checks.ResultPassed; got != c.want {
			t.Errorf("%s %s on %s: %s, want pass %v", c.op, c.value, c.found, v.Result, c.want)
		}
	}
	if _, _, err := compare("regex", "("); err == nil {
		t.Error("a bad regex loads")
	}
}

func TestRangePathJudgesEachElement(t *testing.T) {
	spec, err := convertTest(&checkDef{AuditConfig: "cat config"}, testItemDef{Flag: "--tls-cipher-suites", Path: "{range .tlsCipherSuites[:]}{}{','}{end}",
		Compare: compareDef{Op: "valid_elements", Value: "A,B"}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := checks.NewTests("", []checks.TestSpec{spec})
	if err != nil {
		t.Fatal(err)
	}
	it := &checks.Item{Automated: true, Source: &checks.Source{Kind: checks.SourceShell}, Tests: ts}
	for doc, want := range map[string]checks.CheckResult{"AB": checks.ResultPassed, "AC": checks.ResultFailed} {
		list := []any{}
		for _, r := range doc {
			list = append(list, string(r))
		}
		v := it.Evaluate(context.Background(), fakeFacts{checks.Subject{Text: "kubelet", Doc: map[string]any{"tlsCipherSuites": list}}})
		if v.Result != want {
			t.Errorf("%s: %s %s %q, want %s", doc, v.Status, v.Result, v.Reason, want)
		}
	}
}

func TestVersionMapping(t *testing.T) {
	dir := writeDir(t, map[string]string{"config.yaml": testConfig})
	for kv, want := range map[string]string{"1.34": "bench-2.0", "v1.37.2": "bench-2.0", "1.33": "bench-1.0", "1.30": "bench-1.0"} {
		got, err := BenchmarkVersion(dir, kv)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %s", kv, got, err, want)
		}
	}
	if got, err := BenchmarkVersion(dir, "1.29"); err == nil {
		t.Errorf("1.29: %s, want no version", got)
	}
}

func TestProblemsAtFileAndLine(t *testing.T) {
	bad := strings.Replace(testMaster, `  - id: 1.2
`, `      - id: 1.1.9
        text: "bad regex"
        audit: "true"
        tests:
          test_items:
            - flag: "--z"
              compare:
                op: regex
                value: "("
        scored: true
  - id: 1.2
`, 1)
	bad = strings.Replace(bad, `type: "master"`, `type: "node"`, 1)
	dir := writeDir(t, map[string]string{"config.yaml": testConfig, "bench-2.0/master.yaml": bad})
	_, err := Load(Options{Dir: dir, Version: "bench-2.0", Host: fakeHost{}})
	var le *checks.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %v, want a LoadError", err)
	}
	want := []string{"master.yaml:6: type \"node\"", "master.yaml:51: check 1.1.9: test_items[0]: compare.value: bad regex"}
	if len(le.Problems) != len(want) {
		t.Fatalf("problems:\n%v", err)
	}
	for i, w := range want {
		if got := le.Problems[i].String(); !strings.Contains(got, w) {
			t.Errorf("problem %d: %s, want %s", i, got, w)
		}
	}

	if _, err := Load(Options{Dir: dir, Version: "nope", Host: fakeHost{}}); err == nil || !strings.Contains(err.Error(), "bench-2.0") {
		t.Errorf("unknown version: %v", err)
	}
	if _, err := Load(Options{Dir: dir, Host: fakeHost{}}); err == nil {
		t.Error("no version: loaded")
	}
}

func TestCatalogAddRefusesCollisions(t *testing.T) {
	dir := writeDir(t, map[string]string{"config.yaml": testConfig, "bench-2.0/master.yaml": testMaster})
	std, err := Load(Options{Dir: dir, Version: "bench-2.0", Host: fakeHost{}})
	if err != nil {
		t.Fatal(err)
	}
	cat := &checks.Catalog{}
	if err := cat.Add(std); err != nil {
		t.Fatal(err)
	}
	if it, ok := cat.Item(std.Items[0].ID); !ok || it != std.Items[0] {
		t.Fatal("the item is not in the catalog")
	}
	again, _ := Load(Options{Dir: dir, Version: "bench-2.0", Host: fakeHost{}})
	err = cat.Add(again)
	var le *checks.LoadError
	if !errors.As(err, &le) || len(le.Problems) != 1+len(again.Items) {
		t.Fatalf("adding it twice: %v", err)
	}
	if !strings.Contains(le.Problems[0].Msg, "already") || len(cat.Standards) != 1 {
		t.Errorf("problems %v, %d standards", le.Problems, len(cat.Standards))
	}
}

// TestLoadsEveryKubeBenchVersion loads every benchmark directory of
// kube-bench's cfg unchanged.
func TestLoadsEveryKubeBenchVersion(t *testing.T) {
	cfg := filepath.Join(kubeBenchDir(t), "cfg")
	versions := Versions(cfg)
	if len(versions) < 40 {
		t.Fatalf("%d versions in %s", len(versions), cfg)
	}
	for _, v := range versions {
		std, err := Load(Options{Dir: cfg, Version: v, Host: fakeHost{}})
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		if len(std.Items) < 40 {
			t.Errorf("%s: %d items", v, len(std.Items))
		}
	}
}
