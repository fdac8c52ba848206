package cli

import (
	"context"
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
	runBin := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--data-dir", data)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("baseline %v: %v\n%s", args, err, out)
		}
		return out
	}
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
