package apitest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/store"
)

// A daemon whose engine is a proxy that holds inspects while a gate is
// closed: its tasks run as long as the test wants. While one runs,
// concurrent Describe calls all succeed and an overlapping scan is
// refused; after it the counts agree. Then the daemon is killed mid-task
// and restarted on the same data dir: the task is recorded failed and the
// stored results are intact.
func TestRunningTaskConcurrencyAndRestart(t *testing.T) {
	cli := dockertest.Engine(t)
	dockertest.Create(t, cli, dockertest.Name("run-priv"), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{Privileged: true})
	dockertest.Create(t, cli, dockertest.Name("run-plain"), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{})
	bin, data := binary(t), t.TempDir()
	scanOnce(t, bin, data)

	g := &gate{}
	sock := dockertest.Proxy(t, cli, func(r *http.Request) (time.Duration, bool) {
		if dockertest.InspectPath.MatchString(r.URL.Path) {
			g.pass()
		}
		return 0, false
	})
	t.Cleanup(g.open) // runs before the proxy closes: nothing stays held
	d := startDaemon(t, bin, data, "--docker-host", "unix://"+sock)
	full := newClient(t, d.addr, fullID, fullKey)

	containerSummary := func(c *client) store.AssetSummary {
		t.Helper()
		var s summaryResp
		c.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &s)
		return s.of(t, "ASSET_CONTAINER")
	}
	containerCount := func(c *client) int {
		t.Helper()
		var l assetList
		c.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Limit": 100}, &l)
		return l.TotalCount
	}
	var privID uint64
	var l assetList
	full.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Limit": 100,
		"Filters": []map[string]any{{"Name": "AssetName", "Values": []string{dockertest.Name("run-priv")}, "ExactMatch": true}}}, &l)
	if len(l.AssetInfoList) != 1 {
		t.Fatalf("the privileged container is not listed: %+v", l)
	}
	privID = l.AssetInfoList[0].CustomerAssetId

	var task1 int64
	t.Run("ConcurrentDescribes", func(t *testing.T) {
		g.hold()
		var out struct{ TaskId int64 }
		full.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &out)
		task1 = out.TaskId
		g.waitHeld(t) // the task is inside its scan
		if s := containerSummary(full); s.CheckStatus != checks.CheckRunning {
			t.Fatalf("container summary while the task runs: %+v", s)
		}

		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := newClient(t, d.addr, fullID, fullKey)
				if i%4 == 3 { // the read-only key reads too
					c = newClient(t, d.addr, roID, roKey)
				}
				var err error
				if i%2 == 0 {
					_, err = c.call("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER", "ASSET_HOST", "ASSET_IMAGE"}})
				} else {
					_, err = c.call("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Limit": 100})
				}
				if err != nil {
					errs <- fmt.Errorf("call %d: %w", i, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if k, _ := findTask(tasks(t, bin, data), task1); k.Status != checks.CheckRunning {
			t.Fatalf("the task ended during the burst (%+v): the calls did not overlap it", k)
		}

		// Two overlapping scans in a row: the first (above) runs, the
		// second is refused, and no task is recorded for it.
		n0 := len(tasks(t, bin, data))
		full.fails(api.ErrAlreadyScanning, "CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}})
		full.fails(api.ErrAlreadyScanning, "ScanComplianceAssets", map[string]any{"CustomerAssetIdSet": []uint64{privID}})
		full.fails(api.ErrAlreadyScanning, "ScanComplianceAssetsByPolicyItem", map[string]any{"CustomerPolicyItemId": item55, "CustomerAssetIdSet": []uint64{privID}})
		if n1 := len(tasks(t, bin, data)); n1 != n0 {
			t.Errorf("refused scans recorded tasks: %d, want %d", n1, n0)
		}
		// A scope that does not overlap runs alongside.
		var host struct{ TaskId int64 }
		full.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_HOST"}}, &host)
		if k := waitFinished(t, bin, data, host.TaskId); k.ResultCount == 0 {
			t.Errorf("the host task alongside: %+v", k)
		}

		g.open()
		waitFinished(t, bin, data, task1)
		s := containerSummary(full)
		total := containerCount(full)
		if s.CheckStatus != checks.CheckFinished || s.PassedAssetCount+s.FailedAssetCount+s.ScanFailedAssetCount != total || s.AssetCount != total {
			t.Errorf("after the task: passed %d + failed %d + scan-failed %d, %d assets in the summary, %d listed (%+v)",
				s.PassedAssetCount, s.FailedAssetCount, s.ScanFailedAssetCount, s.AssetCount, total, s)
		}
	})

	t.Run("KilledMidTask", func(t *testing.T) {
		before := containerSummary(full)
		beforeCount := containerCount(full)
		var beforeAll summaryResp
		full.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER", "ASSET_HOST", "ASSET_IMAGE"}}, &beforeAll)

		g.hold()
		var out struct{ TaskId int64 }
		full.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &out)
		g.waitHeld(t)
		d.kill(t)
		g.open()

		d2 := startDaemon(t, bin, data) // the real engine, the same store
		full2 := newClient(t, d2.addr, fullID, fullKey)
		list := tasks(t, bin, data)
		k, ok := findTask(list, out.TaskId)
		if !ok || k.Status != checks.CheckFailed || !strings.Contains(k.Error, "interrupted") || k.ResultCount != 0 {
			t.Errorf("the killed task: %+v", k)
		}
		if k, _ := findTask(list, task1); k.Status != checks.CheckFinished {
			t.Errorf("the earlier task: %+v", k)
		}

		after := containerSummary(full2)
		if after.CheckStatus != checks.CheckFailed {
			t.Errorf("container CheckStatus %s after the interrupted task, want CHECK_FAILED", after.CheckStatus)
		}
		var afterAll summaryResp
		full2.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER", "ASSET_HOST", "ASSET_IMAGE"}}, &afterAll)
		for i, b := range beforeAll.AssetSummaryList {
			a := afterAll.AssetSummaryList[i]
			// Only the check status reflects the failed task; counts, cost
			// and last check time are the last finished task's.
			a.CheckStatus, b.CheckStatus = "", ""
			if a.AssetSummary != b.AssetSummary {
				t.Errorf("%s after the restart:\n got %+v\nwant %+v", b.AssetType, a.AssetSummary, b.AssetSummary)
			}
		}
		if n := containerCount(full2); n != beforeCount || before.AssetCount != n {
			t.Errorf("containers listed %d after the restart, %d before", n, beforeCount)
		}
		var aff struct{ AffectedAssetList []assetItem }
		full2.ok("DescribeCompliancePolicyItemAffectedAssetList", map[string]any{"CustomerPolicyItemId": item55, "Limit": 100,
			"Filters": []map[string]any{{"Name": "AssetName", "Values": []string{dockertest.Name("run-priv")}, "ExactMatch": true}}}, &aff)
		if len(aff.AffectedAssetList) != 1 || aff.AffectedAssetList[0].CustomerAssetId != privID || aff.AffectedAssetList[0].CheckResult != string(checks.ResultFailed) {
			t.Errorf("5.5 on the privileged container after the restart: %+v", aff)
		}

		// The interrupted task holds no lock: the same scope scans again.
		var again struct{ TaskId int64 }
		full2.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &again)
		waitFinished(t, bin, data, again.TaskId)
		if s := containerSummary(full2); s.CheckStatus != checks.CheckFinished || s.PassedAssetCount+s.FailedAssetCount+s.ScanFailedAssetCount != containerCount(full2) {
			t.Errorf("after a new task: %+v", s)
		}
	})
}
