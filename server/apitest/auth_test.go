package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	apiclient "github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/server"
)

// writeConfigAPI writes a daemon configuration with the two keys and the
// given lines added to its api section (indented by the caller).
func writeConfigAPI(t *testing.T, apiLines string) string {
	t.Helper()
	cfg := fmt.Sprintf(`log_level: info
log_format: text
shutdown_grace: 10s
api:
%s
  keys:
    - {secret_id: %s, secret_key: %s}
    - {secret_id: %s, secret_key: %s, read_only: true}
`, apiLines, fullID, fullKey, roID, roKey)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// signedHeaders builds a request signed over the given headers (lower
// case, sorted, content-type and host among them) for service, as a client
// other than the SDK may sign it.
func signedHeaders(t *testing.T, addr, id, key, service, action string, ts int64, body []byte, names ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", version)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	if slices.Contains(names, "x-tc-nonce") {
		req.Header.Set("X-TC-Nonce", strconv.FormatInt(time.Now().UnixNano(), 36))
	}
	headers := make([][2]string, 0, len(names))
	for _, n := range names {
		v := req.Header.Get(n)
		if n == "host" {
			v = addr
		}
		headers = append(headers, [2]string{n, v})
	}
	canonical := api.CanonicalRequest(http.MethodPost, "/", "", headers, names, body)
	sig := api.Sign(key, service, ts, canonical)
	date := time.Unix(ts, 0).UTC().Format(time.DateOnly)
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s/%s/tc3_request, SignedHeaders=%s, Signature=%s",
		api.Algorithm, id, date, service, strings.Join(names, ";"), sig))
	return req
}

// resend is a copy of a sent request (its body given again), with the
// action header set to action: a captured request replayed.
func resend(t *testing.T, req *http.Request, body []byte, action string) *http.Request {
	t.Helper()
	again, err := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	again.Header = req.Header.Clone()
	again.Header.Set("X-TC-Action", action)
	return again
}

