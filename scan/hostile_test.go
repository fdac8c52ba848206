package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
)

// loadUserStandard loads one standard written to a temporary directory, as
// a user's --benchmarks directory is.
func loadUserStandard(t *testing.T, files map[string]string) *checks.Catalog {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := checks.Load(checks.Tree{FS: os.DirFS(dir), Origin: dir})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// reportJSON is everything a scan reports about its assets, as JSON: the
// assets, every result with its reason and evidence, the failures.
func reportJSON(t *testing.T, rep *results.Report) string {
	t.Helper()
	data, err := json.Marshal(struct {
		Assets   []assets.Asset
		Results  []results.Result
		Failures []results.AssetFailure
	}{rep.Assets, rep.Results, rep.Failures})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

const globStandard = `standard: {id: globs, name: Globs, version: "1", asset_types: [host]}
category: Files
asset_type: host
items:
  - {id: 9300001, number: "1", title: dot-dot at the root, risk: low, assessment: automated,
     source: {kind: file, glob: ["/../../../outside/*", "/../outside/*"]}, tests: {test_items: [{path: "{.mode}", set: true}]}}
  - {id: 9300002, number: "2", title: a link to a directory outside, risk: low, assessment: automated,
     source: {kind: file, glob: ["/etc/rel/*", "/etc/abs/*"]}, tests: {test_items: [{path: "{.mode}", set: true}]}}
  - {id: 9300003, number: "3", title: every directory, risk: low, assessment: automated,
     source: {kind: file, glob: ["/etc/*/*"]}, tests: {test_items: [{path: "{.mode}", set: true}]}}
`

// TestGlobsStayInsideTheHostRoot: a benchmark's globs list names inside
// --host-root only, whether they climb with ".." or go through a symbolic
// link to a directory outside it; files inside are still found.
func TestGlobsStayInsideTheHostRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	outside := filepath.Join(parent, "outside")
	writeFile(t, root, "/etc/app/inside.conf", "x\n")
	writeFile(t, parent, "/outside/outside-secret-name.conf", "x\n")
	if err := os.Symlink("../../outside", filepath.Join(root, "etc", "rel")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "etc", "abs")); err != nil {
		t.Fatal(err)
	}
	cat := loadUserStandard(t, map[string]string{"globs/standard.yaml": globStandard})
	rep, err := Run(context.Background(), cat, Options{HostRoot: root, NoDocker: true, NoKube: true, Types: []assets.Type{assets.Host}})
	if err != nil {
		t.Fatal(err)
	}
	if out := reportJSON(t, rep); strings.Contains(out, "outside-secret-name") {
		t.Errorf("the report names a file outside the host root: %s", out)
	}
	host := rep.Host.ID
	for _, id := range []uint64{9300001, 9300002} {
		if v := testhost.Result(t, rep, id, host); v.Result != checks.ResultNotApplicable {
			t.Errorf("item %d: %+v, want not applicable (nothing matches inside the root)", id, v)
		}
	}
	if v := testhost.Result(t, rep, 9300003, host); v.Result != checks.ResultPassed || evidenceSources(v) != "file /etc/app/inside.conf" {
		t.Errorf("item 9300003: %+v, want passed on /etc/app/inside.conf alone", v)
	}
}

// hostileKubelet are the flags of a process named kubelet that names host
// files: the kubelet configuration at a path that exists both on the host
// and in the process's own root, and host-only files.
func hostileKubelet(config, hostOnly string) []string {
	return []string{"/fake/kubelet", "--config=" + config, "--kubeconfig=" + hostOnly, "--client-ca-file=/etc/shadow"}
}

const (
	// The host's decoy configuration: values that must never show.
	decoyConfig = "readOnlyPort: 48213\nauthentication:\n  anonymous:\n    enabled: true\n"
	// The configuration inside the process's own root.
	ownConfig = "readOnlyPort: 0\nauthentication:\n  anonymous:\n    enabled: false\n"
	// A host-only file's content.
	hostOnlyContent = "host-only-content-5c1e\n"
)

