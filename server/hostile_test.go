package server_test

// Hostile inputs against the real handler (server.New over a SQLite store
// holding goldenReport, in an httptest server), with requests signed by
// hand so that a body can be anything: a panic in a handler, paging and
// filters out of range, ids SQLite cannot hold, data after the JSON
// object, and export links that outlive their export.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store"
)

// testClock is the server's clock: the wall clock plus an offset the test
// moves forward.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) step(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// testAPI is a server over goldenReport's store, at the default log level.
type testAPI struct {
	t         *testing.T
	url, host string
	clock     *testClock
	logs      *testhost.Buffer
	exportDir string
	n         int // requests sent, to vary identical bodies
}

// newTestAPI serves goldenReport's store, wrapped by wrap when not nil.
func newTestAPI(t *testing.T, wrap func(store.Store) store.Store) *testAPI {
	t.Helper()
	db, r := goldenStore(t)
	var st store.Store = db
	if wrap != nil {
		st = wrap(db)
	}
	a := &testAPI{t: t, clock: &testClock{}, logs: &testhost.Buffer{}, exportDir: filepath.Join(t.TempDir(), "exports")}
	h, err := server.New(st, r, server.Options{Keys: []server.Key{{SecretID: goldenSecretID, SecretKey: goldenSecretKey}},
		Logger: slog.New(slog.NewTextHandler(a.logs, nil)), ExportDir: a.exportDir, Now: a.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.WaitExports(context.Background()) })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	a.host = strings.TrimPrefix(srv.URL, "http://")
	return a
}

// response is a decoded envelope.
type response struct {
	Status   int
	Raw      json.RawMessage
	ID       string
	Error    *api.Error
	Transfer error // the request got no response at all
}

// send posts body as action, signed at the server's clock. Identical
// bodies are told apart by trailing spaces, so that no two requests are
// the same bytes.
func (a *testAPI) send(action string, body []byte) response {
	a.t.Helper()
	a.n++
	body = append(bytes.Clone(body), bytes.Repeat([]byte(" "), a.n)...)
	ts := a.clock.now().Unix()
	req, err := http.NewRequest(http.MethodPost, a.url+"/", bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", api.Version)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	canonical := api.CanonicalRequest(http.MethodPost, "/", "", [][2]string{{"content-type", "application/json"}, {"host", a.host}},
		[]string{"content-type", "host"}, body)
	sig := api.Sign(goldenSecretKey, api.Service, ts, canonical)
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, Signature=%s",
		api.Algorithm, goldenSecretID, time.Unix(ts, 0).UTC().Format(time.DateOnly), api.Service, sig))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{Transfer: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct{ Response json.RawMessage }
	if err := json.Unmarshal(raw, &env); err != nil {
		a.t.Fatalf("%s: not an envelope (HTTP %d): %s", action, resp.StatusCode, raw)
	}
	var head struct {
		RequestId string
		Error     *api.Error
	}
	_ = json.Unmarshal(env.Response, &head)
	return response{Status: resp.StatusCode, Raw: env.Response, ID: head.RequestId, Error: head.Error}
}

// call sends params as JSON.
func (a *testAPI) call(action string, params any) response {
	a.t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.send(action, body)
}

// ok requires success and decodes the response into out (when not nil).
func (a *testAPI) ok(action string, params, out any) {
	a.t.Helper()
	r := a.call(action, params)
	if r.Transfer != nil || r.Error != nil {
		a.t.Fatalf("%s %v: %v %+v", action, params, r.Transfer, r.Error)
	}
	if out != nil {
		if err := json.Unmarshal(r.Raw, out); err != nil {
			a.t.Fatal(err)
		}
	}
}

// wantError requires the error code, a request id, and a message naming
// each of want.
func wantError(t *testing.T, what string, r response, code string, want ...string) {
	t.Helper()
	switch {
	case r.Transfer != nil:
		t.Errorf("%s: no response: %v", what, r.Transfer)
		return
	case r.Error == nil:
		t.Errorf("%s: accepted (%s), want %s", what, r.Raw, code)
		return
	case r.Error.Code != code:
		t.Errorf("%s: %s (%s), want %s", what, r.Error.Code, r.Error.Message, code)
	case r.ID == "":
		t.Errorf("%s: %s without a RequestId", what, code)
	}
	for _, w := range want {
		if !strings.Contains(r.Error.Message, w) {
			t.Errorf("%s: message %q does not name %q", what, r.Error.Message, w)
		}
	}
}

// panickingStore panics where the period tasks are read.
type panickingStore struct{ store.Store }

func (panickingStore) PeriodTasks(context.Context) ([]store.PeriodTask, error) {
	panic("period tasks: index out of range [9223372036854775807]")
}