// A captured request is not accepted again. A request that signs a nonce
// (as the project's client does) is accepted once: resent as it was, to
// the daemon that took it or to another daemon serving the same store, it
// is refused (AuthFailure) and changes nothing. A request signed as the
// SDK signs it (neither action nor nonce) may share its signature with
// other requests during server.RepeatWindow (the SDK sends the same
// signature for requests with the same parameters within one second);
// after it, it is refused whatever action it is resent as. A signed action
// header cannot be changed, and the credential scope's service must be
// tcss.
func TestCapturedRequestsAreRefused(t *testing.T) {
	bin, data := binary(t), t.TempDir()
	d := startDaemon(t, bin, data)
	other := startDaemon(t, bin, data) // a second daemon on the same store
	full := newClient(t, d.addr, fullID, fullKey)
	now := time.Now().Unix()
	to := func(req *http.Request, dm *daemon) *http.Request {
		req.URL.Host = dm.addr // the Host header stays the signed one
		return req
	}
	whitelisted := func(what string, want int) {
		t.Helper()
		var w whitelistResp
		full.ok("DescribeComplianceWhitelistItemList", map[string]any{"Limit": 100}, &w)
		if w.TotalCount != want {
			t.Errorf("%s: %d whitelist entries, want %d", what, w.TotalCount, want)
		}
	}

	// A write signed with a nonce, as the project's client signs.
	add := []byte(`{"CustomerPolicyItemIdSet":[100505],"Reason":"nonce"}`)
	unique := signedHeaders(t, d.addr, fullID, fullKey, service, "AddCompliancePolicyItemToWhitelist", now, add, "content-type", "host", "x-tc-action", "x-tc-nonce", "x-tc-timestamp")
	wantRaw(t, "a write signed with a nonce", do(t, unique), "")
	r := do(t, resend(t, unique, add, "AddCompliancePolicyItemToWhitelist"))
	wantRaw(t, "the same write again", r, api.AuthFailureSignature)
	if r.Response.Error != nil && !strings.Contains(r.Response.Error.Message, "already used") {
		t.Errorf("replay refused with %q: the message should say the signature was already used", r.Response.Error.Message)
	}
	wantRaw(t, "the same write to the other daemon", do(t, to(resend(t, unique, add, "AddCompliancePolicyItemToWhitelist"), other)), api.AuthFailureSignature)
	whitelisted("after a write with a nonce and its replays", 1)

	// A read signed with a nonce: answered once. Replayed to the other
	// daemon, which has not seen it (and runs the read while it records
	// the use), or to the first, it is refused with nothing but the error.
	sumBody := []byte(`{"AssetTypeSet":["ASSET_HOST"]}`)
	readOnce := signedHeaders(t, d.addr, fullID, fullKey, service, "DescribeComplianceTaskAssetSummary", now, sumBody, "content-type", "host", "x-tc-action", "x-tc-nonce", "x-tc-timestamp")
	wantRaw(t, "a read signed with a nonce", do(t, readOnce), "")
	for _, c := range []struct {
		what string
		dm   *daemon
	}{{"the read to the other daemon", other}, {"the read again", d}} {
		resp, err := http.DefaultClient.Do(to(resend(t, readOnce, sumBody, "DescribeComplianceTaskAssetSummary"), c.dm))
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Response map[string]json.RawMessage }
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if _, refused := env.Response["Error"]; err != nil || !refused || len(env.Response) != 2 {
			t.Errorf("%s: answered %v (%v), want only an error and the request id", c.what, slices.Sorted(maps.Keys(env.Response)), err)
		}
	}

	// Requests signed as the SDK signs them.
	summary := []byte(`{"AssetTypeSet":["ASSET_CONTAINER"]}`)
	read := signed(t, d.addr, fullID, fullKey, "DescribeComplianceTaskAssetSummary", now, summary, summary)
	wantRaw(t, "a signed read", do(t, read), "")
	wantRaw(t, "the same read again at once", do(t, resend(t, read, summary, "DescribeComplianceTaskAssetSummary")), "")
	empty := []byte(`{}`)
	periods := signed(t, d.addr, fullID, fullKey, "DescribeCompliancePeriodTaskList", now, empty, empty)
	wantRaw(t, "{} signed for DescribeCompliancePeriodTaskList", do(t, periods), "")
	wantRaw(t, "the same {} as DescribeComplianceWhitelistItemList at once", do(t, resend(t, periods, empty, "DescribeComplianceWhitelistItemList")), "")
	add2 := []byte(`{"CustomerPolicyItemIdSet":[100511],"Reason":"sdk"}`)
	write := signed(t, d.addr, fullID, fullKey, "AddCompliancePolicyItemToWhitelist", now, add2, add2)
	wantRaw(t, "a signed write", do(t, write), "")

	// The credential scope names the service: tcss only.
	for _, svc := range []string{"cvm", ""} {
		req := signedHeaders(t, d.addr, fullID, fullKey, svc, "DescribeComplianceTaskAssetSummary", now, summary, "content-type", "host")
		wantRaw(t, "signed for service "+strconv.Quote(svc), do(t, req), api.AuthFailureSignature)
	}
	// A signed action header cannot be changed.
	bound := signedHeaders(t, d.addr, fullID, fullKey, service, "DescribeComplianceTaskAssetSummary", now, summary, "content-type", "host", "x-tc-action")
	bound.Header.Set("X-TC-Action", "CreateComplianceTask")
	wantRaw(t, "a signed action changed", do(t, bound), api.AuthFailureSignature)

	// The SDK-signed requests replayed once the window has passed (their
	// timestamps still within the 5 minutes the signature check allows).
	time.Sleep(server.RepeatWindow + time.Second)
	for _, c := range []struct {
		what string
		req  *http.Request
	}{
		{"the read, again", resend(t, read, summary, "DescribeComplianceTaskAssetSummary")},
		{"the read as CreateComplianceTask", resend(t, read, summary, "CreateComplianceTask")},
		{"the read as CreateComplianceTask to the other daemon", to(resend(t, read, summary, "CreateComplianceTask"), other)},
		{"{} as InitializeUserComplianceEnvironment", resend(t, periods, empty, "InitializeUserComplianceEnvironment")},
		{"{} as CreateComplianceTask to the other daemon", to(resend(t, periods, empty, "CreateComplianceTask"), other)},
		{"the write, again", resend(t, write, add2, "AddCompliancePolicyItemToWhitelist")},
		{"the write as DeleteCompliancePolicyItemFromWhitelist", resend(t, write, add2, "DeleteCompliancePolicyItemFromWhitelist")},
		{"the write with a nonce, again", resend(t, unique, add, "AddCompliancePolicyItemToWhitelist")},
	} {
		wantRaw(t, c.what+" after the window", do(t, c.req), api.AuthFailureSignature)
	}
	if n := len(tasks(t, bin, data)); n != 0 {
		t.Errorf("replayed requests started %d tasks", n)
	}
	whitelisted("after the replays", 2)
}