// assertReadAsTheProcessSeesIt checks a node scan of the hostile kubelet:
// its configuration is the one in its own root (readOnlyPort 0, mode
// 0644), and nothing of the host's files (the decoy configuration, a
// host-only file, /etc/shadow) shows: no content, no mode, no owner.
func assertReadAsTheProcessSeesIt(t *testing.T, rep *results.Report, got map[string]checks.Verdict, hostOnly string) {
	t.Helper()
	out := reportJSON(t, rep)
	for _, leak := range []string{"48213", "host-only-content", "shadow-content"} {
		if strings.Contains(out, leak) {
			t.Errorf("the report shows %q, read from a host file the process cannot see", leak)
		}
	}
	for n, v := range got {
		for _, e := range v.Evidence {
			absent := strings.HasPrefix(e.Actual, "not set") || e.Subject == "{.exists}" && e.Actual == "false"
			if (strings.Contains(e.Source, hostOnly) || strings.Contains(e.Source, "/etc/shadow")) && !absent {
				t.Errorf("%s: evidence %+v describes a host-only file", n, e)
			}
		}
	}
	if e := got["4.2.4"].Evidence; len(e) != 1 || e[0].Actual != "0" {
		t.Errorf("4.2.4 evidence = %+v, want readOnlyPort 0 from the process's own configuration", e)
	}
	if e := got["4.1.9"].Evidence; len(e) != 1 || e[0].Actual != "0644" {
		t.Errorf("4.1.9 evidence = %+v, want mode 0644 of the process's own configuration", e)
	}
}

// TestProcessFilesReadAsTheProcessSeesThem (fixture): a process named
// kubelet whose root is a container's file system names host files with
// its flags; the files read are those of its own root, never the host's.
func TestProcessFilesReadAsTheProcessSeesThem(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "/etc/hostname", "node-1\n")
	writeFile(t, root, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
	writeFile(t, root, "/etc/shadow", "root:x:0:0:shadow-content\n")
	writeFile(t, root, "/etc/kubernetes/kubelet-config.yaml", decoyConfig)
	writeFile(t, root, "/root/host-only.conf", hostOnlyContent)
	for _, f := range []string{"/etc/shadow", "/etc/kubernetes/kubelet-config.yaml", "/root/host-only.conf"} {
		if err := os.Chmod(filepath.Join(root, f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctr := "/var/lib/containers/c1/rootfs"
	writeFile(t, root, ctr+"/etc/kubernetes/kubelet-config.yaml", ownConfig)
	// Links inside the container that point at the host's files resolve
	// inside the container.
	if err := os.Symlink("/root/host-only.conf", filepath.Join(root, ctr, "etc", "abs-link")); err != nil {
		t.Fatal(err)
	}
	writeProcIn(t, root, 7001, ctr, hostileKubelet("/etc/kubernetes/kubelet-config.yaml", "/root/host-only.conf")...)

	cat := testhost.Builtin(t)
	items := cisK8sNodeItems(t, cat, "4.")
	rep, got := scanK8sNodeReport(t, cat, root, items)
	assertReadAsTheProcessSeesIt(t, rep, got, "/root/host-only.conf")
}

// TestContainerProcessCannotChooseHostFiles (real container): a process
// named kubelet runs in a container with flags naming host files: a
// decoy configuration at a path that the container also has (its own
// copy differs), a host-only file of mode 0600, /etc/shadow. Scanning the
// host with the node items reads the container's files, and nothing of
// the host's decoys shows in the report.
func TestContainerProcessCannotChooseHostFiles(t *testing.T) {
	cli := dockertest.Engine(t)
	testhost.RequireRoot(t, "reading another process's root directory")
	fake := testhost.FakeProcess(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "kubelet-config.yaml")
	hostOnly := filepath.Join(dir, "host-only.conf")
	for f, content := range map[string]string{config: decoyConfig, hostOnly: hostOnlyContent} {
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	argv := hostileKubelet(config, hostOnly)
	id := dockertest.Create(t, cli, fmt.Sprintf("bltest-hostile-kubelet-%d", os.Getpid()),
		&container.Config{Image: "baseline-test/base:1", Entrypoint: argv[:1], Cmd: argv[1:]}, &container.HostConfig{})
	bin, err := os.ReadFile(fake)
	if err != nil {
		t.Fatal(err)
	}
	dockertest.CopyFiles(t, cli, id, []dockertest.File{
		{Path: "/fake/kubelet", Mode: 0o755, Data: bin},
		{Path: config, Mode: 0o644, Data: []byte(ownConfig)},
	})
	dockertest.Start(t, cli, id)
	waitForProcess(t, "kubelet", "--config="+config)

	cat := testhost.Builtin(t)
	items := cisK8sNodeItems(t, cat, "4.")
	rep, got := scanK8sNodeReport(t, cat, "/", items)
	assertReadAsTheProcessSeesIt(t, rep, got, hostOnly)
}

// waitForProcess waits until a process of the name with the argument runs
// on this machine.
func waitForProcess(t *testing.T, name, arg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs, err := hostfs.New("/").FindProcesses(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			if slices.Contains(p.Args, arg) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s process with %s after 30s", name, arg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
