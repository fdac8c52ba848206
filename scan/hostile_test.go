package scan

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
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
		if v := resultOf(t, rep, id, host); v.Result != checks.ResultNotApplicable {
			t.Errorf("item %d: %+v, want not applicable (nothing matches inside the root)", id, v)
		}
	}
	if v := resultOf(t, rep, 9300003, host); v.Result != checks.ResultPassed || evidenceSources(v) != "file /etc/app/inside.conf" {
		t.Errorf("item 9300003: %+v, want passed on /etc/app/inside.conf alone", v)
	}
}