// With api.require_signed_action, a request must sign its action header:
// the SDK's common client (which signs content-type and host only) is
// refused with a message naming the option, the project's client (which
// signs the action) is accepted.
func TestRequireSignedAction(t *testing.T) {
	bin, data := binary(t), t.TempDir()
	d := startDaemon(t, bin, data, "--config", writeConfigAPI(t, "  rate_per_second: 1000\n  burst: 1000\n  require_signed_action: true"))
	params := map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}
	newClient(t, d.addr, fullID, fullKey).fails(api.AuthFailureSignature, "DescribeComplianceTaskAssetSummary", params, "x-tc-action", "api.require_signed_action")
	c, err := apiclient.New("http://"+d.addr, fullID, fullKey)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Status string }
	if err := c.Call(context.Background(), "DescribeComplianceTaskAssetSummary", params, &out); err != nil || out.Status == "" {
		t.Errorf("the project's client under require_signed_action: %+v, %v", out, err)
	}
	// The same through the environment variable.
	env := startDaemonEnv(t, bin, t.TempDir(), []string{"BASELINE_API_REQUIRE_SIGNED_ACTION=true"})
	newClient(t, env.addr, fullID, fullKey).fails(api.AuthFailureSignature, "DescribeComplianceTaskAssetSummary", params, "x-tc-action")
}

