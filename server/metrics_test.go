package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// probeServer serves the golden store (a host that passed, a container
// failing two items, an image whose inspect failed) with the metrics
// options given, in a real HTTP server.
func probeServer(t *testing.T, opts server.MetricsOptions) (*httptest.Server, *sqlite.DB) {
	t.Helper()
	db, r := goldenStore(t)
	h, err := server.New(db, r, server.Options{Keys: []server.Key{{SecretID: goldenSecretID, SecretKey: goldenSecretKey}},
		Logger: slog.New(slog.DiscardHandler), ExportDir: t.TempDir(), Metrics: opts})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, db
}

// getProbe sends a GET, with basic authentication when user is set, and
// returns the status and the body.
func getProbe(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// samples parses a scrape into series → value, a series written as
// name{label="value",...} with its labels sorted.
func samples(t *testing.T, body string) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the scrape is not the Prometheus text format: %v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(ls)
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[name+"{"+strings.Join(ls, ",")+"}"] = v
		}
	}
	return out
}

// The scrape of a daemon's /metrics: its figures per asset type equal the
// store's summary (what `baseline summary` prints), API requests are
// counted by action and code, and the key is required.
func TestMetricsEqualTheSummary(t *testing.T) {
	srv, db := probeServer(t, server.MetricsOptions{})
	c, err := client.New(srv.URL, goldenSecretID, goldenSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Call(ctx, api.DescribeComplianceTaskAssetSummary, map[string]any{"AssetTypeSet": []string{"ASSET_HOST"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "DescribeNothing", map[string]any{}, nil); err == nil {
		t.Fatal("an unknown action succeeded")
	}

	for _, c := range []struct{ name, user, pass string }{{"no key", "", ""}, {"unknown key", "AKIDnobody", goldenSecretKey},
		{"wrong secret", goldenSecretID, "not-the-secret"}} {
		if code, body := getProbe(t, srv.URL+"/metrics", c.user, c.pass); code != http.StatusUnauthorized || strings.Contains(body, "baseline_") {
			t.Errorf("%s: /metrics answered %d:\n%.300s", c.name, code, body)
		}
	}
	code, body := getProbe(t, srv.URL+"/metrics", goldenSecretID, goldenSecretKey)
	if code != http.StatusOK {
		t.Fatalf("/metrics with the key: %d\n%s", code, body)
	}
	got := samples(t, body)
	sums, err := db.Summary(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, s := range sums {
		for k, v := range summarySamples(s) {
			want[k] = v
		}
	}
	want[`baseline_api_requests_total{action="DescribeComplianceTaskAssetSummary",code="OK"}`] = 1
	want[`baseline_api_requests_total{action="unknown",code="InvalidAction"}`] = 1
	want[`baseline_tasks{status="CHECK_FINISHED",trigger="manual"}`] = 1
	want[`baseline_outbox_entries{}`] = 0
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if len(sums) == 0 || got[`baseline_failed_items{asset_type="ASSET_CONTAINER",risk="RISK_CRITICAL"}`]+
		got[`baseline_failed_items{asset_type="ASSET_CONTAINER",risk="RISK_HIGH"}`] == 0 {
		t.Errorf("the golden container fails no critical or high item: %v", got)
	}
	checkStandardFailures(t, got)
}

// summarySamples are the series that one asset type's summary gives.
func summarySamples(s store.AssetSummary) map[string]float64 {
	t := fmt.Sprintf("%q", string(s.AssetType))
	out := map[string]float64{
		"baseline_asset_pass_ratio{asset_type=" + t + "}":                  s.AssetPassedRate / 100,
		"baseline_asset_count{asset_type=" + t + "}":                       float64(s.AssetCount),
		"baseline_assets{asset_type=" + t + `,state="passed"}`:             float64(s.PassedAssetCount),
		"baseline_assets{asset_type=" + t + `,state="failed"}`:             float64(s.FailedAssetCount),
		"baseline_assets{asset_type=" + t + `,state="scan_failed"}`:        float64(s.ScanFailedAssetCount),
		"baseline_items{asset_type=" + t + `,state="passed"}`:              float64(s.PassedPolicyItemCount),
		"baseline_items{asset_type=" + t + `,state="failed"}`:              float64(s.FailedPolicyItemCount),
		"baseline_items{asset_type=" + t + `,state="ignored"}`:             float64(s.IgnoredPolicyItemCount),
		"baseline_failed_items{asset_type=" + t + `,risk="RISK_CRITICAL"}`: float64(s.FailedCriticalPolicyItemCount),
		"baseline_failed_items{asset_type=" + t + `,risk="RISK_HIGH"}`:     float64(s.FailedHighRiskPolicyItemCount),
		"baseline_failed_items{asset_type=" + t + `,risk="RISK_MEDIUM"}`:   float64(s.FailedMediumRiskPolicyItemCount),
		"baseline_failed_items{asset_type=" + t + `,risk="RISK_LOW"}`:      float64(s.FailedLowRiskPolicyItemCount),
		"baseline_failed_items{asset_type=" + t + `,risk="RISK_NOTICE"}`:   float64(s.NoticePolicyItemCount),
		"baseline_last_check_duration_seconds{asset_type=" + t + "}":       s.CheckCostTime,
	}
	if last, err := time.Parse(time.DateTime, s.LastCheckTime); err == nil {
		out["baseline_last_check_timestamp_seconds{asset_type="+t+"}"] = float64(last.Unix())
	}
	return out
}

// checkStandardFailures: the failed items per standard and risk add up to
// the failed items per type and risk.
func checkStandardFailures(t *testing.T, got map[string]float64) {
	t.Helper()
	byRisk := map[string][2]float64{}
	for k, v := range got {
		for _, r := range checks.Risks {
			risk := fmt.Sprintf("risk=%q", r)
			switch {
			case strings.HasPrefix(k, "baseline_standard_failed_items{") && strings.Contains(k, risk):
				byRisk[string(r)] = [2]float64{byRisk[string(r)][0] + v, byRisk[string(r)][1]}
			case strings.HasPrefix(k, "baseline_failed_items{") && strings.Contains(k, risk):
				byRisk[string(r)] = [2]float64{byRisk[string(r)][0], byRisk[string(r)][1] + v}
			}
		}
	}
	for r, n := range byRisk {
		if n[0] != n[1] {
			t.Errorf("%s: %v failed items over the standards, %v over the asset types", r, n[0], n[1])
		}
	}
}

// Public metrics need no key; the top items are bounded as configured.
func TestPublicMetricsAndTopItems(t *testing.T) {
	srv, _ := probeServer(t, server.MetricsOptions{Public: true, TopItems: 1})
	code, body := getProbe(t, srv.URL+"/metrics", "", "")
	if code != http.StatusOK {
		t.Fatalf("public /metrics without a key: %d\n%s", code, body)
	}
	var top []string
	for k := range samples(t, body) {
		if strings.HasPrefix(k, "baseline_item_failed_assets{") {
			top = append(top, k)
		}
	}
	if len(top) != 1 {
		t.Errorf("top_items 1 gives %d items: %v", len(top), top)
	}
}

// /healthz answers while the process runs; /readyz while the store
// answers, and 503 once it is closed. Neither needs a key.
func TestHealthAndReadiness(t *testing.T) {
	srv, db := probeServer(t, server.MetricsOptions{})
	if code, body := getProbe(t, srv.URL+"/healthz", "", ""); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := getProbe(t, srv.URL+"/readyz", "", ""); code != http.StatusOK {
		t.Errorf("/readyz on an open store: %d %s", code, body)
	}
	db.Close()
	if code, body := getProbe(t, srv.URL+"/readyz", "", ""); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a closed store: %d %s", code, body)
	}
	if code, _ := getProbe(t, srv.URL+"/healthz", "", ""); code != http.StatusOK {
		t.Errorf("/healthz on a closed store: %d, want 200 (the process is alive)", code)
	}
}