// A panic in a handler is answered InternalError with the request's id,
// logged at Error level (above the default Info) with the action and
// that id, and the server goes on answering.
func TestAPanicIsAnInternalErrorInTheLog(t *testing.T) {
	a := newTestAPI(t, func(st store.Store) store.Store { return panickingStore{st} })
	r := a.call("DescribeCompliancePeriodTaskList", map[string]any{})
	wantError(t, "a panicking handler", r, api.InternalError)
	if r.Error != nil && !strings.Contains(r.Error.Message, r.ID) {
		t.Errorf("the message %q does not quote the RequestId %s", r.Error.Message, r.ID)
	}
	logs := a.logs.String()
	var line string
	for l := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(l, "level=ERROR") {
			line = l
		}
	}
	for _, w := range []string{"action=DescribeCompliancePeriodTaskList", "request_id=" + r.ID, "index out of range"} {
		if r.ID == "" || !strings.Contains(line, w) {
			t.Errorf("no Error line with %q in the log:\n%s", w, logs)
		}
	}
	var l struct{ TotalCount int }
	a.ok("DescribeComplianceAssetList", map[string]any{}, &l)
	if l.TotalCount != 3 {
		t.Errorf("after the panic, the asset list = %+v", l)
	}
}

// Paging out of range is InvalidParameterValue naming Offset or Limit, on
// every list, the in-memory period task list included.
func TestPagingOutOfRange(t *testing.T) {
	a := newTestAPI(t, nil)
	lists := []struct {
		action string
		params map[string]any
	}{
		{"DescribeCompliancePeriodTaskList", map[string]any{}},
		{"DescribeComplianceAssetList", map[string]any{}},
		{"DescribeComplianceAssetPolicyItemList", map[string]any{"CustomerAssetId": goldenContainer}},
		{"DescribeComplianceTaskPolicyItemSummaryList", map[string]any{}},
		{"DescribeCompliancePolicyItemAffectedAssetList", map[string]any{"CustomerPolicyItemId": goldenPrivileged}},
		{"DescribeComplianceScanFailedAssetList", map[string]any{}},
		{"DescribeComplianceWhitelistItemList", map[string]any{"Order": "asc"}},
	}
	for _, l := range lists {
		for _, p := range []struct {
			name  string
			value int64
			field string
		}{{"Offset", math.MaxInt64, "Offset"}, {"Offset", store.MaxOffset + 1, "Offset"}, {"Offset", -1, "Offset"}, {"Limit", -5, "Limit"}} {
			params := map[string]any{p.name: p.value}
			for k, v := range l.params {
				params[k] = v
			}
			wantError(t, fmt.Sprintf("%s with %s %d", l.action, p.name, p.value), a.call(l.action, params), api.InvalidParameterValue, p.field)
		}
		params := map[string]any{"Offset": store.MaxOffset}
		for k, v := range l.params {
			params[k] = v
		}
		a.ok(l.action, params, nil)
	}
}

