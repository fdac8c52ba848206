package server_test

// The API's responses, byte for byte, on a fixed input: goldenReport (the
// scan of report/golden_test.go: a host that passed, with a manual and a
// not-applicable item; a container that failed two items; an image whose
// inspect failed) recorded as one manual task in a fresh SQLite store
// whose clock stands still at goldenNow, served by the real handler
// (server.New over that store, in an httptest server) and called through
// the project's signing client (server/client). Each response body is kept
// as the server wrote it, with only its RequestId (random per request)
// redacted, in testdata/ACTION[.CASE].golden; regenerate them with
//
//	go test ./server -run Golden -update
//
// The server's own clock stays the wall clock: the client signs with the
// wall clock, so a fixed server clock would refuse every request as
// expired, and only the signature check and the export jobs read it (no
// action called here does).

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The key the golden client signs with.
const (
	goldenSecretID  = "AKIDgoldenFullAccess"
	goldenSecretKey = "golden-secret-0123456789abcdef"
)

// Asset and item ids of the fixed scan.
const (
	goldenHost       = testhost.GoldenHost
	goldenContainer  = testhost.GoldenContainer
	goldenImage      = testhost.GoldenImage
	goldenPrivileged = testhost.GoldenPrivileged
	goldenRoot       = testhost.GoldenRoot
)

// goldenNow is the store's clock: when the task was recorded and the
// whitelist entry added.
var goldenNow = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// goldenCall is one API request and the golden file of its response.
type goldenCall struct {
	file   string // under testdata
	action string
	params any
	// code is the error code the response must carry ("" for success).
	code string
}

// goldenCalls are the requests, in order: every read action on the stored
// scan, then a whitelist entry added and the lists that show it, then an
// error.
var goldenCalls = []goldenCall{
	{"DescribeComplianceTaskAssetSummary.golden", "DescribeComplianceTaskAssetSummary",
		map[string]any{"AssetTypeSet": assets.Types}, ""},
	{"DescribeComplianceAssetList.golden", "DescribeComplianceAssetList", map[string]any{}, ""},
	{"DescribeComplianceAssetDetailInfo.host.golden", "DescribeComplianceAssetDetailInfo",
		map[string]any{"CustomerAssetId": goldenHost}, ""},
	{"DescribeComplianceAssetDetailInfo.container.golden", "DescribeComplianceAssetDetailInfo",
		map[string]any{"CustomerAssetId": goldenContainer}, ""},
	{"DescribeComplianceAssetDetailInfo.image.golden", "DescribeComplianceAssetDetailInfo",
		map[string]any{"CustomerAssetId": goldenImage}, ""},
	{"DescribeComplianceAssetPolicyItemList.host.golden", "DescribeComplianceAssetPolicyItemList",
		map[string]any{"CustomerAssetId": goldenHost}, ""},
	{"DescribeComplianceAssetPolicyItemList.container.golden", "DescribeComplianceAssetPolicyItemList",
		map[string]any{"CustomerAssetId": goldenContainer}, ""},
	{"DescribeComplianceAssetPolicyItemList.image.golden", "DescribeComplianceAssetPolicyItemList",
		map[string]any{"CustomerAssetId": goldenImage}, ""},
	{"DescribeComplianceTaskPolicyItemSummaryList.golden", "DescribeComplianceTaskPolicyItemSummaryList", map[string]any{}, ""},
	{"DescribeCompliancePolicyItemAffectedSummary.golden", "DescribeCompliancePolicyItemAffectedSummary",
		map[string]any{"CustomerPolicyItemId": goldenPrivileged}, ""},
	{"DescribeCompliancePolicyItemAffectedAssetList.golden", "DescribeCompliancePolicyItemAffectedAssetList",
		map[string]any{"CustomerPolicyItemId": goldenPrivileged}, ""},
	{"DescribeComplianceScanFailedAssetList.golden", "DescribeComplianceScanFailedAssetList", map[string]any{}, ""},
	{"DescribeCompliancePeriodTaskList.golden", "DescribeCompliancePeriodTaskList", map[string]any{}, ""},
	{"AddCompliancePolicyAssetSetToWhitelist.golden", "AddCompliancePolicyAssetSetToWhitelist",
		map[string]any{"CustomerPolicyItemId": goldenRoot, "CustomerAssetItemIdSet": []uint64{goldenContainer},
			"Reason": "the vendor image needs root; tracked upstream", "Operator": "alice"}, ""},
	{"DescribeComplianceWhitelistItemList.golden", "DescribeComplianceWhitelistItemList", map[string]any{}, ""},
	{"DescribeComplianceAssetPolicyItemList.container.whitelisted.golden", "DescribeComplianceAssetPolicyItemList",
		map[string]any{"CustomerAssetId": goldenContainer}, ""},
	{"DescribeComplianceAssetList.limit-101.golden", "DescribeComplianceAssetList",
		map[string]any{"Limit": 101}, api.InvalidParameterValue},
}

