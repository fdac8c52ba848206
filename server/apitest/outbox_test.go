package apitest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/baselinehq/baseline/api"
	apiclient "github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// outboxStats reads the outbox of the store in data (its daemon may run:
// SQLite lets another process read).
func outboxStats(t *testing.T, data string) store.OutboxStats {
	t.Helper()
	db, err := sqlite.OpenFile(context.Background(), filepath.Join(data, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// finishedTasks lists a store's finished tasks of a trigger, oldest first.
func finishedTasks(t *testing.T, bin, data string, trigger store.Trigger) []store.Task {
	t.Helper()
	var out []store.Task
	for _, k := range tasks(t, bin, data) {
		if k.Trigger == trigger && k.Status == checks.CheckFinished {
			out = append(out, k)
		}
	}
	slices.Reverse(out)
	return out
}

// A node daemon completes 20 tasks while its central daemon is down; they
// wait in its store's outbox, survive the node's restart, and once the
// central daemon is up all 20 land there once each, in the order the node
// ran them, and leave the outbox.
func TestOutboxDeliversOnceInOrderAcrossARestart(t *testing.T) {
	bin := binary(t)
	centralAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	centralData, nodeData := t.TempDir(), t.TempDir()
	cfg := nodeDaemonConfig(t, "k8s-good", "http://"+centralAddr, fullID, fullKey)
	node := startDaemon(t, bin, nodeData, "--config", cfg)
	nodeAPI := newClient(t, node.addr, fullID, fullKey)

	const n = 20
	var ran []store.Task
	for range n {
		var started struct{ TaskId int64 }
		nodeAPI.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &started)
		ran = append(ran, waitFinished(t, bin, nodeData, started.TaskId))
	}
	node.stop(t)
	if s := outboxStats(t, nodeData); s.Depth != n || s.Dropped != 0 {
		t.Fatalf("outbox after %d tasks with the central daemon down: %+v", n, s)
	}

	startDaemonAt(t, bin, centralData, centralAddr, nil)
	node = startDaemon(t, bin, nodeData, "--config", cfg)
	waitFor(t, "the outbox drained", func() bool { return outboxStats(t, nodeData).Depth == 0 })
	got := finishedTasks(t, bin, centralData, store.TriggerUpload)
	if len(got) != n {
		t.Fatalf("the central daemon recorded %d uploads, want %d", len(got), n)
	}
	for i, k := range got {
		if !k.StartedAt.Equal(ran[i].StartedAt) || k.ResultCount != ran[i].ResultCount || k.Scope.Node != ran[i].Scope.Node {
			t.Errorf("central upload %d (task %d) started %s with %d results; want the node's task %d, started %s with %d results",
				i, k.ID, k.StartedAt, k.ResultCount, ran[i].ID, ran[i].StartedAt, ran[i].ResultCount)
		}
	}
	if c := strings.Count(node.stderr.String(), `msg="task forwarded"`); c != n {
		t.Errorf("the node logged %d forwarded tasks, want %d", c, n)
	}
}

// An acknowledgement lost on the way back (the upload landed, the node
// saw an error): the node sends the upload again with the same
// idempotency key, and the central daemon answers with the first
// attempt's task instead of recording it twice.
func TestRetryAfterALostAcknowledgementIsNotRecordedTwice(t *testing.T) {
	bin := binary(t)
	centralData, nodeData := t.TempDir(), t.TempDir()
	central := startDaemon(t, bin, centralData)
	target, err := url.Parse("http://" + central.addr)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy keeps the Host header the node signed; it passes the first
	// upload on and answers the node with a failure instead of the
	// central daemon's acknowledgement.
	proxy := httputil.NewSingleHostReverseProxy(target)
	var uploadsSeen atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-TC-Action") != api.UploadAction || uploadsSeen.Add(1) > 1 {
			proxy.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r)
		if !strings.Contains(rec.Body.String(), `"TaskId"`) {
			t.Errorf("the first upload was not recorded: %s", rec.Body)
		}
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "upstream connection reset")
	}))
	defer front.Close()

	node := startDaemon(t, bin, nodeData, "--config", nodeDaemonConfig(t, "k8s-good", front.URL, fullID, fullKey))
	var started struct{ TaskId int64 }
	newClient(t, node.addr, fullID, fullKey).ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &started)
	waitFinished(t, bin, nodeData, started.TaskId)
	waitFor(t, "the retry acknowledged", func() bool {
		return strings.Contains(node.stderr.String(), `msg="task forwarded"`) && outboxStats(t, nodeData).Depth == 0
	})
	logs := node.stderr.String()
	if !strings.Contains(logs, `msg="forwarding failed; will retry"`) || !strings.Contains(logs, "already_applied=true") {
		t.Errorf("the node's log shows no retry acknowledged as already applied:\n%s", logs)
	}
	if n := uploadsSeen.Load(); n != 2 {
		t.Errorf("%d uploads went through the proxy, want 2 (the first and its retry)", n)
	}
	if got := finishedTasks(t, bin, centralData, store.TriggerUpload); len(got) != 1 {
		t.Errorf("the central daemon recorded %d uploads, want 1: %+v", len(got), got)
	}
	if n := len(tasks(t, bin, centralData)); n != 1 {
		t.Errorf("the central daemon holds %d tasks, want the one upload", n)
	}
}