// Filters beyond their bounds are InvalidParameterValue naming Filters,
// never an internal error; a NUL is refused rather than matching every
// row; a repeated AssetTypeSet counts once.
func TestFiltersOutOfRange(t *testing.T) {
	a := newTestAPI(t, nil)
	values := func(n int, v string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	filter := func(name string, vals ...string) map[string]any { return map[string]any{"Name": name, "Values": vals} }
	many := make([]map[string]any, 21)
	for i := range many {
		many[i] = filter("AssetName", "web")
	}
	cases := []struct {
		what    string
		action  string
		filters []map[string]any
		want    []string
	}{
		{"1,000 values", "DescribeComplianceAssetList", []map[string]any{filter("AssetName", values(1000, "x")...)}, []string{"Filters[0]", "at most 100 values"}},
		{"1,000 values of a policy item list", "DescribeComplianceTaskPolicyItemSummaryList", []map[string]any{filter("Name", values(1000, "x")...)}, []string{"at most 100 values"}},
		{"21 filters", "DescribeComplianceAssetList", many, []string{"Filters", "at most 20 filters"}},
		{"a 257-byte value", "DescribeComplianceScanFailedAssetList", []map[string]any{filter("NodeName", strings.Repeat("n", 257))}, []string{"Filters[0]", "Values[0]", "256 bytes"}},
		{"a NUL", "DescribeComplianceAssetList", []map[string]any{filter("AssetName", "\x00")}, []string{"Filters[0]", "NUL"}},
		{"a NUL in an exact match", "DescribeComplianceWhitelistItemList", []map[string]any{{"Name": "AssetName", "Values": []string{"web\x00"}, "ExactMatch": true}}, []string{"NUL"}},
	}
	for _, c := range cases {
		wantError(t, c.what, a.call(c.action, map[string]any{"Filters": c.filters}), api.InvalidParameterValue, c.want...)
	}
	var l struct{ TotalCount int }
	a.ok("DescribeComplianceAssetList", map[string]any{"Filters": []map[string]any{filter("AssetName", values(100, strings.Repeat("z", 256))...)},
		"AssetTypeSet": values(500, "ASSET_CONTAINER")}, &l)
	if l.TotalCount != 0 {
		t.Errorf("filters at their bounds matched %d assets, want none", l.TotalCount)
	}
}

// An id of 2^63 or more (beyond SQLite's integers) is InvalidParameterValue
// naming the parameter by its path, in every action that takes one: never
// an internal error, never a task started.
func TestIDsOutOfRange(t *testing.T) {
	a := newTestAPI(t, nil)
	const big = uint64(1) << 63
	cases := []struct {
		action string
		params map[string]any
		field  string
	}{
		{"DescribeComplianceAssetDetailInfo", map[string]any{"CustomerAssetId": big}, "CustomerAssetId"},
		{"DescribeComplianceAssetPolicyItemList", map[string]any{"CustomerAssetId": uint64(math.MaxUint64)}, "CustomerAssetId"},
		{"DescribeCompliancePolicyItemAffectedSummary", map[string]any{"CustomerPolicyItemId": big}, "CustomerPolicyItemId"},
		{"DescribeCompliancePolicyItemAffectedAssetList", map[string]any{"CustomerPolicyItemId": big + 1}, "CustomerPolicyItemId"},
		{"ScanComplianceAssets", map[string]any{"CustomerAssetIdSet": []uint64{goldenHost, big}}, "CustomerAssetIdSet[1]"},
		{"ScanComplianceAssetsByPolicyItem", map[string]any{"CustomerPolicyItemId": goldenPrivileged, "CustomerAssetIdSet": []uint64{big}}, "CustomerAssetIdSet[0]"},
		{"ScanCompliancePolicyItems", map[string]any{"CustomerPolicyItemIdSet": []uint64{big}}, "CustomerPolicyItemIdSet[0]"},
		{"ScanComplianceScanFailedAssets", map[string]any{"CustomerAssetIdSet": []uint64{big}}, "CustomerAssetIdSet[0]"},
		{"AddCompliancePolicyItemToWhitelist", map[string]any{"CustomerPolicyItemIdSet": []uint64{big}}, "CustomerPolicyItemIdSet[0]"},
		{"AddComplianceAssetPolicySetToWhitelist", map[string]any{"AssetPolicySetList": []map[string]any{{"CustomerAssetItemId": big}}}, "AssetPolicySetList[0].CustomerAssetItemId"},
		{"AddCompliancePolicyAssetSetToWhitelist", map[string]any{"CustomerPolicyItemId": goldenPrivileged, "CustomerAssetItemIdSet": []uint64{big}}, "CustomerAssetItemIdSet[0]"},
		{"DeleteComplianceAssetPolicySetFromWhitelist", map[string]any{"AssetItemId": big}, "AssetItemId"},
		{"DeleteCompliancePolicyAssetSetFromWhitelist", map[string]any{"PolicyAssetSetList": []map[string]any{{"CustomerPolicyItemId": big}}}, "PolicyAssetSetList[0].CustomerPolicyItemId"},
		{"CreateExportComplianceStatusListJob", map[string]any{"AssetType": "ASSET_HOST", "ExportByAsset": true, "ExportAll": false, "IdList": []uint64{big}}, "IdList[0]"},
		{"ModifyCompliancePeriodTask", map[string]any{"PeriodTaskId": 1, "StandardSettings": []map[string]any{{"StandardId": big, "Enable": true}}}, "StandardSettings[0].StandardId"},
		{"UploadComplianceScanResult", map[string]any{"Scope": map[string]any{"NodeName": "node-1", "StandardIds": []string{"cis-docker-1.6.0"}},
			"StartedAt": "2025-03-14T09:00:00Z", "FinishedAt": "2025-03-14T09:01:00Z",
			"Assets": []map[string]any{{"CustomerAssetId": 7, "AssetType": "ASSET_HOST"}, {"CustomerAssetId": big, "AssetType": "ASSET_CONTAINER"}}}, "Assets[1].CustomerAssetId"},
	}
	for _, c := range cases {
		wantError(t, c.action, a.call(c.action, c.params), api.InvalidParameterValue, c.field, "9223372036854775", "out of range")
	}
	// The largest id that SQLite holds is a plain unknown id.
	wantError(t, "asset 2^63-1", a.call("DescribeComplianceAssetDetailInfo", map[string]any{"CustomerAssetId": uint64(math.MaxInt64)}), api.ResourceNotFound)
}

// A body that goes on after its JSON object is refused (the signature
// covers it, but the server would read only the first object); trailing
// white space is not.
func TestDataAfterTheJSONObject(t *testing.T) {
	a := newTestAPI(t, nil)
	for _, body := range []string{
		`{"AssetTypeSet":["ASSET_HOST"]} {"AssetTypeSet":["ASSET_CONTAINER"]}`,
		`{}garbage`,
		`{} }`,
		`{}{}`,
		`{} null`,
	} {
		wantError(t, body, a.send("DescribeComplianceAssetList", []byte(body)), api.InvalidParameter, "after its JSON object")
	}
	if r := a.send("DescribeComplianceAssetList", []byte("{\"Limit\": 2}\r\n\t ")); r.Error != nil || r.Transfer != nil {
		t.Errorf("trailing white space: %v %+v", r.Transfer, r.Error)
	}
}