// TestGoldenAPI calls each action of goldenCalls on the stored goldenReport
// and compares each response body with its golden file.
func TestGoldenAPI(t *testing.T) {
	ctx := context.Background()
	c, rec := newGoldenAPI(t)
	for _, call := range goldenCalls {
		err := c.Call(ctx, call.action, call.params, nil)
		var apiErr *api.Error
		switch {
		case call.code == "" && err != nil:
			t.Fatalf("%s: %v", call.file, err)
		case call.code != "" && !errors.As(err, &apiErr):
			t.Fatalf("%s: want error %s, got %v", call.file, call.code, err)
		case call.code != "" && apiErr.Code != call.code:
			t.Fatalf("%s: error %v, want %s", call.file, apiErr, call.code)
		}
		status, body := rec.last()
		if status != http.StatusOK {
			t.Errorf("%s: HTTP %d, want 200", call.file, status)
		}
		goldenFile(t, call.file, redactRequestID(t, body))
	}
}

// newGoldenAPI stores goldenReport as the daemon would (period tasks, the
// catalog, one recorded task) and serves the store with the real handler;
// it returns a client of that server and the recorder of its responses.
func newGoldenAPI(t *testing.T) (*client.Client, *bodyRecorder) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	db, r := goldenStore(t)
	api, err := server.New(db, r, server.Options{Keys: []server.Key{{SecretID: goldenSecretID, SecretKey: goldenSecretKey}},
		Logger: quiet, ExportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rec := &bodyRecorder{h: api}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, goldenSecretID, goldenSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// goldenStore records the fixed scan as the daemon would (period tasks,
// the catalog, one recorded task) in a store on the fixed clock, and
// returns the store and its runner.
func goldenStore(t *testing.T) (*sqlite.DB, *runner.Runner) {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Now: func() time.Time { return goldenNow }, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.EnsurePeriodTasks(ctx); err != nil {
		t.Fatal(err)
	}
	rep := testhost.GoldenReport()
	cat := &checks.Catalog{}
	if err := cat.Add(rep.Standards...); err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(ctx, cat, db, runner.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Record(ctx, store.TriggerManual, store.Scope{}, rep); err != nil {
		t.Fatal(err)
	}
	return db, r
}

// bodyRecorder serves a handler and keeps the status and the body bytes of
// its latest response, exactly as the handler wrote them.
type bodyRecorder struct {
	h      http.Handler
	mu     sync.Mutex
	status int
	body   []byte
}

// ServeHTTP passes the request to the handler and its response on to w.
func (b *bodyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr := httptest.NewRecorder()
	b.h.ServeHTTP(rr, r)
	b.mu.Lock()
	b.status, b.body = rr.Code, bytes.Clone(rr.Body.Bytes())
	b.mu.Unlock()
	for k, v := range rr.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rr.Code)
	_, _ = w.Write(rr.Body.Bytes())
}

// last is the status and body of the latest response.
func (b *bodyRecorder) last() (int, []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, b.body
}

// requestIDField is the envelope's RequestId, a random UUID.
var requestIDField = regexp.MustCompile(`"RequestId":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"`)

// redactRequestID replaces the body's one RequestId with a fixed value.
func redactRequestID(t *testing.T, body []byte) []byte {
	t.Helper()
	if n := len(requestIDField.FindAll(body, -1)); n != 1 {
		t.Fatalf("%d RequestId fields in the response, want 1:\n%s", n, body)
	}
	return requestIDField.ReplaceAll(body, []byte(`"RequestId":"REDACTED"`))
}

// goldenFile compares got with testdata/name, or rewrites the file under
// -update.
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	testhost.Golden(t, name, got, *update, byteDiff)
}

// byteDiff shows where two bodies first differ, with some context (the
// bodies are one line of JSON each, so a line diff would show it all).
func byteDiff(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-80)
	snip := func(b []byte) string { return fmt.Sprintf("%q", b[from:min(len(b), i+80)]) }
	return fmt.Sprintf("first difference at byte %d (golden %d bytes, got %d)\n- %s\n+ %s", i, len(want), len(got), snip(want), snip(got))
}
