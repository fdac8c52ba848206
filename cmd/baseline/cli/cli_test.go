package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/baselinehq/baseline/internal/testhost"
)

// dataDirs gives each test its own store directory, whatever the
// environment says.
var dataDirs sync.Map

func getenvDataDir(t *testing.T) string {
	t.Helper()
	dir, ok := dataDirs.Load(t.Name())
	if !ok {
		dir, _ = dataDirs.LoadOrStore(t.Name(), t.TempDir())
	}
	t.Setenv("BASELINE_DATA_DIR", dir.(string))
	return dir.(string)
}

// run runs the command line in the test's own store directory.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	getenvDataDir(t)
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateReportsFileAndLineAndExits3(t *testing.T) {
	code, _, stderr := run(t, "benchmarks", "validate", "../../../testdata/benchmarks/broken")
	if code != ExitInvalid {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitInvalid, stderr)
	}
	for _, want := range []string{
		"daemon.yaml:9: field platfrom not found in type item",
		`daemon.yaml:22: item A.2: tests: test_items[0]: compare.value: bad regex`,
		`daemon.yaml:31: item A.3: tests: test_items[0]: compare.op: unknown operator "equals"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestScanWithBrokenBenchmarksScansNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := run(t, "scan", "--benchmarks", "../../../testdata/benchmarks/broken", "--no-docker", "-o", out)
	if code != ExitInvalid || !strings.Contains(stderr, "daemon.yaml:9:") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a report was written although loading failed: %v", err)
	}
}

func TestValidateAcceptsAUserStandard(t *testing.T) {
	code, stdout, stderr := run(t, "benchmarks", "validate", "../../../testdata/benchmarks/custom")
	if code != ExitOK || !strings.Contains(stdout, "standard acme-docker-1: 2 items OK") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// A user's standard runs on a fixture host, JSON goes to a file, and
// --exit-code turns a scored failure into exit 2.
func TestScanUserStandardOnFixtureHost(t *testing.T) {
	root := testhost.Tree(t, "loose")
	out := filepath.Join(t.TempDir(), "report.json")
	args := []string{"scan", "--benchmarks", "../../../testdata/benchmarks/custom", "--standard", "acme-docker-1",
		"--host-root", root, "--no-docker", "--format", "json", "-o", out}
	code, _, stderr := run(t, args...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		SchemaVersion string
		Results       []struct {
			CustomerPolicyItemId uint64
			CheckStatus          string
			CheckResult          string
		}
		Summary []struct{ AssetType string }
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[uint64]string{}
	for _, r := range doc.Results {
		got[r.CustomerPolicyItemId] = r.CheckStatus + "/" + r.CheckResult
	}
	// loose's daemon.json: log-level debug (fails A.2), no debug key (passes A.1).
	if got[910001] != "CHECK_FINISHED/RESULT_PASSED" || got[910002] != "CHECK_FINISHED/RESULT_FAILED" {
		t.Errorf("results = %v", got)
	}
	if doc.SchemaVersion != "1" || len(doc.Summary) != 1 || doc.Summary[0].AssetType != "ASSET_HOST" {
		t.Errorf("document = %+v", doc)
	}
	code, _, _ = run(t, append(args, "--exit-code")...)
	if code != ExitFindings {
		t.Errorf("--exit-code: exit %d, want %d", code, ExitFindings)
	}
}

func TestBadFlagsExit1(t *testing.T) {
	for _, args := range [][]string{
		{"scan", "--format", "xml", "--no-docker"},
		{"scan", "--type", "vm", "--no-docker"},
		{"scan", "--item", "abc", "--no-docker"},
		{"scan", "--standard", "nope", "--no-docker"},
	} {
		code, _, stderr := run(t, args...)
		if code != ExitError || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 1 and a message", args, code, stderr)
		}
	}
}

// The configuration file sets the store's directory for every command,
// below the environment and the flags.
func TestConfigFileSetsTheDataDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+dir+"\nhost_root: "+testhost.Tree(t, "hardened")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BASELINE_DATA_DIR", "")
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"scan", "--config", cfg, "--no-docker", "--type", "host", "--progress", "never", "--details"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "baseline.db")); err != nil {
		t.Errorf("the store is not in the configured directory: %v", err)
	}
	// the asset table (--details) names the host
	if !strings.Contains(out.String(), "hardened") {
		t.Errorf("the configured host root was not scanned:\n%s", out.String())
	}
}

// benchmarks validate checks the shipped standards (without a directory,
// or a copy of benchmarks/ being edited): an automated item whose finding
// was removed fails with its file and line.
func TestValidateShippedStandardsAndTheirWording(t *testing.T) {
	if code, out, stderr := run(t, "benchmarks", "validate"); code != ExitOK || !strings.Contains(out, "standard cis-docker-1.6.0") {
		t.Fatalf("validate the built-in standards: exit %d\n%s%s", code, out, stderr)
	}
	shipped := "../../../benchmarks/cis-docker-1.6.0"
	if code, out, stderr := run(t, "benchmarks", "validate", shipped); code != ExitOK || !strings.Contains(out, "117 items OK") {
		t.Fatalf("validate %s: exit %d\n%s%s", shipped, code, out, stderr)
	}
	dir := filepath.Join(t.TempDir(), "cis-docker-1.6.0")
	if err := os.CopyFS(dir, os.DirFS(shipped)); err != nil {
		t.Fatal(err)
	}
	runtime := filepath.Join(dir, "5-runtime.yaml")
	data, err := os.ReadFile(runtime)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "    finding:") {
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	if err := os.WriteFile(runtime, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "benchmarks", "validate", dir)
	if code != ExitInvalid || !strings.Contains(stderr, "5-runtime.yaml:") || !strings.Contains(stderr, "finding is required") {
		t.Errorf("an item without its finding: exit %d, %s", code, stderr)
	}
}
