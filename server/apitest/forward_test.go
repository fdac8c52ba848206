package apitest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
)

// nodeDaemonConfig is a node daemon's configuration as in a cluster: the
// fixture node's files under host_root, no engine, no API server, and
// forwarding to upstream (an http:// address) with the given key.
func nodeDaemonConfig(t *testing.T, fixture, upstream, upID, upKey string) string {
	t.Helper()
	cfg := fmt.Sprintf(`log_level: info
log_format: text
shutdown_grace: 10s
host_root: %s
docker_host: unix:///nonexistent/docker.sock
kubernetes:
  disabled: true
api:
  rate_per_second: 1000
  burst: 1000
  keys:
    - {secret_id: %s, secret_key: %s}
upstream:
  server: %s
  secret_id: %s
  secret_key: %s
  backoff: 100ms
  max_backoff: 400ms
`, testhost.Tree(t, fixture), fullID, fullKey, upstream, upID, upKey)
	path := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitFor polls cond every 100ms for up to 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
	}
}

// uploads lists the finished upload tasks of a store, newest first.
func uploads(t *testing.T, bin, data string) []store.Task {
	t.Helper()
	var out []store.Task
	for _, k := range tasks(t, bin, data) {
		if k.Trigger == store.TriggerUpload && k.Status == checks.CheckFinished {
			out = append(out, k)
		}
	}
	return out
}

// Two real daemons, a node's (downstream) forwarding to a central one
// (upstream): a scan and then a recheck of the node on the downstream
// each appear on the upstream as an upload task of the same results, the
// recheck scoped to its asset, and the upstream's API lists the node with
// the downstream's counts. The downstream keeps its own copy.
func TestForwardingToAnUpstreamDaemon(t *testing.T) {
	bin := binary(t)
	upData, downData := t.TempDir(), t.TempDir()
	up := startDaemon(t, bin, upData)
	down := startDaemon(t, bin, downData, "--config", nodeDaemonConfig(t, "k8s-good", "http://"+up.addr, fullID, fullKey))
	upAPI, downAPI := newClient(t, up.addr, fullID, fullKey), newClient(t, down.addr, fullID, fullKey)

	var started struct{ TaskId int64 }
	downAPI.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &started)
	scanTask := waitFinished(t, bin, downData, started.TaskId)
	if scanTask.ResultCount == 0 {
		t.Fatalf("the downstream's scan judged nothing: %+v", scanTask)
	}
	waitFor(t, "the scan on the upstream", func() bool { return len(uploads(t, bin, upData)) == 1 })
	first := uploads(t, bin, upData)[0]
	if first.ResultCount != scanTask.ResultCount || first.Scope.Node != scanTask.Scope.Node || len(first.Scope.Assets) != 0 ||
		!slices.Equal(first.Scope.Types, scanTask.Scope.Types) || !first.StartedAt.Equal(scanTask.StartedAt) {
		t.Errorf("upstream task %+v, want the downstream's task %+v with its standards", first, scanTask)
	}

	var downList, upList assetList
	downAPI.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &downList)
	upAPI.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &upList)
	if len(downList.AssetInfoList) != 1 || len(upList.AssetInfoList) != 1 {
		t.Fatalf("node assets: downstream %+v, upstream %+v; want the node on both", downList, upList)
	}
	node, got := downList.AssetInfoList[0], upList.AssetInfoList[0]
	if got.CustomerAssetId != node.CustomerAssetId || got.AssetName != node.AssetName || got.PassedPolicyItemCount != node.PassedPolicyItemCount ||
		got.FailedPolicyItemCount != node.FailedPolicyItemCount || got.LastCheckTime != node.LastCheckTime {
		t.Errorf("the upstream lists the node as %+v, the downstream as %+v", got, node)
	}

	// A recheck of the node.
	downAPI.ok("ScanComplianceAssets", map[string]any{"CustomerAssetIdSet": []uint64{node.CustomerAssetId}}, &started)
	recheck := waitFinished(t, bin, downData, started.TaskId)
	waitFor(t, "the recheck on the upstream", func() bool { return len(uploads(t, bin, upData)) == 2 })
	second := uploads(t, bin, upData)[0]
	if second.ResultCount != recheck.ResultCount || !slices.Equal(second.Scope.Assets, []uint64{node.CustomerAssetId}) {
		t.Errorf("upstream task %+v, want the recheck %+v scoped to asset %d", second, recheck, node.CustomerAssetId)
	}
	// The downstream logs a forwarding once the upstream has answered it:
	// the upload can be on the upstream a moment before.
	waitFor(t, "the second forwarding in the downstream's log", func() bool {
		return strings.Count(down.stderr.String(), `msg="task forwarded"`) >= 2
	})
	if n := strings.Count(down.stderr.String(), `msg="task forwarded"`); n != 2 {
		t.Errorf("the downstream logged %d forwarded tasks, want 2:\n%s", n, down.stderr)
	}
	if len(uploads(t, bin, downData)) != 0 {
		t.Error("the downstream recorded an upload: tasks went round")
	}
}

