package apitest

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Exports are files of the daemon's process: a daemon restarted on the
// same data directory removes those its predecessor left (their jobs, and
// so their links, are gone with it), and says so in its log. The store
// it creates is its owner's only.
func TestExportsRemovedAtRestart(t *testing.T) {
	bin, data := binary(t), filepath.Join(t.TempDir(), "data")
	d := startDaemon(t, bin, data)
	c := newClient(t, d.addr, fullID, fullKey)
	var created struct{ JobId string }
	c.ok("CreateExportComplianceStatusListJob", map[string]any{"AssetType": "ASSET_HOST", "ExportByAsset": true, "ExportAll": true, "Format": "csv"}, &created)
	var res struct{ ExportStatus, DownloadURL string }
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c.ok("DescribeExportJobResult", map[string]any{"JobId": created.JobId}, &res)
		if res.ExportStatus != "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the export still runs after 30s")
		}
	}
	if res.ExportStatus != "SUCCESS" {
		t.Fatalf("export: %+v", res)
	}
	download := func() int {
		t.Helper()
		resp, err := http.Get(res.DownloadURL)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := download(); code != http.StatusOK {
		t.Fatalf("download: HTTP %d", code)
	}
	exports := filepath.Join(data, "exports")
	d.stop(t)
	files, _ := os.ReadDir(exports)
	if len(files) != 1 || !strings.HasPrefix(files[0].Name(), created.JobId) {
		t.Fatalf("after the stop, the exports directory holds %v, want the export", files)
	}

	d = startDaemon(t, bin, data)
	if files, _ := os.ReadDir(exports); len(files) != 0 {
		t.Errorf("after the restart, the exports directory still holds %v", files)
	}
	if !strings.Contains(d.stderr.String(), "removed exports left by a previous process") {
		t.Errorf("the removal is not logged:\n%s", d.stderr)
	}
	_, rest, _ := strings.Cut(res.DownloadURL, "/exports/")
	res.DownloadURL = "http://" + d.addr + "/exports/" + rest
	if code := download(); code != http.StatusNotFound {
		t.Errorf("the old link on the restarted daemon: HTTP %d, want 404", code)
	}
	for path, want := range map[string]os.FileMode{data: 0o700, exports: 0o700, filepath.Join(data, "baseline.db"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want mode %#o", path, err, want)
		}
	}
}
