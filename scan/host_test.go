package scan

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
)

func builtin(t testing.TB) *checks.Catalog {
	t.Helper()
	cat, err := checks.Load(checks.Tree{FS: benchmarks.FS(), Origin: benchmarks.Origin})
	if err != nil {
		t.Fatalf("built-in benchmarks: %v", err)
	}
	return cat
}

// verdicts scans a fixture host without an engine and returns the verdict
// of each CIS Docker host item by number.
func verdicts(t *testing.T, host string) map[string]checks.Verdict {
	t.Helper()
	root := testhost.Tree(t, host)
	rep, err := Run(context.Background(), builtin(t), Options{
		HostRoot: root, NoDocker: true, Types: []assets.Type{assets.Host}, Standards: []string{"cis-docker-1.6.0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Assets) != 1 || rep.Assets[0].Type != assets.Host || rep.Assets[0].Name != host {
		t.Fatalf("assets = %+v, want the one host %q", rep.Assets, host)
	}
	byID := map[uint64]string{}
	for _, it := range rep.Items {
		byID[it.ID] = it.Number
	}
	out := map[string]checks.Verdict{}
	for _, r := range rep.Results {
		out[byID[r.ItemID]] = r.Verdict
	}
	return out
}

type want struct {
	number string
	status checks.CheckStatus
	result checks.CheckResult
	reason string // a part of the reason, when it matters
}

func pass(n string) want    { return want{n, checks.CheckFinished, checks.ResultPassed, ""} }
func fail(n string) want    { return want{n, checks.CheckFinished, checks.ResultFailed, ""} }
func na(n, why string) want { return want{n, checks.CheckFinished, checks.ResultNotApplicable, why} }
func manual(n string) want  { return want{n, checks.CheckFinished, checks.ResultManual, ""} }
func noEngine(n string) want {
	return want{n, checks.CheckFailed, "", "docker engine unavailable"}
}

func assertVerdicts(t *testing.T, got map[string]checks.Verdict, wants []want) {
	t.Helper()
	for _, w := range wants {
		v, ok := got[w.number]
		if !ok {
			t.Errorf("%s: no result", w.number)
			continue
		}
		if v.Status != w.status || v.Result != w.result || !strings.Contains(v.Reason, w.reason) {
			t.Errorf("%s: got %s/%s %q, want %s/%s %q; evidence %+v", w.number, v.Status, v.Result, v.Reason, w.status, w.result, w.reason, v.Evidence)
		}
	}
}

// The hardened host's dockerd runs with --config-file naming hardened.json;
// the default daemon.json beside it is a decoy with insecure values that a
// checker reading the wrong file would judge.
func TestHardenedHostFixture(t *testing.T) {
	got := verdicts(t, "hardened")
	assertVerdicts(t, got, []want{
		noEngine("1.1.1"), manual("1.1.2"),
		pass("1.1.3"), pass("1.1.4"), pass("1.1.5"), pass("1.1.6"), pass("1.1.7"),
		na("1.1.8", "containerd.sock"), pass("1.1.9"), pass("1.1.10"), pass("1.1.11"),
		na("1.1.12", "config.toml"), na("1.1.13", "sysconfig"),
		manual("1.2.1"), manual("1.2.2"),
		pass("2.2"), pass("2.3"), pass("2.4"), pass("2.11"), pass("2.12"), pass("2.14"), pass("2.16"),
		na("2.7", "TCP"), noEngine("2.6"), noEngine("2.15"),
		pass("3.1"), pass("3.2"), pass("3.3"), pass("3.4"), pass("3.5"), pass("3.6"), pass("3.7"), pass("3.8"),
		na("3.9", "tlscacert"), na("3.14", "tlskey"), pass("3.17"), pass("3.18"), pass("3.19"), pass("3.20"),
		na("3.21", ""), na("3.22", ""), na("3.23", ""), na("3.24", ""),
	})
}

func TestLooseHostFixture(t *testing.T) {
	got := verdicts(t, "loose")
	assertVerdicts(t, got, []want{
		fail("1.1.3"), na("1.1.4", "/run/containerd"),
		fail("2.2"), fail("2.3"), fail("2.4"), fail("2.7"), fail("2.11"), fail("2.12"), fail("2.16"),
		fail("3.1"), fail("3.2"), na("3.3", "docker.socket"), pass("3.5"), fail("3.6"),
		na("3.7", "no file matches"), fail("3.17"), fail("3.18"), fail("3.19"), fail("3.20"),
	})
}

// A file path may name a flag of a running process: the file the process
// actually reads, never a guessed default.
func TestPathFromAProcessFlag(t *testing.T) {
	std := "standard:\n  id: t\n  name: T\n  version: \"1\"\n  asset_types: [host]\n"
	items := `category: C
asset_type: host
items:
  - id: 990001
    number: "1"
    title: the file dockerd was started with is not writable by others
    risk: low
    assessment: automated
    source: {kind: file, path: "${process.dockerd.--config-file}"}
    tests: {test_items: [{path: "{.mode}", compare: {op: bitmask, value: "644"}}, {path: "{.path}", compare: {op: eq, value: /etc/docker/hardened.json}}]}
  - id: 990002
    number: "2"
    title: a process that does not run names no file
    risk: low
    assessment: automated
    source: {kind: file, path: "${process.kubelet.--config}"}
    tests: {test_items: [{path: "{.mode}", compare: {op: bitmask, value: "644"}}]}
`
	cat, err := checks.Load(checks.Tree{FS: fstest.MapFS{"t/standard.yaml": {Data: []byte(std)}, "t/i.yaml": {Data: []byte(items)}}, Origin: "t"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cat, Options{HostRoot: testhost.Tree(t, "hardened"), NoDocker: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]checks.Verdict{}
	for _, r := range rep.Results {
		got[r.ItemID] = r.Verdict
	}
	if v := got[990001]; v.Result != checks.ResultPassed {
		t.Errorf("flag-named file: %+v", v)
	}
	if v := got[990002]; v.Result != checks.ResultNotApplicable || !strings.Contains(v.Reason, "process.kubelet.--config is not set") {
		t.Errorf("absent process: %+v", v)
	}
}