// vmHWM is a process's peak resident set (VmHWM), in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// spaces is an endless stream of blanks.
type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// Sixteen concurrent uploads of 63 MiB each, naming the full key (its
// SecretId is public: it is in every download link) with a wrong
// signature, are refused with AuthFailure while the daemon's peak memory
// stays under 100 MB (the bodies are hashed as they arrive and spooled to
// an unlinked file, not held in memory); a correctly signed upload of the
// same size still goes through.
func TestUnsignedLargeBodiesStayOutOfMemory(t *testing.T) {
	bin, data := binary(t), t.TempDir()
	d := startDaemon(t, bin, data)
	pid := d.cmd.Process.Pid
	idle := vmHWM(t, pid)
	const size = 63 << 20
	var wg sync.WaitGroup
	codes := make([]string, 16)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, "http://"+d.addr+"/", io.LimitReader(spaces{}, size))
			if err != nil {
				codes[i] = err.Error()
				return
			}
			req.ContentLength = size
			ts := time.Now().Unix()
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-TC-Action", api.UploadAction)
			req.Header.Set("X-TC-Version", version)
			req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
			req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, Signature=%s",
				api.Algorithm, fullID, time.Unix(ts, 0).UTC().Format(time.DateOnly), service, strings.Repeat("0", 64)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			var env struct{ Response struct{ Error *api.Error } }
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Response.Error == nil {
				codes[i] = fmt.Sprintf("HTTP %d, %v, %+v", resp.StatusCode, err, env)
				return
			}
			codes[i] = env.Response.Error.Code
		}()
	}
	wg.Wait()
	hwm := vmHWM(t, pid)
	t.Logf("daemon peak RSS: %.1f MB idle, %.1f MB after 16 unsigned 63 MiB uploads", float64(idle)/1e6, float64(hwm)/1e6)
	for i, c := range codes {
		if c != api.AuthFailureSignature {
			t.Errorf("unsigned upload %d: %s, want %s", i, c, api.AuthFailureSignature)
		}
	}
	if hwm >= 100e6 {
		t.Errorf("daemon peak RSS %.1f MB after 16 unsigned 63 MiB uploads, want under 100 MB", float64(hwm)/1e6)
	}
	if left, _ := os.ReadDir(filepath.Join(data, "spool")); len(left) != 0 {
		t.Errorf("spooled bodies left behind: %v", left)
	}

	// A correctly signed upload of about the same size is recorded.
	rep, node := scanNode(t, "k8s-good")
	u := api.NewScanUpload(nodeScope(node.Name), rep)
	u.Results = slices.Clone(u.Results)
	per := (size - 1<<20) / len(u.Results)
	for i := range u.Results {
		u.Results[i].Reason = strings.Repeat("x", per)
	}
	c, err := apiclient.New("http://"+d.addr, fullID, fullKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Upload(context.Background(), u)
	if err != nil {
		t.Fatalf("a signed upload of about 62 MiB: %v", err)
	}
	if k, ok := findTask(tasks(t, bin, data), id); !ok || k.ResultCount != len(u.Results) {
		t.Errorf("the signed upload's task %d: %+v", id, k)
	}
}

// One unsigned request with a 512 KiB action header adds a bounded line
// to the log, and a flood of unsigned requests from one address is
// throttled after a burst of failures: refused with RequestLimitExceeded
// before anything is read, without a log line each.
func TestUnauthenticatedFloodIsThrottled(t *testing.T) {
	bin, data := binary(t), t.TempDir()
	d := startDaemon(t, bin, data, "--config", writeConfigAPI(t, "  rate_per_second: 1000\n  burst: 1000"))
	unsigned := func(action string) *http.Request {
		req, err := http.NewRequest(http.MethodPost, "http://"+d.addr+"/", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-TC-Action", action)
		req.Header.Set("X-TC-Version", version)
		req.Header.Set("X-TC-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
		return req
	}
	before := len(d.stderr.String())
	wantRaw(t, "unsigned, 512 KiB action", do(t, unsigned(strings.Repeat("A", 512<<10))), "AuthFailure.")
	if grew := len(d.stderr.String()) - before; grew > 2048 {
		t.Errorf("one request with a 512 KiB action header wrote %d bytes to the log, want at most 2 KiB", grew)
	}

	before = len(d.stderr.String())
	counts := map[string]int{}
	for range 500 {
		r := do(t, unsigned("DescribeComplianceTaskAssetSummary"))
		code := "accepted"
		if r.Response.Error != nil {
			code = r.Response.Error.Code
		}
		counts[code]++
	}
	lines := strings.Count(d.stderr.String()[before:], "\n")
	t.Logf("500 unsigned requests: %v; %d log lines", counts, lines)
	if counts[api.RequestLimitExceeded] < 400 || counts["accepted"] != 0 {
		t.Errorf("500 unsigned requests from one address: %v, want most refused with %s", counts, api.RequestLimitExceeded)
	}
	if lines > 50 {
		t.Errorf("500 unsigned requests wrote %d log lines, want the throttled ones unlogged", lines)
	}
	if n := strings.Count(d.stderr.String(), "throttling a client"); n != 1 {
		t.Errorf("the throttling was logged %d times, want once", n)
	}
}
