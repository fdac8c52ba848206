package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/store"
)

// Item ids used below (CIS Docker 1.6.0).
const (
	item55  = "100505" // privileged
	item511 = "100511" // memory limit
	item513 = "100513" // read-only root
	item529 = "100529" // pids limit
)

type cliEnv struct {
	t          *testing.T
	priv, safe uint64
}

func (e *cliEnv) ok(args ...string) string {
	e.t.Helper()
	code, out, stderr := run(e.t, args...)
	if code != ExitOK {
		e.t.Fatalf("baseline %v: exit %d: %s", args, code, stderr)
	}
	return out
}

func (e *cliEnv) json(v any, args ...string) {
	e.t.Helper()
	if err := json.Unmarshal([]byte(e.ok(append(args, "--format", "json")...)), v); err != nil {
		e.t.Fatalf("baseline %v: %v", args, err)
	}
}

func (e *cliEnv) asset(id uint64) store.AssetInfo {
	var out struct{ Asset store.AssetInfo }
	e.json(&out, "asset", fmt.Sprint(id))
	return out.Asset
}

func (e *cliEnv) lastTask() store.Task {
	var out struct{ List []store.Task }
	e.json(&out, "tasks", "--limit", "1")
	return out.List[0]
}

func setupCLIEnv(t *testing.T) *cliEnv {
	cli := dockertest.Engine(t)
	priv := dockertest.Create(t, cli, dockertest.Name("cli-priv"), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{Privileged: true})
	safe := dockertest.Create(t, cli, dockertest.Name("cli-safe"), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{})
	e := &cliEnv{t: t}
	e.ok("scan", "--type", "container", "--progress", "never", "--format", "json", "-o", t.TempDir()+"/r.json")
	// The engine may hold other containers than this test's: page
	// through the list until both are found.
	listed := 0
	for offset := 0; e.priv == 0 || e.safe == 0; offset += 100 {
		var list struct {
			TotalCount int
			List       []store.AssetInfo
		}
		e.json(&list, "assets", "--type", "container", "--limit", "100", "--offset", strconv.Itoa(offset))
		for _, a := range list.List {
			switch a.Ref {
			case priv:
				e.priv = a.ID
			case safe:
				e.safe = a.ID
			}
		}
		listed += len(list.List)
		if len(list.List) == 0 || listed >= list.TotalCount {
			break
		}
	}
	if e.priv == 0 || e.safe == 0 {
		t.Fatalf("containers %s and %s not among the %d containers in the store", priv, safe, listed)
	}
	return e
}

func TestIgnoreKindsFromTheCLI(t *testing.T) {
	e := setupCLIEnv(t)
	failedBefore := e.asset(e.priv).FailedPolicyItemCount

	// Kind 1: an item on every asset.
	var entries []store.WhitelistEntry
	e.json(&entries, "ignore", "add", "--item", item55, "--all", "--reason", "lab", "--by", "alice")
	if len(entries) != 1 || !entries[0].AllAssets || entries[0].CreatedBy != "alice" {
		t.Fatalf("kind 1 entry = %+v", entries)
	}
	if a := e.asset(e.priv); a.FailedPolicyItemCount != failedBefore-1 || a.IgnoredCount != 1 {
		t.Errorf("after kind 1: %+v", a)
	}
	// Kind 2: a set of items on one asset.
	e.json(&entries, "ignore", "add", "--item", item511+","+item513, "--asset", fmt.Sprint(e.priv), "--reason", "batch", "--expires", "30d")
	if len(entries) != 2 || entries[0].ExpiresAt == "" {
		t.Fatalf("kind 2 entries = %+v", entries)
	}
	if a := e.asset(e.priv); a.FailedPolicyItemCount != failedBefore-3 || a.IgnoredCount != 3 {
		t.Errorf("after kind 2: %+v", a)
	}
	// Kind 3: one item on a set of assets.
	e.json(&entries, "ignore", "add", "--item", item529, "--asset", fmt.Sprintf("%d,%d", e.priv, e.safe), "--reason", "pids unsupported")
	if len(entries) != 1 || entries[0].AssetCount != 2 {
		t.Fatalf("kind 3 entry = %+v", entries)
	}
	var ls struct {
		TotalCount int
		List       []store.WhitelistEntry
	}
	e.json(&ls, "ignore", "ls", "--filter", "Name=PIDs")
	if ls.TotalCount != 1 || ls.List[0].ItemID != 100529 {
		t.Errorf("ignore ls by name = %+v", ls)
	}
	// Removals, each kind: normal checking resumes at once.
	e.ok("ignore", "rm", "--item", item529, "--asset", fmt.Sprint(e.safe))
	e.ok("ignore", "rm", "--item", item511+","+item513+","+item529, "--asset", fmt.Sprint(e.priv))
	e.json(&ls, "ignore", "ls")
	if ls.TotalCount != 1 {
		t.Fatalf("entries left: %+v", ls)
	}
	e.ok("ignore", "rm", fmt.Sprint(ls.List[0].ID))
	if a := e.asset(e.priv); a.FailedPolicyItemCount != failedBefore || a.IgnoredCount != 0 {
		t.Errorf("after removals: %+v", a)
	}
	if code, _, stderr := run(t, "ignore", "add", "--item", item55, "--all"); code != ExitError || !strings.Contains(stderr, "--reason") {
		t.Errorf("ignore without a reason: exit %d %s", code, stderr)
	}
}