// An upstream that does not answer: the downstream's task finishes and
// its results stay in its store; the upload is retried, each failure
// logged with its reason, with waits doubling from the configured backoff
// (100ms, 200ms) up to max_backoff (400ms), and stays in the outbox. An
// upstream that refuses the key is not retried: the upload is dropped.
func TestForwardingFailuresLeaveTheTaskFinished(t *testing.T) {
	bin := binary(t)
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) // nothing listens there
	up := startDaemon(t, bin, t.TempDir())

	for _, c := range []struct {
		name, upstream, key string
		refused             bool
		reason              string
	}{
		{"unreachable", closed, fullKey, false, "connection refused"},
		{"wrong key", "http://" + up.addr, "not-the-key", true, "AuthFailure.SignatureFailure"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := t.TempDir()
			d := startDaemon(t, bin, data, "--config", nodeDaemonConfig(t, "k8s-bad", c.upstream, fullID, c.key))
			api := newClient(t, d.addr, fullID, fullKey)
			var started struct{ TaskId int64 }
			api.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &started)
			k := waitFinished(t, bin, data, started.TaskId)
			var l assetList
			api.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &l)
			if len(l.AssetInfoList) != 1 || l.AssetInfoList[0].FailedPolicyItemCount == 0 {
				t.Errorf("the downstream's own results after task %d: %+v", k.ID, l)
			}

			task := strconv.FormatInt(k.ID, 10)
			retries := regexp.MustCompile(`msg="forwarding failed; will retry".* task=` + task + ` attempt=\d+ retry_in=(\S+) err=.*` + regexp.QuoteMeta(c.reason))
			if c.refused {
				gaveUp := regexp.MustCompile(`msg="task not forwarded".* task=` + task + ` attempts=1 err=.*` + regexp.QuoteMeta(c.reason))
				waitFor(t, "the refusal", func() bool { return gaveUp.MatchString(d.stderr.String()) })
				if n := len(retries.FindAllString(d.stderr.String(), -1)); n != 0 {
					t.Errorf("a refused upload was retried %d times:\n%s", n, d.stderr)
				}
			} else {
				waitFor(t, "five retries", func() bool { return len(retries.FindAllString(d.stderr.String(), -1)) >= 5 })
				var waits []string
				for _, m := range retries.FindAllStringSubmatch(d.stderr.String(), 5) {
					waits = append(waits, m[1])
				}
				if want := []string{"100ms", "200ms", "400ms", "400ms", "400ms"}; !slices.Equal(waits, want) {
					t.Errorf("waits %v, want %v (doubling from backoff up to max_backoff)", waits, want)
				}
			}
			d.stop(t)
			if n := outboxStats(t, data).Depth; n != map[bool]int{true: 0, false: 1}[c.refused] {
				t.Errorf("%d tasks in the outbox after the daemon stopped", n)
			}
			if k2, _ := findTask(tasks(t, bin, data), k.ID); k2.Status != checks.CheckFinished || k2.Error != "" {
				t.Errorf("the task after the failed forwarding: %+v", k2)
			}
		})
	}
	if n := len(tasks(t, bin, up.data)); n != 0 {
		t.Errorf("the upstream recorded %d tasks from a wrong key", n)
	}
}
