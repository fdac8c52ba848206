package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// `scan --server` scans this host's engine here and uploads the scan to a
// real daemon process: the daemon's store holds the host's results as a
// task of its own (trigger upload), whose id is printed, and the local
// store is never created. A scan of chosen assets is uploaded as a
// partial scan of them. A scan in an export format, uploaded whole rather
// than streamed, is recorded alike. A refused upload exits 1 with the
// daemon's error and records nothing; --no-store prints only.
func TestScanUploadsToADaemon(t *testing.T) {
	engine := dockertest.Engine(t)
	privName := dockertest.Name("up-priv")
	priv := dockertest.Create(t, engine, privName, &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{Privileged: true})
	local := getenvDataDir(t)
	daemonData := t.TempDir()
	url := startDaemon(t, testbin.Path(t), daemonData)
	full := []string{"--server", url, "--secret-id", "AKIDfull", "--secret-key", "full-secret"}
	daemonTasks := func() []store.Task {
		t.Helper()
		code, out, stderr := run(t, "--data-dir", daemonData, "tasks", "--format", "json", "--limit", "100")
		if code != ExitOK {
			t.Fatalf("tasks in the daemon's store: exit %d: %s", code, stderr)
		}
		var l struct{ List []store.Task }
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatal(err)
		}
		return l.List
	}
	recorded := regexp.MustCompile(`ecorded as task (\d+) \(upload\) on ` + regexp.QuoteMeta(url))

	// The whole container scan, as JSON: the task line goes to stderr.
	report := filepath.Join(t.TempDir(), "report.json")
	code, _, stderr := run(t, append(full, "scan", "--type", "container", "--progress", "never", "--format", "json", "-o", report)...)
	if code != ExitOK {
		t.Fatalf("scan --server: exit %d: %s", code, stderr)
	}
	m := recorded.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("scan --server does not say which task the daemon recorded:\n%s", stderr)
	}
	taskID, _ := strconv.ParseInt(m[1], 10, 64)
	var doc struct {
		Results []struct{ CustomerAssetId uint64 }
		Assets  []struct {
			Asset struct{ CustomerAssetId uint64 }
		}
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	list := daemonTasks()
	if len(list) != 1 || list[0].ID != taskID || list[0].Trigger != store.TriggerUpload || list[0].Status != "CHECK_FINISHED" ||
		list[0].ResultCount != len(doc.Results) || len(list[0].Scope.Assets) != 0 {
		t.Fatalf("the daemon's tasks = %+v, want task %d: a finished full upload of the scan's %d results", list, taskID, len(doc.Results))
	}

	// The daemon's API lists the host's containers, the privileged one
	// failing 5.5 with evidence.
	var containers struct {
		TotalCount int
		List       []store.AssetInfo
	}
	code, out, stderr := run(t, append(full, "assets", "--type", "container", "--limit", "100", "--format", "json")...)
	if code != ExitOK || json.Unmarshal([]byte(out), &containers) != nil {
		t.Fatalf("assets through the daemon: exit %d: %s", code, stderr)
	}
	if containers.TotalCount != len(doc.Assets) {
		t.Errorf("the daemon lists %d containers, the scan found %d", containers.TotalCount, len(doc.Assets))
	}
	var named struct{ List []store.AssetInfo }
	code, out, stderr = run(t, append(full, "assets", "--type", "container", "--filter", "AssetName="+privName, "--exact", "--format", "json")...)
	if code != ExitOK || json.Unmarshal([]byte(out), &named) != nil {
		t.Fatalf("assets named %s through the daemon: exit %d: %s", privName, code, stderr)
	}
	var privID uint64
	for _, a := range named.List {
		if a.Name == privName {
			privID = a.ID
		}
	}
	var affected struct{ List []results.Row }
	code, out, stderr = run(t, append(full, "item", item55, "--result", "failed", "--format", "json")...)
	if code != ExitOK || json.Unmarshal([]byte(out), &affected) != nil {
		t.Fatalf("item 5.5 through the daemon: exit %d: %s", code, stderr)
	}
	if privID == 0 || !slices.ContainsFunc(affected.List, func(r results.Row) bool {
		return r.AssetID == privID && r.TaskID == taskID && len(r.Evidence) > 0
	}) {
		t.Errorf("the privileged container %s (%d) is not failing 5.5 from task %d with evidence: %+v", priv, privID, taskID, affected.List)
	}

	// An export format needs the whole report before it is written: that
	// scan is uploaded whole, and recorded as the streamed one was.
	code, _, stderr = run(t, append(full, "scan", "--type", "container", "--progress", "never", "--format", "csv", "-o", filepath.Join(t.TempDir(), "report.csv"))...)
	if code != ExitOK {
		t.Fatalf("scan --server --format csv: exit %d: %s", code, stderr)
	}
	if list = daemonTasks(); len(list) != 2 || list[0].ID == taskID || list[0].ResultCount != len(doc.Results) || list[0].Status != "CHECK_FINISHED" {
		t.Fatalf("the daemon's tasks after a CSV scan = %+v, want a second finished task of %d results", list, len(doc.Results))
	}

	// One asset, as a table: a partial scan of it.
	code, out, stderr = run(t, append(full, "scan", "--type", "container", "--asset", privName, "--progress", "never")...)
	m = recorded.FindStringSubmatch(out)
	if code != ExitOK || m == nil {
		t.Fatalf("scan --server --asset: exit %d, no task line:\n%s\n%s", code, out, stderr)
	}
	list = daemonTasks()
	if list[0].ID == taskID || strconv.FormatInt(list[0].ID, 10) != m[1] || !slices.Equal(list[0].Scope.Assets, []uint64{privID}) {
		t.Errorf("the daemon's newest task = %+v, want task %s scoped to asset %d", list[0], m[1], privID)
	}

	// Refusals exit 1 with the daemon's error; --no-store uploads nothing.
	n := len(list)
	code, _, stderr = run(t, "--server", url, "--secret-id", "AKIDro", "--secret-key", "ro-secret", "scan", "--type", "container", "--asset", privName, "--progress", "never")
	if code != ExitError || !strings.Contains(stderr, "refused the upload") || !strings.Contains(stderr, "AuthFailure.UnauthorizedOperation") {
		t.Errorf("upload with the read-only key: exit %d: %s", code, stderr)
	}
	code, _, stderr = run(t, append(full, "scan", "--benchmarks", "../../../testdata/benchmarks/custom", "--standard", "acme-docker-1",
		"--no-docker", "--progress", "never")...)
	if code != ExitError || !strings.Contains(stderr, `standard "acme-docker-1" is not in this daemon's catalog`) {
		t.Errorf("upload of a standard the daemon lacks: exit %d: %s", code, stderr)
	}
	code, out, stderr = run(t, append(full, "scan", "--type", "container", "--progress", "never", "--no-store")...)
	if code != ExitOK || strings.Contains(out, "Recorded as task") || !strings.Contains(out, privName) {
		t.Errorf("scan --server --no-store: exit %d, want the table and no task:\n%s\n%s", code, out, stderr)
	}
	if got := len(daemonTasks()); got != n {
		t.Errorf("the refused and --no-store scans left %d tasks on the daemon, want %d", got, n)
	}

	// The local store was never opened.
	if _, err := os.Stat(filepath.Join(local, "baseline.db")); !os.IsNotExist(err) {
		t.Errorf("the local store exists after scans uploaded with --server: %v", err)
	}
}

