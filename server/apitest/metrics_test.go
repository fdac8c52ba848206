package apitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/store"
)

// scrape GETs a daemon's /metrics (with basic authentication when id is
// set) and returns the status and each series' value by name and labels.
func scrape(t testing.TB, addr, id, key string) (int, map[string]float64) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		req.SetBasicAuth(id, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v\n%s", err, raw)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			out[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return resp.StatusCode, out
}

// A real daemon over a store with results (a scan of a Kubernetes node's
// files and of its host without an engine): every figure of `baseline
// summary` for the same store is in the scrape of /metrics, which needs
// an API key unless metrics.public is set.
func TestMetricsScrapeEqualsBaselineSummary(t *testing.T) {
	bin := binary(t)
	data := t.TempDir()
	d := startDaemon(t, bin, data, "--config", nodeDaemonConfig(t, "k8s-bad", "http://127.0.0.1:1", fullID, fullKey))
	c := newClient(t, d.addr, fullID, fullKey)
	var started struct{ TaskId int64 }
	c.ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_K8S", "ASSET_HOST"}}, &started)
	waitTask(t, bin, data, started.TaskId)
	// The upstream does not answer: the task waits in the outbox (it is
	// queued just after it is recorded finished).
	waitFor(t, "the task in the outbox", func() bool { return outboxStats(t, data).Depth == 1 })

	if code, _ := scrape(t, d.addr, "", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without a key: %d, want 401", code)
	}
	if code, _ := scrape(t, d.addr, fullID, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong secret: %d, want 401", code)
	}
	code, got := scrape(t, d.addr, fullID, fullKey)
	if code != http.StatusOK {
		t.Fatalf("/metrics with the key: %d", code)
	}
	var sums []store.AssetSummary
	if err := json.Unmarshal(testbin.Run(t, bin, "summary", "--data-dir", data, "--format", "json"), &sums); err != nil {
		t.Fatal(err)
	}
	if len(sums) == 0 {
		t.Fatal("baseline summary lists no asset type")
	}
	for _, s := range sums {
		at := ",asset_type=" + string(s.AssetType)
		want := map[string]float64{
			"baseline_asset_pass_ratio" + at: s.AssetPassedRate / 100, "baseline_asset_count" + at: float64(s.AssetCount),
			"baseline_assets" + at + ",state=passed": float64(s.PassedAssetCount), "baseline_assets" + at + ",state=failed": float64(s.FailedAssetCount),
			"baseline_assets" + at + ",state=scan_failed": float64(s.ScanFailedAssetCount),
			"baseline_items" + at + ",state=passed":       float64(s.PassedPolicyItemCount), "baseline_items" + at + ",state=failed": float64(s.FailedPolicyItemCount),
			"baseline_failed_items" + at + ",risk=RISK_CRITICAL": float64(s.FailedCriticalPolicyItemCount),
			"baseline_failed_items" + at + ",risk=RISK_HIGH":     float64(s.FailedHighRiskPolicyItemCount),
			"baseline_failed_items" + at + ",risk=RISK_MEDIUM":   float64(s.FailedMediumRiskPolicyItemCount),
			"baseline_failed_items" + at + ",risk=RISK_LOW":      float64(s.FailedLowRiskPolicyItemCount),
			"baseline_failed_items" + at + ",risk=RISK_NOTICE":   float64(s.NoticePolicyItemCount),
			"baseline_last_check_duration_seconds" + at:          s.CheckCostTime,
		}
		if last, err := time.Parse(time.DateTime, s.LastCheckTime); err == nil {
			want["baseline_last_check_timestamp_seconds"+at] = float64(last.Unix())
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: %v in the scrape (present %v), %v in baseline summary", k, g, ok, v)
			}
		}
	}
	if n := got["baseline_tasks,status=CHECK_FINISHED,trigger=manual"]; n != 1 {
		t.Errorf("finished manual tasks in the scrape: %v, want 1", n)
	}
	if n := got["baseline_api_requests_total,action=CreateComplianceTask,code=OK"]; n != 1 {
		t.Errorf("CreateComplianceTask requests counted: %v, want 1", n)
	}
	if n := got["baseline_outbox_entries"]; n != 1 {
		t.Errorf("outbox entries in the scrape: %v, want 1", n)
	}
	d.stop(t)

	public := startDaemonEnv(t, bin, data, []string{"BASELINE_METRICS_PUBLIC=true"})
	if code, got := scrape(t, public.addr, "", ""); code != http.StatusOK || got[fmt.Sprintf("baseline_asset_count,asset_type=%s", sums[0].AssetType)] != float64(sums[0].AssetCount) {
		t.Errorf("public /metrics without a key: %d", code)
	}
}
