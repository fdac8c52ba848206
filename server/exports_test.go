package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store/sqlite"
)

// exportJob creates an export and waits until it is no longer running; it
// returns the job id and its download link.
func (a *testAPI) exportJob() (string, *url.URL) {
	a.t.Helper()
	var created struct{ JobId string }
	a.ok("CreateExportComplianceStatusListJob", map[string]any{"AssetType": "ASSET_CONTAINER", "ExportByAsset": true, "ExportAll": true, "Format": "csv"}, &created)
	var res struct {
		ExportStatus, DownloadURL, FailureMsg string
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a.ok("DescribeExportJobResult", map[string]any{"JobId": created.JobId}, &res)
		if res.ExportStatus != "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("export %s still running after 30s", created.JobId)
		}
	}
	if res.ExportStatus != "SUCCESS" {
		a.t.Fatalf("export: %+v", res)
	}
	u, err := url.Parse(res.DownloadURL)
	if err != nil {
		a.t.Fatal(err)
	}
	return created.JobId, u
}

// get downloads a link and returns the status.
func get(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// withExpiry re-signs a link for another expiry, with the key that
// created the job (what a holder of the key can do).
func withExpiry(u *url.URL, job string, expires int64) string {
	v := u.Query()
	v.Set("Expires", strconv.FormatInt(expires, 10))
	v.Set("Signature", api.DownloadSignature(goldenSecretKey, job, expires))
	out := *u
	out.RawQuery = v.Encode()
	return out.String()
}

// A download link lives at most as long as its export (24 hours from its
// end): the server never signs beyond that, a link signed by hand beyond
// it (Expires=9999999999) is refused, and once the export expires its
// file is removed and its links and its job are gone, without a new job
// to prune it.
func TestDownloadLinksEndWithTheirExport(t *testing.T) {
	a := newTestAPI(t, nil)
	job, link := a.exportJob()
	if code := get(t, link.String()); code != http.StatusOK {
		t.Fatalf("the job's own link: HTTP %d", code)
	}
	if code := get(t, withExpiry(link, job, 9999999999)); code != http.StatusForbidden {
		t.Errorf("a link signed to expire in 2286: HTTP %d, want 403", code)
	}
	start := a.clock.now()
	// 23.5 hours on, a new link ends with the export, not an hour later.
	a.clock.step(23*time.Hour + 30*time.Minute)
	var res struct{ DownloadURL string }
	a.ok("DescribeExportJobResult", map[string]any{"JobId": job}, &res)
	late, _ := url.Parse(res.DownloadURL)
	expires, _ := strconv.ParseInt(late.Query().Get("Expires"), 10, 64)
	if limit := start.Add(24 * time.Hour).Unix(); expires > limit || expires < start.Add(23*time.Hour+59*time.Minute).Unix() {
		t.Errorf("a link signed 23.5 hours on expires at %d, want the export's end (about %d)", expires, limit)
	}
	if code := get(t, late.String()); code != http.StatusOK {
		t.Errorf("the late link: HTTP %d", code)
	}
	if code := get(t, withExpiry(late, job, expires+3600)); code != http.StatusForbidden {
		t.Errorf("a link signed an hour past the export's end: HTTP %d, want 403", code)
	}
	files, _ := os.ReadDir(a.exportDir)
	if len(files) != 1 {
		t.Fatalf("the exports directory holds %d files, want the export", len(files))
	}
	a.clock.step(time.Hour)
	if code := get(t, late.String()); code != http.StatusNotFound {
		t.Errorf("a link of an expired export: HTTP %d, want 404", code)
	}
	if files, _ := os.ReadDir(a.exportDir); len(files) != 0 {
		t.Errorf("the expired export's file is still there: %v", files)
	}
	wantError(t, "the expired job", a.call("DescribeExportJobResult", map[string]any{"JobId": job}), api.ResourceNotFound, job)
}

// Files in the exports directory when the server starts were left by a
// previous process, whose jobs are gone: they are removed.
func TestExportsOfAPreviousProcessRemovedAtStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "exports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0b5e2a4c-1d7f-4e88-9a0b-2c3d4e5f6a7b.xlsx", ".export-123"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cat := &checks.Catalog{}
	if err := cat.Add(testhost.GoldenReport().Standards...); err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(ctx, cat, db, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs testhost.Buffer
	if _, err := server.New(db, r, server.Options{Keys: []server.Key{{SecretID: goldenSecretID, SecretKey: goldenSecretKey}},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), ExportDir: dir}); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("files left at start: %v", files)
	}
	if !strings.Contains(logs.String(), "files=2") {
		t.Errorf("the removal is not logged:\n%s", logs.String())
	}
}