// An upload whose answer is lost on the way back (the daemon recorded it)
// is sent again by `scan --server` under the same idempotency key: the
// daemon answers the retry with the first attempt's task and records
// nothing more, so the scan is recorded once and the command succeeds.
func TestScanUploadRetriedAfterALostAnswerIsRecordedOnce(t *testing.T) {
	dockertest.Engine(t)
	getenvDataDir(t)
	daemonData := t.TempDir()
	target, err := url.Parse(startDaemon(t, testbin.Path(t), daemonData))
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	var uploads atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-TC-Action") != api.UploadAction {
			forward.ServeHTTP(w, r)
			return
		}
		if uploads.Add(1) == 1 {
			rec := httptest.NewRecorder()
			forward.ServeHTTP(rec, r) // the daemon records the upload...
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"TaskId"`) {
				t.Errorf("the first upload was not recorded: HTTP %d %s", rec.Code, rec.Body)
			}
			panic(http.ErrAbortHandler) // ...and its answer is lost
		}
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	code, out, stderr := run(t, "--server", proxy.URL, "--secret-id", "AKIDfull", "--secret-key", "full-secret",
		"scan", "--type", "container", "--progress", "never")
	if code != ExitOK {
		t.Fatalf("scan --server through a connection that lost the first answer: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "upload attempt 1 of 4") {
		t.Errorf("the lost answer is not reported as a failed attempt:\n%s", stderr)
	}
	if n := uploads.Load(); n != 2 {
		t.Errorf("the daemon received %d uploads, want 2 (the first, and one retry)", n)
	}
	code, tasks, stderr := run(t, "--data-dir", daemonData, "tasks", "--format", "json")
	if code != ExitOK {
		t.Fatalf("tasks in the daemon's store: exit %d: %s", code, stderr)
	}
	var l struct{ List []store.Task }
	if err := json.Unmarshal([]byte(tasks), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.List) != 1 || !strings.Contains(out, "ecorded as task "+strconv.FormatInt(l.List[0].ID, 10)+" (upload)") {
		t.Errorf("the daemon recorded %d tasks (%+v), want one, named by the command:\n%s", len(l.List), l.List, out)
	}
}
