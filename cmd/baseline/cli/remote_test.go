package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// startDaemon runs `baseline serve` on a free loopback port over dataDir
// with a full and a read-only key, and stops it with SIGTERM at cleanup.
func startDaemon(t *testing.T, bin, dataDir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("log_level: warn\napi:\n  keys:\n    - {secret_id: AKIDfull, secret_key: full-secret}\n    - {secret_id: AKIDro, secret_key: ro-secret, read_only: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg, "--data-dir", dataDir, "--listen", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("daemon exit: %v", err)
		}
	})
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader("{}")); err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
	}
	t.Fatal("the daemon did not answer")
	return ""
}

// The query, ignore, recheck and schedule commands drive a remote daemon
// with --server, and see the same store as the daemon's host.
func TestCLIAgainstARemoteDaemon(t *testing.T) {
	e := setupCLIEnv(t)
	bin := testbin.Path(t)
	data := getenvDataDir(t)
	url := startDaemon(t, bin, data)
	full := []string{"--server", url, "--secret-id", "AKIDfull", "--secret-key", "full-secret"}
	ro := []string{"--server", url, "--secret-id", "AKIDro", "--secret-key", "ro-secret"}

	var local, remote []store.AssetSummary
	e.json(&local, "summary")
	e.json(&remote, append(full, "summary")...)
	if len(local) == 0 || len(local) != len(remote) {
		t.Fatalf("summaries: local %d rows, remote %d", len(local), len(remote))
	}
	for i := range local {
		if local[i].AssetCount != remote[i].AssetCount || local[i].FailedAssetCount != remote[i].FailedAssetCount ||
			local[i].FailedPolicyItemCount != remote[i].FailedPolicyItemCount || local[i].AssetPassedRate != remote[i].AssetPassedRate {
			t.Errorf("%s: local %+v, remote %+v", local[i].AssetType, local[i], remote[i])
		}
	}
	var affected struct {
		TotalCount int
		List       []results.Row
	}
	e.json(&affected, append(full, "item", item55, "--result", "failed")...)
	found := false
	for _, r := range affected.List {
		found = found || (r.AssetID == e.priv && r.Result == "RESULT_FAILED" && len(r.Evidence) > 0)
	}
	if !found {
		t.Errorf("remote item 5.5: the privileged container is not listed as failed with evidence: %+v", affected.List)
	}

	// Ignore through the daemon; the local store sees it.
	e.ok(append(full, "ignore", "add", "--item", item55, "--asset", fmt.Sprint(e.priv), "--reason", "remote waiver")...)
	if a := e.asset(e.priv); a.IgnoredCount != 1 {
		t.Errorf("after a remote ignore: %+v", a)
	}
	// A read-only key may read, not change.
	if code, _, stderr := run(t, append(ro, "ignore", "add", "--item", item511, "--all", "--reason", "x")...); code != ExitError || !strings.Contains(stderr, "AuthFailure.UnauthorizedOperation") {
		t.Errorf("read-only ignore: exit %d %s", code, stderr)
	}
	e.ok(append(ro, "assets")...)
	if code, _, stderr := run(t, "--server", url, "--secret-id", "AKIDfull", "--secret-key", "wrong", "summary"); code != ExitError || !strings.Contains(stderr, "AuthFailure.SignatureFailure") {
		t.Errorf("wrong key: exit %d %s", code, stderr)
	}
	var ls struct{ List []store.WhitelistEntry }
	e.json(&ls, append(full, "ignore", "ls")...)
	if len(ls.List) != 1 || ls.List[0].Reason != "remote waiver" {
		t.Fatalf("remote ignore ls = %+v", ls.List)
	}
	e.ok(append(full, "ignore", "rm", fmt.Sprint(ls.List[0].ID))...)

	// A remote recheck runs on the daemon.
	out := e.ok(append(full, "recheck", "--asset", fmt.Sprint(e.safe))...)
	if !strings.Contains(out, "Started task") {
		t.Fatalf("remote recheck: %q", out)
	}
	var task store.Task
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if task = e.lastTask(); task.Status != "CHECK_RUNNING" {
			break
		}
	}
	if task.Trigger != store.TriggerRecheck || task.Status != "CHECK_FINISHED" {
		t.Errorf("remote recheck task = %+v", task)
	}
	// Schedules.
	e.ok(append(full, "schedule", "set", "--type", "container", "--every", "7", "--at", "04:15:00", "--enable")...)
	var periods []struct {
		AssetType  string
		PeriodRule store.PeriodRule
	}
	e.json(&periods, "schedule", "show")
	for _, p := range periods {
		if p.AssetType == "ASSET_CONTAINER" && (p.PeriodRule != store.PeriodRule{Frequency: 7, ExecutionTime: "04:15:00", Enable: true}) {
			t.Errorf("container period rule = %+v", p.PeriodRule)
		}
	}
}

// A daemon that was down when its period task was due runs it once at
// start-up, not once per missed period.
func TestDaemonCatchesUpAMissedPeriodTaskOnce(t *testing.T) {
	e := setupCLIEnv(t)
	data := getenvDataDir(t)
	// Ten days ago the container task was set to run daily and ran; the
	// daemon has been down since: ten periods missed.
	tenDaysAgo := time.Now().Add(-10 * 24 * time.Hour)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, data, sqlite.Options{Now: func() time.Time { return tenDaysAgo }})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EnsurePeriodTasks(ctx); err != nil {
		t.Fatal(err)
	}
	periods, err := db.PeriodTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range periods {
		if p.AssetType == "ASSET_CONTAINER" {
			if _, err := db.SetPeriodTask(ctx, p.ID, &store.PeriodRule{Frequency: 1, ExecutionTime: "03:00:00", Enable: true}, nil); err != nil {
				t.Fatal(err)
			}
			if err := db.MarkPeriodTriggered(ctx, p.ID, tenDaysAgo.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()
	startDaemon(t, testbin.Path(t), data)
	var tasks struct{ List []store.Task }
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		e.json(&tasks, "tasks", "--filter", "Trigger=period")
		if len(tasks.List) > 0 && tasks.List[0].Status != "CHECK_RUNNING" {
			break
		}
	}
	time.Sleep(2 * time.Second) // a second catch-up would have started by now
	e.json(&tasks, "tasks", "--filter", "Trigger=period")
	if len(tasks.List) != 1 || tasks.List[0].Status != "CHECK_FINISHED" || len(tasks.List[0].Scope.Types) != 1 {
		t.Fatalf("period tasks after start-up = %+v, want exactly one finished container scan", tasks.List)
	}
}
