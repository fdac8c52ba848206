// Package apitest drives a real `baseline serve` process over HTTP with
// the official Tencent Cloud Go SDK's common client (and hand-signed
// requests where the SDK cannot express a fault), against a store filled
// by real scans of the local Docker engine.
package apitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
)

// The keys of every daemon's configuration: a full-access key (which
// uploads scans of the node of its first upload only), a read-only key,
// and a full-access key that may upload scans of any node.
const (
	fullID  = "AKIDapitestFullAccess"
	fullKey = "full-access-secret-0123456789abcdef"
	roID    = "AKIDapitestReadOnly"
	roKey   = "read-only-secret-fedcba9876543210"
	anyID   = "AKIDapitestAnyNode"
	anyKey  = "any-node-secret-00112233445566778899"
)

// Item ids used below (CIS Docker 1.6.0).
const (
	item55  uint64 = 100505 // 5.5: privileged containers are not used
	item511 uint64 = 100511 // 5.11: memory limit
	item513 uint64 = 100513 // 5.13: read-only root file system
)

const (
	service = "tcss"
	version = api.Version
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m) // runs the tests, then stops the test PostgreSQL if one started
	testbin.Cleanup()
	os.Exit(code)
}

// binary is the baseline binary under test.
func binary(t *testing.T) string { return testbin.Path(t) }

// scanOnce fills the store with a scan of the real engine, as the CLI does.
func scanOnce(t *testing.T, bin, data string) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	testbin.Run(t, bin, "scan", "--data-dir", data, "--progress", "never", "--format", "json", "-o", report)
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ StartedAt, FinishedAt time.Time }
	if err := json.Unmarshal(raw, &rep); err != nil || rep.FinishedAt.IsZero() {
		t.Fatalf("scan report: %v\n%.300s", err, raw)
	}
}

// tasks lists the store's tasks (newest first) with the CLI.
func tasks(t *testing.T, bin, data string) []store.Task {
	t.Helper()
	var out struct {
		List       []store.Task
		TotalCount int
	}
	raw := testbin.Run(t, bin, "tasks", "--data-dir", data, "--format", "json", "--limit", "100")
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("baseline tasks: %v\n%s", err, raw)
	}
	if out.TotalCount != len(out.List) {
		t.Fatalf("baseline tasks: TotalCount %d, %d listed", out.TotalCount, len(out.List))
	}
	return out.List
}

func findTask(list []store.Task, id int64) (store.Task, bool) {
	for _, k := range list {
		if k.ID == id {
			return k, true
		}
	}
	return store.Task{}, false
}