func TestRecheckKindsFromTheCLI(t *testing.T) {
	e := setupCLIEnv(t)
	check := func(name string, wantResults int, args ...string) {
		t.Helper()
		e.ok(append([]string{"recheck", "--progress", "never", "--format", "json"}, args...)...)
		task := e.lastTask()
		if task.Trigger != store.TriggerRecheck || task.ResultCount != wantResults {
			t.Errorf("%s: task %+v, want a recheck with %d results", name, task, wantResults)
		}
	}
	perContainer := e.asset(e.safe).PassedPolicyItemCount + e.asset(e.safe).FailedPolicyItemCount
	perContainer += e.asset(e.safe).ManualCount + e.asset(e.safe).NotApplicableCount + e.asset(e.safe).CheckFailedCount
	var containers struct{ TotalCount int }
	e.json(&containers, "assets", "--type", "container")

	check("assets", perContainer, "--asset", fmt.Sprint(e.safe))
	check("items", containers.TotalCount, "--item", item55)
	check("item on assets", 2, "--item", item55, "--asset", fmt.Sprintf("%d,%d", e.priv, e.safe))
	check("type", containers.TotalCount*perContainer, "--type", "container")

	// The scan-failed assets: a scan through an engine that drops inspects
	// leaves the containers scan-failed; recheck --failed scans just them.
	cli := dockertest.Engine(t)
	sock := dockertest.Proxy(t, cli, func(r *http.Request) (time.Duration, bool) {
		return 0, dockertest.InspectPath.MatchString(r.URL.Path)
	})
	e.ok("scan", "--type", "container", "--docker-host", "unix://"+sock, "--progress", "never", "--format", "json", "-o", t.TempDir()+"/r.json")
	var failed struct{ TotalCount int }
	e.json(&failed, "failed")
	if failed.TotalCount != containers.TotalCount {
		t.Fatalf("scan-failed assets = %d, want %d", failed.TotalCount, containers.TotalCount)
	}
	check("failed", containers.TotalCount*perContainer, "--failed")
	e.json(&failed, "failed")
	if failed.TotalCount != 0 {
		t.Errorf("still scan-failed after the recheck: %d", failed.TotalCount)
	}
	if out := e.ok("recheck", "--failed"); !strings.Contains(out, "nothing to recheck") {
		t.Errorf("recheck --failed with none failed: %q", out)
	}
}

