package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/report"
)

// How scan --kube-bench-cfg reports an unscored check whose tests fail:
// for review by default, as a failure with --kube-bench-strict, with
// BASELINE_KUBE_BENCH_STRICT or with the configuration's kube_bench.strict,
// the flag over the environment over the configuration. The standard's
// description says which mapping judged it.
func TestKubeBenchStrictOption(t *testing.T) {
	cases := "../../../checks/kubebench/testdata/cases"
	conf := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(conf, []byte("kube_bench:\n  strict: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scanArgs := []string{"scan", "--no-store", "--no-docker", "--no-kube", "--format", "json", "--progress", "never",
		"--kube-bench-cfg", cases, "--kube-bench-version", "cases-1.0"}
	for _, c := range []struct {
		name, env string
		args      []string
		strict    bool
	}{
		{"default", "", nil, false},
		{"flag", "", []string{"--kube-bench-strict"}, true},
		{"environment", "true", nil, true},
		{"configuration", "", []string{"--config", conf}, true},
		{"environment over configuration", "false", []string{"--config", conf}, false},
		{"flag over configuration", "", []string{"--config", conf, "--kube-bench-strict=false"}, false},
		{"flag over environment", "true", []string{"--kube-bench-strict=false"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(kubeBenchStrictEnv, c.env)
			code, stdout, stderr := run(t, append(append([]string{}, scanArgs...), c.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var doc report.Document
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Standards) != 1 {
				t.Fatalf("standards %+v", doc.Standards)
			}
			desc := doc.Standards[0].Description
			if strict := strings.Contains(desc, "strict mapping"); strict != c.strict || !strict && !strings.Contains(desc, "for review") {
				t.Fatalf("description %q, want the strict mapping %v", desc, c.strict)
			}
		})
	}

	t.Setenv(kubeBenchStrictEnv, "maybe")
	if code, _, stderr := run(t, scanArgs...); code != ExitError || !strings.Contains(stderr, kubeBenchStrictEnv) {
		t.Errorf("%s=maybe: exit %d, %s", kubeBenchStrictEnv, code, stderr)
	}
	t.Setenv(kubeBenchStrictEnv, "")
	if code, _, stderr := run(t, "scan", "--no-store", "--kube-bench-strict"); code != ExitError || !strings.Contains(stderr, "give --kube-bench-cfg too") {
		t.Errorf("--kube-bench-strict alone: exit %d, %s", code, stderr)
	}
}