// The same upload sent twice with one idempotency key through the
// project's client: the second answer names the first's task, marked
// already applied, and the daemon holds one task. The same key from
// another node is that node's own; a key that is not printable ASCII is
// refused naming the parameter.
func TestIdempotentUploadThroughTheClient(t *testing.T) {
	bin := binary(t)
	data := t.TempDir()
	d := startDaemon(t, bin, data)
	c, err := apiclient.New("http://"+d.addr, anyID, anyKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	upload := func(node, key string) (api.UploadComplianceScanResultResponse, error) {
		u := api.NewScanUpload(store.Scope{Node: node}, testhost.GoldenReport())
		u.IdempotencyKey = key
		var out api.UploadComplianceScanResultResponse
		err := c.Call(ctx, api.UploadAction, u, &out)
		return out, err
	}
	first, err := upload("node-a", "node-a/0123456789abcdef/7")
	if err != nil || first.TaskId == 0 || first.AlreadyApplied {
		t.Fatalf("first upload: %+v, %v", first, err)
	}
	again, err := upload("node-a", "node-a/0123456789abcdef/7")
	if err != nil || again.TaskId != first.TaskId || again.ResultCount != first.ResultCount || !again.AlreadyApplied {
		t.Errorf("the same upload again: %+v, %v; want task %d already applied", again, err, first.TaskId)
	}
	if n := len(tasks(t, bin, data)); n != 1 {
		t.Errorf("the daemon holds %d tasks after one upload sent twice", n)
	}
	var ae *api.Error
	if _, err := upload("node-a", "bad key\x01"); !errors.As(err, &ae) || ae.Code != api.InvalidParameterValue || !strings.Contains(ae.Message, "IdempotencyKey") {
		t.Errorf("a key with a space and a control character: %v", err)
	}
	if _, err := upload("node-a", strings.Repeat("k", api.MaxIdempotencyKeyBytes+1)); !errors.As(err, &ae) || !strings.Contains(ae.Message, "IdempotencyKey") {
		t.Errorf("a key too long: %v", err)
	}
}

// A bounded outbox (upstream.outbox_size 2) with its upstream down: the
// third task pushes the oldest out, unsent, with a warning naming it, and
// counts it as dropped; the two newest wait.
func TestAFullOutboxDropsTheOldest(t *testing.T) {
	bin := binary(t)
	data := t.TempDir()
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) // nothing listens there
	d := startDaemonEnv(t, bin, data, []string{"BASELINE_UPSTREAM_OUTBOX_SIZE=2"}, "--config", nodeDaemonConfig(t, "k8s-good", closed, fullID, fullKey))
	c := newClient(t, d.addr, fullID, fullKey)
	var ran []int64
	for range 3 {
		var started struct{ TaskId int64 }
		c.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &started)
		ran = append(ran, waitFinished(t, bin, data, started.TaskId).ID)
	}
	d.stop(t)
	if s := outboxStats(t, data); s.Depth != 2 || s.Dropped != 1 {
		t.Errorf("outbox %+v, want the 2 newest tasks waiting and 1 dropped", s)
	}
	if !strings.Contains(d.stderr.String(), `msg="outbox full: the oldest task is dropped unsent" component=upstream upstream=`+closed+` task=`+strconv.FormatInt(ran[0], 10)) {
		t.Errorf("no warning names the dropped task %d:\n%s", ran[0], d.stderr)
	}
}