// A recheck of a scope that another process is scanning is refused.
func TestConcurrentRecheckRefused(t *testing.T) {
	e := setupCLIEnv(t)
	cli := dockertest.Engine(t)
	sock := dockertest.Proxy(t, cli, func(r *http.Request) (time.Duration, bool) {
		if dockertest.InspectPath.MatchString(r.URL.Path) {
			return 2 * time.Second, false
		}
		return 0, false
	})
	bin := testbin.Path(t)
	data := getenvDataDir(t)
	slow := exec.Command(bin, "scan", "--type", "container", "--docker-host", "unix://"+sock, "--data-dir", data, "--progress", "never", "--format", "json")
	if err := slow.Start(); err != nil {
		t.Fatal(err)
	}
	waitForRunningTask(t, data)
	code, _, stderr := run(t, "recheck", "--asset", fmt.Sprint(e.priv), "--progress", "never")
	if code != ExitError || !strings.Contains(stderr, "ErrAlreadyScanning") || !strings.Contains(stderr, "already scanning") {
		t.Errorf("overlapping recheck: exit %d, %q", code, stderr)
	}
	if err := slow.Wait(); err != nil {
		t.Fatalf("the first scan failed: %v", err)
	}
	// Nothing lost: the first scan's task finished with every result.
	if task := e.lastTask(); task.Trigger != store.TriggerManual || task.Status != "CHECK_FINISHED" {
		t.Errorf("first task = %+v", task)
	}
}

// On a real scan, the stored summary equals a hand count of the scan's own
// JSON results.
func TestSummaryMatchesHandCountOfARealScan(t *testing.T) {
	e := setupCLIEnv(t)
	out := t.TempDir() + "/scan.json"
	e.ok("scan", "--progress", "never", "--format", "json", "-o", out)
	var doc struct {
		Assets []struct {
			Asset struct {
				CustomerAssetId uint64
				AssetType       string
			}
		}
		Results []struct {
			CustomerAssetId uint64
			CheckStatus     string
			CheckResult     string
		}
		ScanFailedAssets []struct{ CustomerAssetId uint64 }
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	type count struct{ assets, passed, failed, scanFailed int }
	hand := map[string]*count{}
	typeOf := map[uint64]string{}
	for _, a := range doc.Assets {
		typeOf[a.Asset.CustomerAssetId] = a.Asset.AssetType
		if hand[a.Asset.AssetType] == nil {
			hand[a.Asset.AssetType] = &count{}
		}
		hand[a.Asset.AssetType].assets++
	}
	failedItems, checkFailed, scanFailed := map[uint64]int{}, map[uint64]int{}, map[uint64]bool{}
	for _, r := range doc.Results {
		if r.CheckStatus == "CHECK_FAILED" {
			checkFailed[r.CustomerAssetId]++
		} else if r.CheckResult == "RESULT_FAILED" {
			failedItems[r.CustomerAssetId]++
		}
	}
	for _, f := range doc.ScanFailedAssets {
		scanFailed[f.CustomerAssetId] = true
	}
	for id, typ := range typeOf {
		switch {
		case scanFailed[id] || checkFailed[id] > 0:
			hand[typ].scanFailed++
		case failedItems[id] > 0:
			hand[typ].failed++
		default:
			hand[typ].passed++
		}
	}
	var sums []store.AssetSummary
	e.json(&sums, "summary")
	for _, s := range sums {
		h := hand[string(s.AssetType)]
		if h == nil {
			h = &count{}
		}
		if s.AssetCount != h.assets || s.PassedAssetCount != h.passed || s.FailedAssetCount != h.failed || s.ScanFailedAssetCount != h.scanFailed {
			t.Errorf("%s: summary %d assets (%d passed, %d failed, %d scan-failed), hand count %+v",
				s.AssetType, s.AssetCount, s.PassedAssetCount, s.FailedAssetCount, s.ScanFailedAssetCount, *h)
		}
		// (Kubernetes rates items, not assets: TestKubernetesFromTheCLI.)
		if h.assets > 0 && s.AssetType != "ASSET_K8S" {
			if want := float64(int(10000*float64(h.passed)/float64(h.assets)+0.5)) / 100; s.AssetPassedRate != want {
				t.Errorf("%s: pass rate %v, hand count %v", s.AssetType, s.AssetPassedRate, want)
			}
		}
	}
}
