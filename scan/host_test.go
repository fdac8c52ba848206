package scan

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
)

// verdicts scans a fixture host without an engine and returns the verdict
// of each CIS Docker host item by number.
func verdicts(t *testing.T, host string) map[string]checks.Verdict {
	t.Helper()
	root := testhost.Tree(t, host)
	rep, err := Run(context.Background(), testhost.Builtin(t), Options{
		HostRoot: root, NoDocker: true, Types: []assets.Type{assets.Host}, Standards: []string{"cis-docker-1.6.0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := testhost.OnlyAsset(t, rep, assets.Host)
	if a.Name != host {
		t.Fatalf("assets = %+v, want the one host %q", rep.Assets, host)
	}
	return testhost.Verdicts(t, rep, a.ID)
}

// The verdicts a fixture host case wants, by item number.
var pass, fail, na, manual = testhost.Pass, testhost.Fail, testhost.NA, testhost.Manual

// noEngine wants item n not checked for want of an engine (the scan runs
// without one).
func noEngine(n string) testhost.Want { return testhost.CheckFailed(n, "docker engine unavailable") }

// The hardened host's dockerd runs with --config-file naming hardened.json;
// the default daemon.json beside it is a decoy with insecure values that a
// checker reading the wrong file would judge.
func TestHardenedHostFixture(t *testing.T) {
	got := verdicts(t, "hardened")
	testhost.AssertVerdicts(t, got, []testhost.Want{
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
	testhost.AssertVerdicts(t, got, []testhost.Want{
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
