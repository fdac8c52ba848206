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
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
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

// Asset and item ids of goldenReport.
const (
	goldenHost       uint64 = 4503599627370001
	goldenContainer  uint64 = 4503599627370002
	goldenImage      uint64 = 4503599627370003
	goldenPrivileged uint64 = 100505
	goldenRoot       uint64 = 300009
)

// goldenNow is the store's clock: when the task was recorded and the
// whitelist entry added.
var goldenNow = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// goldenReport is one fixed scan, the same as report/golden_test.go's: a
// host that passed (with a manual and a not-applicable item), a container
// that failed two items, and an image whose inspect failed, so that its
// check could not be carried out. Every time is fixed.
func goldenReport() *results.Report {
	start := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }

	cis := &checks.Standard{ID: "cis-docker-1.6.0", Name: "CIS Docker Benchmark", Version: "1.6.0",
		Description: "CIS Docker Benchmark v1.6.0", AssetTypes: []assets.Type{assets.Host, assets.Container, assets.Image}, Enabled: true, Origin: "builtin"}
	own := &checks.Standard{ID: "baseline-docker-1.0", Name: "Baseline Docker best practices", Version: "1.0",
		Description: "Our own best practices beyond CIS", AssetTypes: []assets.Type{assets.Container}, Enabled: true, Origin: "builtin"}
	add := func(s *checks.Standard, it *checks.Item) *checks.Item {
		it.Standard = s
		s.Items = append(s.Items, it)
		return it
	}
	hardened := add(cis, &checks.Item{
		ID: 100119, Number: "1.2.1", Title: "Ensure the container host has been Hardened", Category: "Host Configuration",
		AssetType: assets.Host, Risk: checks.RiskLow, Level: 1,
		Description: "The host should be hardened according to a security baseline.",
		Procedure:   "Check that the host follows a hardening guide.",
		Remediation: "Harden the host.",
	})
	icc := add(cis, &checks.Item{
		ID: 100202, Number: "2.2", Title: "Ensure network traffic is restricted between containers on the default bridge", Category: "Docker daemon configuration",
		AssetType: assets.Host, Risk: checks.RiskMedium, Level: 1, Automated: true, Scored: true,
		Description: "Setting icc to false blocks traffic between containers on the default bridge.",
		Procedure:   "Check that \"icc\": false is in daemon.json.",
		Remediation: "Add \"icc\": false to /etc/docker/daemon.json and restart the daemon.",
		References:  []string{"https://docs.docker.com/engine/network/drivers/bridge/"},
	})
	swarm := add(cis, &checks.Item{
		ID: 100702, Number: "7.2", Title: "Ensure that swarm services are bound to a specific host interface", Category: "Docker Swarm Configuration",
		AssetType: assets.Host, Risk: checks.RiskMedium, Level: 1, Automated: true, Scored: true,
		Description: "Swarm services should listen on a specific interface.",
		Procedure:   "Check the swarm's listen address.",
		Remediation: "Re-initialise the swarm with --listen-addr.",
	})
	privileged := add(cis, &checks.Item{
		ID: goldenPrivileged, Number: "5.5", Title: "Ensure that privileged containers are not used", Category: "Container Runtime",
		AssetType: assets.Container, Risk: checks.RiskCritical, Level: 1, Automated: true, Scored: true,
		Description: "A privileged container gets every capability and access to all host devices.",
		Procedure:   "Run docker inspect --format '{{.HostConfig.Privileged}}' CONTAINER; it should print false.",
		Remediation: "Remove --privileged.",
		References:  []string{"https://docs.docker.com/engine/containers/run/"},
	})
	mounts := add(cis, &checks.Item{
		ID: 100506, Number: "5.6", Title: "Ensure sensitive host system directories are not mounted on containers", Category: "Container Runtime",
		AssetType: assets.Container, Risk: checks.RiskHigh, Level: 1, Automated: true, Scored: true,
		Description: "Sensitive host directories must not be mounted into containers.",
		Procedure:   "List the container's mounts.",
		Remediation: "Do not mount sensitive host directories.",
	})
	user := add(cis, &checks.Item{
		ID: 100401, Number: "4.1", Title: "Ensure that a user for the container has been created", Category: "Container Images and Build File Configuration",
		AssetType: assets.Image, Risk: checks.RiskHigh, Level: 1, Automated: true, Scored: true,
		Description: "Images should run as a non-root user.",
		Procedure:   "Run docker image inspect --format '{{.Config.User}}' IMAGE.",
		Remediation: "Add a USER instruction to the Dockerfile.",
	})
	root := add(own, &checks.Item{
		ID: goldenRoot, Number: "B3.1", Title: "Ensure containers do not run as the root user", Category: "Containers",
		AssetType: assets.Container, Risk: checks.RiskHigh, Automated: true, Scored: true,
		Description: "A container whose process runs as root is one escape away from root on the host.",
		Procedure:   "Check {.Config.User} of the container.",
		Remediation: "Run the container with --user or set USER in the image.",
	})

	host := assets.Asset{ID: goldenHost, Type: assets.Host, Name: "node-1", Ref: "0123456789abcdef0123456789abcdef", NodeName: "node-1",
		Host: &assets.HostDetails{HostName: "node-1", HostIP: "192.0.2.10", InstanceID: "0123456789abcdef0123456789abcdef", DockerVersion: "28.5.2", ContainerdVersion: "1.7.28"}}
	web := assets.Asset{ID: goldenContainer, Type: assets.Container, Name: "web-1", Ref: "4f2a9c0d1e2f", NodeName: "node-1",
		Container: &assets.ContainerDetails{ContainerID: "4f2a9c0d1e2f", Name: "web-1", State: assets.StateNormal, ImageName: "nginx:1.25", CreateTime: start.Add(-24 * time.Hour)}}
	img := assets.Asset{ID: goldenImage, Type: assets.Image, Name: "nginx:1.25", Ref: "sha256:9b1d2c3e4f5a", NodeName: "node-1",
		Image: &assets.ImageDetails{ImageID: "sha256:9b1d2c3e4f5a", Name: "nginx:1.25", Tag: "1.25", Repository: "nginx"}}
	gone := "Error response from daemon: No such image: sha256:9b1d2c3e4f5a"

	return &results.Report{
		StartedAt: start, FinishedAt: at(2345),
		Standards: []*checks.Standard{cis, own},
		Items:     []*checks.Item{hardened, icc, swarm, privileged, mounts, user, root},
		Assets:    []assets.Asset{host, web, img},
		Results: []results.Result{
			{ItemID: hardened.ID, AssetID: host.ID, CheckedAt: at(100), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultManual, Reason: "manual review required; evidence collected",
				Evidence: []checks.Evidence{{Source: "/etc/os-release", Subject: "PRETTY_NAME", Actual: "Debian GNU/Linux 13 (trixie)", Expected: "reviewed by hand"}}}},
			{ItemID: icc.ID, AssetID: host.ID, CheckedAt: at(110), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultPassed,
				Evidence: []checks.Evidence{{Source: "/etc/docker/daemon.json", Subject: "{.icc}", Actual: "false", Expected: "'{.icc}' is equal to 'false'", Passed: true}}}},
			{ItemID: swarm.ID, AssetID: host.ID, CheckedAt: at(120), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultNotApplicable, Reason: "swarm mode is not active",
				Evidence: []checks.Evidence{{Source: "docker info", Subject: "{.Swarm.LocalNodeState}", Actual: "inactive", Expected: "'{.Swarm.LocalNodeState}' is equal to 'active'"}}}},
			{ItemID: privileged.ID, AssetID: web.ID, CheckedAt: at(200), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultFailed,
				Evidence: []checks.Evidence{{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "true", Expected: "'{.HostConfig.Privileged}' is equal to 'false'"}}}},
			{ItemID: mounts.ID, AssetID: web.ID, CheckedAt: at(210), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultPassed,
				Evidence: []checks.Evidence{{Source: "container inspect", Subject: "{.Mounts[*].Source}", Actual: "[/srv/www]", Expected: "'{.Mounts[*].Source}' does not match /^/(boot|dev|etc|lib|proc|sys|usr)?$/", Passed: true}}}},
			{ItemID: root.ID, AssetID: web.ID, CheckedAt: at(220), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultFailed,
				Evidence: []checks.Evidence{
					{Source: "container inspect", Subject: "{.HostConfig.UsernsMode}", Actual: "not set", Expected: "'{.HostConfig.UsernsMode}' is not set", Passed: true},
					{Source: "container inspect", Subject: "{.Config.User}", Actual: "not set", Expected: "'{.Config.User}' is set"},
				}}},
			{ItemID: user.ID, AssetID: img.ID, CheckedAt: at(300), Verdict: checks.Failed(gone)},
		},
		Failures:        []results.AssetFailure{{AssetID: img.ID, Reason: gone, Suggestion: "the image may have been removed during the scan; rescan it", CheckTime: at(50)}},
		EngineCalls:     7,
		EngineCallsByOp: map[string]int{"info": 1, "containers": 1, "images": 1, "container": 1, "image": 1, "version": 1, "ping": 1},
	}
}

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
	rep := goldenReport()
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
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./server -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("response differs from golden file %s (run go test ./server -run Golden -update to accept):\n%s", path, byteDiff(want, got))
	}
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
