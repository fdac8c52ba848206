package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	testbin.Cleanup()
	os.Exit(code)
}

// A scan process killed with SIGKILL in the middle of its task loses
// nothing stored before it, and the next start marks its task failed.
func TestKilledScanLosesNothing(t *testing.T) {
	cli := dockertest.Engine(t)
	for _, n := range []string{"kill-a", "kill-b", "kill-c"} {
		dockertest.Create(t, cli, dockertest.Name(n), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{Privileged: true})
	}
	bin := testbin.Path(t)
	data := t.TempDir()
	runBin := binOn(t, bin, data)
	runBin("scan", "--type", "container", "--progress", "never", "--format", "json", "-o", filepath.Join(t.TempDir(), "first.json"))
	before := runBin("summary", "--format", "json")

	// A second scan through an engine that answers inspects slowly: kill it
	// while its task runs.
	sock := dockertest.Proxy(t, cli, func(r *http.Request) (time.Duration, bool) {
		if dockertest.InspectPath.MatchString(r.URL.Path) {
			return 3 * time.Second, false
		}
		return 0, false
	})
	cmd := exec.Command(bin, "scan", "--type", "container", "--docker-host", "unix://"+sock, "--data-dir", data, "--progress", "never")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForRunningTask(t, data)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	after := runBin("summary", "--format", "json")
	var b, a []store.AssetSummary
	if err := json.Unmarshal(before, &b); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(after, &a); err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("summary rows %d, want %d", len(a), len(b))
	}
	for i := range b {
		// Counts are unchanged; only the check status reflects the failed task.
		a[i].CheckStatus, b[i].CheckStatus = "", ""
		if a[i] != b[i] {
			t.Errorf("after the kill:\n got %+v\nwant %+v", a[i], b[i])
		}
	}
	var tasks struct{ List []store.Task }
	if err := json.Unmarshal(runBin("tasks", "--format", "json"), &tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks.List) != 2 || tasks.List[0].Status != checks.CheckFailed || !strings.Contains(tasks.List[0].Error, "interrupted") ||
		tasks.List[1].Status != checks.CheckFinished {
		t.Errorf("tasks = %+v", tasks.List)
	}
}

// A scan process killed with SIGKILL after some of its results were
// written (each judged asset's are, as the scan goes) leaves none of them:
// they are never visible, and the next start deletes them with the task
// it marks failed.
func TestKilledScanLeavesNoWrittenResults(t *testing.T) {
	cli := dockertest.Engine(t)
	var slow string
	for _, n := range []string{"stream-a", "stream-b", "stream-c"} {
		slow = dockertest.Create(t, cli, dockertest.Name(n), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{Privileged: true})
	}
	bin := testbin.Path(t)
	data := t.TempDir()
	runBin := binOn(t, bin, data)
	runBin("scan", "--type", "container", "--progress", "never", "--format", "json", "-o", filepath.Join(t.TempDir(), "first.json"))
	before := runBin("summary", "--format", "json")

	// One container answers its inspect only after a minute: the others
	// are judged and their results written while the task still runs.
	sock := dockertest.Proxy(t, cli, func(r *http.Request) (time.Duration, bool) {
		if dockertest.InspectPath.MatchString(r.URL.Path) && strings.Contains(r.URL.Path, slow) {
			return time.Minute, false
		}
		return 0, false
	})
	cmd := exec.Command(bin, "scan", "--type", "container", "--docker-host", "unix://"+sock, "--data-dir", data, "--progress", "never")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(data, sqlite.FileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	written := func() (task int64, n int) {
		_ = raw.QueryRow("SELECT t.id, COUNT(r.task_id) FROM tasks t LEFT JOIN results r ON r.task_id = t.id WHERE t.status = 1 GROUP BY t.id").Scan(&task, &n)
		return task, n
	}
	var task int64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int
		if task, n = written(); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scan wrote no result while its task ran")
		}
	}
	if during := runBin("summary", "--format", "json"); !sameCounts(t, during, before) {
		t.Errorf("results written by the running task are visible:\n%s\nwant\n%s", during, before)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	if after := runBin("summary", "--format", "json"); !sameCounts(t, after, before) {
		t.Errorf("after the kill:\n%s\nwant\n%s", after, before)
	}
	var left, status int
	if err := raw.QueryRow("SELECT COUNT(*) FROM results WHERE task_id = ?", task).Scan(&left); err != nil || left != 0 {
		t.Errorf("the killed task's written results: %d left (%v), want none", left, err)
	}
	if err := raw.QueryRow("SELECT status FROM tasks WHERE id = ?", task).Scan(&status); err != nil || status != 3 {
		t.Errorf("the killed task's status = %d (%v), want failed", status, err)
	}
}

// sameCounts reports whether two summaries (JSON) agree but for the check
// status, which shows a running or failed task.
func sameCounts(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y []store.AssetSummary
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		x[i].CheckStatus, y[i].CheckStatus = "", ""
		x[i].CheckProgress, y[i].CheckProgress = 0, 0
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func waitForRunningTask(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil {
			db, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
			if err == nil {
				list, _, err := db.Tasks(context.Background(), store.Query{Filters: []store.Filter{{Name: "CheckStatus", Values: []string{"CHECK_RUNNING"}}}})
				db.Close()
				if err == nil && len(list) > 0 {
					time.Sleep(500 * time.Millisecond) // well inside the scan
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the scan never started its task")
}

// binOn runs the baseline binary on the data directory and returns its
// output; a failure fails the test.
func binOn(t *testing.T, bin, data string) func(args ...string) []byte {
	return func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--data-dir", data)...).Output()
		if err != nil {
			t.Fatalf("baseline %v: %v\n%s", args, err, out)
		}
		return out
	}
}