// waitTask polls the CLI until the task is no longer running.
func waitTask(t *testing.T, bin, data string, id int64) store.Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		k, ok := findTask(tasks(t, bin, data), id)
		if !ok {
			t.Fatalf("task %d is not in the store", id)
		}
		if k.Status != checks.CheckRunning {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %d still running after 30s: %+v", id, k)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFinished waits for a task and requires it finished without error.
func waitFinished(t *testing.T, bin, data string, id int64) store.Task {
	t.Helper()
	k := waitTask(t, bin, data, id)
	if k.Status != checks.CheckFinished || k.Error != "" {
		t.Fatalf("task %d ended %s: %s", id, k.Status, k.Error)
	}
	return k
}

// daemon is a running `baseline serve`.
type daemon struct {
	t      *testing.T
	addr   string
	data   string
	cmd    *exec.Cmd
	stderr *testhost.Buffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// writeConfig writes the daemon's YAML configuration: a full key, a
// read-only key and a full key for any node's uploads, rate limits (of
// requests and of failed authentications) the tests never reach, a short
// grace.
func writeConfig(t *testing.T) string {
	t.Helper()
	cfg := fmt.Sprintf(`log_level: info
log_format: text
shutdown_grace: 10s
api:
  rate_per_second: 1000
  burst: 1000
  auth_failures_per_second: 1000
  auth_failure_burst: 1000
  keys:
    - secret_id: %s
      secret_key: %s
      read_only: false
    - secret_id: %s
      secret_key: %s
      read_only: true
    - secret_id: %s
      secret_key: %s
      upload_any_node: true
`, fullID, fullKey, roID, roKey, anyID, anyKey)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDaemon starts `baseline serve` on a free loopback port and waits
// until the port answers. At cleanup it is stopped with SIGTERM and must
// exit 0 (unless the test killed it).
func startDaemon(t *testing.T, bin, data string, extra ...string) *daemon {
	t.Helper()
	return startDaemonEnv(t, bin, data, nil, extra...)
}

// startDaemonEnv is startDaemon with env added to the daemon's environment.
func startDaemonEnv(t *testing.T, bin, data string, env []string, extra ...string) *daemon {
	t.Helper()
	return startDaemonAt(t, bin, data, "127.0.0.1:"+strconv.Itoa(freePort(t)), env, extra...)
}

// startDaemonAt is startDaemonEnv listening on addr.
func startDaemonAt(t *testing.T, bin, data, addr string, env []string, extra ...string) *daemon {
	t.Helper()
	args := append([]string{"serve", "--config", writeConfig(t), "--listen", addr, "--data-dir", data}, extra...)
	d := &daemon{t: t, addr: addr, data: data, cmd: exec.Command(bin, args...), stderr: &testhost.Buffer{}, exited: make(chan struct{})}
	d.cmd.Env = append(testbin.CleanEnv(), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.stderr, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		select {
		case <-d.exited:
			return // stopped or killed by the test
		default:
		}
		d.stop(t)
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return d
		}
		select {
		case <-d.exited:
			t.Fatalf("baseline serve exited before listening: %v\n%s", d.err, d.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baseline serve did not listen on %s within 20s\n%s", addr, d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and requires exit status 0.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		t.Errorf("baseline serve did not stop within 20s of SIGTERM\n%s", d.stderr)
		return
	}
	if d.err != nil || d.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("baseline serve after SIGTERM: %v (exit %d)\n%s", d.err, d.cmd.ProcessState.ExitCode(), d.stderr)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (d *daemon) kill(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("baseline serve survived SIGKILL")
	}
}

// --- the SDK client ---------------------------------------------------------

// client calls the daemon through the SDK's common client.
type client struct {
	t *testing.T
	c *common.Client
}

func newClient(t *testing.T, addr, id, key string) *client {
	return newClientProfile(t, addr, id, key, nil)
}

func newClientProfile(t *testing.T, addr, id, key string, tweak func(*profile.ClientProfile)) *client {
	cred := common.NewCredential(id, key)
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = addr
	cpf.HttpProfile.Scheme = "HTTP"
	cpf.HttpProfile.ReqTimeout = 20
	if tweak != nil {
		tweak(cpf)
	}
	return &client{t: t, c: common.NewCommonClient(cred, "", cpf)}
}

// call sends one action; it returns the envelope's Response object.
func (c *client) call(action string, params map[string]any) (json.RawMessage, error) {
	return c.callVersion(version, action, params)
}

func (c *client) callVersion(ver, action string, params map[string]any) (json.RawMessage, error) {
	req := tchttp.NewCommonRequest(service, ver, action)
	if params != nil {
		if err := req.SetActionParameters(params); err != nil {
			return nil, err
		}
	}
	resp := tchttp.NewCommonResponse()
	if err := c.c.Send(req, resp); err != nil {
		return nil, err
	}
	var env struct {
		Response json.RawMessage
	}
	if err := json.Unmarshal(resp.GetBody(), &env); err != nil {
		return nil, fmt.Errorf("%s: envelope: %v: %s", action, err, resp.GetBody())
	}
	var head struct {
		RequestId string
		Error     *api.Error
	}
	if err := json.Unmarshal(env.Response, &head); err != nil {
		return nil, fmt.Errorf("%s: response: %v: %s", action, err, env.Response)
	}
	if head.RequestId == "" || head.Error != nil {
		return nil, fmt.Errorf("%s: envelope without RequestId or with an error: %s", action, env.Response)
	}
	return env.Response, nil
}

// ok calls an action that must succeed and decodes its response into out
// (when not nil).
func (c *client) ok(action string, params map[string]any, out any) {
	c.t.Helper()
	raw, err := c.call(action, params)
	if err != nil {
		c.t.Fatalf("%s %v: %v", action, params, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s: decoding %s: %v", action, raw, err)
		}
	}
}

// fails calls an action that must fail with code; the message must
// contain each of want.
func (c *client) fails(code, action string, params map[string]any, want ...string) {
	c.t.Helper()
	_, err := c.call(action, params)
	checkSDKError(c.t, err, code, action, want...)
}

func checkSDKError(t *testing.T, err error, code, action string, want ...string) {
	t.Helper()
	var se *tcerr.TencentCloudSDKError
	if !errors.As(err, &se) {
		t.Fatalf("%s: want %s, got %v (%T)", action, code, err, err)
	}
	if se.GetCode() != code {
		t.Fatalf("%s: code %s (%s), want %s", action, se.GetCode(), se.GetMessage(), code)
	}
	if se.GetRequestId() == "" {
		t.Errorf("%s: error %s without RequestId", action, code)
	}
	for _, w := range want {
		if !strings.Contains(se.GetMessage(), w) {
			t.Errorf("%s: message %q does not name %q", action, se.GetMessage(), w)
		}
	}
}

// --- API structures the tests read ------------------------------------------

type summaryResp struct {
	Status           string
	AssetSummaryList []struct {
		store.AssetSummary
		PeriodRule *store.PeriodRule
	}
}

func (s summaryResp) of(t *testing.T, typ string) store.AssetSummary {
	t.Helper()
	for _, r := range s.AssetSummaryList {
		if string(r.AssetType) == typ {
			return r.AssetSummary
		}
	}
	t.Fatalf("no summary of %s in %+v", typ, s.AssetSummaryList)
	return store.AssetSummary{}
}

type assetInfo struct {
	CustomerAssetId        uint64
	AssetType              string
	AssetName              string
	NodeName               string
	CheckStatus            string
	CheckResult            string
	PassedPolicyItemCount  int
	FailedPolicyItemCount  int
	IgnoredPolicyItemCount int
	LastCheckTime          string
}

type assetList struct {
	TotalCount    int
	AssetInfoList []assetInfo
}

type assetItem struct {
	CustomerPolicyItemId uint64
	BenchmarkNumber      string
	Name                 string
	BenchmarkStandardId  uint64
	RiskLevel            string
	CheckStatus          string
	CheckResult          string
	WhitelistId          uint64
	VerifyInfo           string
	CustomerAssetId      uint64
	AssetName            string
	AssetType            string
	LastCheckTime        string
}

type itemSummary struct {
	CustomerPolicyItemId uint64
	BenchmarkNumber      string
	Name                 string
	BenchmarkStandardId  uint64
	AssetType            string
	CheckResult          string
	PassedAssetCount     int
	FailedAssetCount     int
	IgnoredAssetCount    int
	WhitelistId          uint64
}

type whitelistEntry struct {
	WhitelistItemId      int64
	CustomerPolicyItemId uint64
	IsAll                bool
	CustomerAssetIds     []uint64
	AffectedAssetCount   int
	StandardId           uint64
	Reason               string
	Operator             string
	InsertTime           string
}

type whitelistResp struct {
	TotalCount       int
	WhitelistItemSet []whitelistEntry
}

type periodTaskResp struct {
	TotalCount    int
	PeriodTaskSet []struct {
		PeriodTaskId         int64
		AssetType            string
		TotalPolicyItemCount int
		PeriodRule           store.PeriodRule
		BenchmarkStandardSet []struct {
			StandardId      uint64
			StandardKey     string
			PolicyItemCount int
			Enabled         bool
		}
	}
}

// --- hand-signed requests -----------------------------------------------------

// rawResult is a decoded envelope of a hand-built request.
type rawResult struct {
	Status   int
	Response struct {
		RequestId string
		Error     *api.Error
	}
}

// signed builds a request signed with key over signBody (the body sent is
// sendBody, so the two differ for a tampered request).
func signed(t *testing.T, addr, id, key, action string, ts int64, signBody, sendBody []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(sendBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", version)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	canonical := api.CanonicalRequest(http.MethodPost, "/", "",
		[][2]string{{"content-type", "application/json"}, {"host", addr}}, []string{"content-type", "host"}, signBody)
	sig := api.Sign(key, service, ts, canonical)
	date := time.Unix(ts, 0).UTC().Format(time.DateOnly)
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, Signature=%s",
		api.Algorithm, id, date, service, sig))
	return req
}

func do(t *testing.T, req *http.Request) rawResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r rawResult
	r.Status = resp.StatusCode
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("decoding the envelope: %v", err)
	}
	if r.Response.RequestId == "" {
		t.Errorf("envelope without RequestId: %+v", r)
	}
	return r
}

// wantRaw checks a hand-built request's error code.
func wantRaw(t *testing.T, what string, r rawResult, code string) {
	t.Helper()
	switch {
	case code == "" && r.Response.Error != nil:
		t.Errorf("%s: unexpected error %+v", what, r.Response.Error)
	case code != "" && r.Response.Error == nil:
		t.Errorf("%s: accepted, want %s", what, code)
	case code != "" && !strings.HasPrefix(r.Response.Error.Code, code):
		t.Errorf("%s: error %+v, want %s", what, r.Response.Error, code)
	}
}

// --- a gate on the Docker proxy -----------------------------------------------

// gate holds requests while closed: a scan through the proxy stays running
// until the test opens the gate.
type gate struct {
	mu      sync.Mutex
	ch      chan struct{}
	waiting atomic.Int32
}

func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

func (g *gate) pass() {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch == nil {
		return
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
	}
}

// waitHeld waits until a request is held at the gate: the scan is inside
// its inspect phase.
func (g *gate) waitHeld(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for g.waiting.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no engine request reached the gate within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
