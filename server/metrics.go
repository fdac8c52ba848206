package server

import (
	"cmp"
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
)

// DefaultMetricsTopItems is how many items /metrics gives the failed
// asset count of, unless configured: those failing on most assets.
const DefaultMetricsTopItems = 20

// MetricsOptions configure /metrics.
type MetricsOptions struct {
	// Public serves /metrics without an API key.
	Public bool
	// TopItems bounds baseline_item_failed_assets to the items failing on
	// most assets (default DefaultMetricsTopItems).
	TopItems int
}

// metricsTimeout bounds the store's work for one scrape.
const metricsTimeout = 20 * time.Second

// codeOK is the code label of a request answered without an error.
const codeOK = "OK"

// newMetrics makes the /metrics handler: the compliance figures computed
// from the store at each scrape, and the API's request counter.
func (s *Server) newMetrics(opts MetricsOptions) {
	if opts.TopItems <= 0 {
		opts.TopItems = DefaultMetricsTopItems
	}
	s.metricsPublic = opts.Public
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baseline_api_requests_total",
		Help: "API requests answered, by action (unknown for an action not served) and code (OK, or the error's code)."}, []string{"action", "code"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.requests, newCollector(s.store, opts.TopItems))
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError, Timeout: metricsTimeout})
}

// countRequest counts an API request by its action and outcome; an action
// that is not served counts as unknown, so that the label stays bounded.
func (s *Server) countRequest(action string, apiErr *api.Error) {
	if _, ok := actions[action]; !ok {
		action = "unknown"
	}
	code := codeOK
	if apiErr != nil {
		code = apiErr.Code
	}
	s.requests.WithLabelValues(action, code).Inc()
}

// serveProbe answers /healthz, /readyz and /metrics (GET), and reports
// whether r was one of them.
func (s *Server) serveProbe(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch r.URL.Path {
	case "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	case "/readyz":
		s.serveReady(w, r)
	case "/metrics":
		s.serveMetrics(w, r)
	default:
		return false
	}
	return true
}

// serveReady answers 200 when the store answers with every migration
// applied, 503 otherwise.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var err error
	if hc, ok := s.store.(store.HealthChecker); ok {
		err = hc.Ready(ctx)
	} else {
		_, err = s.store.PeriodTasks(ctx)
	}
	if err != nil {
		s.log.Warn("not ready", "err", err.Error())
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: the store does not answer or its schema is not this program's\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// serveMetrics serves /metrics to a client that names an API key with
// HTTP basic authentication (SecretId as the user, SecretKey as the
// password), or to anyone when the metrics are public. A failed
// authentication counts against the client's address as the API's do.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.metricsPublic {
		client := clientAddr(r)
		if ok, _ := s.failures.allow(client); !ok {
			http.Error(w, "too many failed authentications: retry later", http.StatusTooManyRequests)
			return
		}
		if !s.metricsKey(r) {
			s.failures.fail(client)
			w.Header().Set("WWW-Authenticate", `Basic realm="baseline metrics"`)
			http.Error(w, "an API key is required: HTTP basic authentication with a SecretId and its SecretKey", http.StatusUnauthorized)
			return
		}
	}
	s.metrics.ServeHTTP(w, r)
}

// metricsKey reports whether the request carries a configured key.
func (s *Server) metricsKey(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return false
	}
	k, known := s.keys[id]
	if !known {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(k.SecretKey)) == 1
}

// collector computes the compliance figures from the store's roll-ups at
// each scrape. Every label set is bounded: asset types, standards, risk
// levels, triggers and statuses are few, and items are the top N.
type collector struct {
	st  store.Store
	top int
}

func newCollector(st store.Store, top int) *collector { return &collector{st: st, top: top} }

var (
	descPassRatio = prometheus.NewDesc("baseline_asset_pass_ratio",
		"Compliant assets over all assets of the type, scan-failed ones counted (for Kubernetes, passed items over judged items), 0 to 1.", []string{"asset_type"}, nil)
	descAssets = prometheus.NewDesc("baseline_assets",
		"Assets of the type by their latest results: passed, failed, scan_failed.", []string{"asset_type", "state"}, nil)
	descAssetCount = prometheus.NewDesc("baseline_asset_count", "Assets of the type.", []string{"asset_type"}, nil)
	descItems      = prometheus.NewDesc("baseline_items",
		"Items of the type by their latest results: passed, failed, ignored.", []string{"asset_type", "state"}, nil)
	descFailedItems = prometheus.NewDesc("baseline_failed_items",
		"Items of the type failing on some asset, by risk level.", []string{"asset_type", "risk"}, nil)
	descStandardFailed = prometheus.NewDesc("baseline_standard_failed_items",
		"Items of the standard failing on some asset, by risk level.", []string{"standard", "risk"}, nil)
	descItemFailedAssets = prometheus.NewDesc("baseline_item_failed_assets",
		"Assets failing the item, for the items failing on most assets.", []string{"item_id", "standard", "risk", "asset_type"}, nil)
	descLastCheck = prometheus.NewDesc("baseline_last_check_timestamp_seconds",
		"When the type was last checked (unix time).", []string{"asset_type"}, nil)
	descLastCost = prometheus.NewDesc("baseline_last_check_duration_seconds",
		"How long the type's last check took.", []string{"asset_type"}, nil)
	descTasks = prometheus.NewDesc("baseline_tasks",
		"Tasks kept in the store, by trigger and status.", []string{"trigger", "status"}, nil)
	descOutboxDepth   = prometheus.NewDesc("baseline_outbox_entries", "Completed tasks waiting for upload to the upstream daemon.", nil, nil)
	descOutboxAge     = prometheus.NewDesc("baseline_outbox_oldest_age_seconds", "Age of the oldest task waiting for upload (0 when none waits).", nil, nil)
	descOutboxDropped = prometheus.NewDesc("baseline_outbox_dropped_total",
		"Tasks dropped from the outbox unsent: pushed out of a full outbox, or refused by the upstream.", nil, nil)
)

// Describe sends every metric's description.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPassRatio, descAssets, descAssetCount, descItems, descFailedItems, descStandardFailed,
		descItemFailedAssets, descLastCheck, descLastCost, descTasks, descOutboxDepth, descOutboxAge, descOutboxDropped} {
		ch <- d
	}
}

// Collect reads the store; a part that fails is reported as an invalid
// metric (the scrape answers 500) and the rest is still sent.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	for _, part := range []struct {
		desc *prometheus.Desc
		f    func(context.Context, chan<- prometheus.Metric) error
	}{{descPassRatio, c.summaries}, {descStandardFailed, c.items}, {descTasks, c.tasks}, {descOutboxDepth, c.outbox}} {
		if err := part.f(ctx, ch); err != nil {
			ch <- prometheus.NewInvalidMetric(part.desc, err)
		}
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// summaries sends the per-type roll-ups (baseline summary's figures).
func (c *collector) summaries(ctx context.Context, ch chan<- prometheus.Metric) error {
	sums, err := c.st.Summary(ctx, nil)
	if err != nil {
		return err
	}
	for _, s := range sums {
		t := string(s.AssetType)
		gauge(ch, descPassRatio, s.AssetPassedRate/100, t)
		gauge(ch, descAssetCount, float64(s.AssetCount), t)
		gauge(ch, descAssets, float64(s.PassedAssetCount), t, "passed")
		gauge(ch, descAssets, float64(s.FailedAssetCount), t, "failed")
		gauge(ch, descAssets, float64(s.ScanFailedAssetCount), t, "scan_failed")
		gauge(ch, descItems, float64(s.PassedPolicyItemCount), t, "passed")
		gauge(ch, descItems, float64(s.FailedPolicyItemCount), t, "failed")
		gauge(ch, descItems, float64(s.IgnoredPolicyItemCount), t, "ignored")
		for risk, n := range map[checks.Risk]int{checks.RiskCritical: s.FailedCriticalPolicyItemCount, checks.RiskHigh: s.FailedHighRiskPolicyItemCount,
			checks.RiskMedium: s.FailedMediumRiskPolicyItemCount, checks.RiskLow: s.FailedLowRiskPolicyItemCount, checks.RiskNotice: s.NoticePolicyItemCount} {
			gauge(ch, descFailedItems, float64(n), t, string(risk))
		}
		gauge(ch, descLastCost, s.CheckCostTime, t)
		if last, err := time.Parse(time.DateTime, s.LastCheckTime); err == nil {
			gauge(ch, descLastCheck, float64(last.Unix()), t)
		}
	}
	return nil
}

// items sends the failed items per standard and risk level, and the
// failed asset counts of the top items, from every item's roll-up.
func (c *collector) items(ctx context.Context, ch chan<- prometheus.Metric) error {
	type key struct {
		std  string
		risk checks.Risk
	}
	failed := map[key]int{}
	var failing []store.ItemSummary
	for off := 0; ; off += store.MaxLimit {
		page, total, err := c.st.Items(ctx, store.Query{Offset: off, Limit: store.MaxLimit})
		if err != nil {
			return err
		}
		for _, it := range page {
			k := key{it.StandardID, it.Risk}
			failed[k] += 0
			if it.FailedAssetCount > 0 {
				failed[k]++
				failing = append(failing, it)
			}
		}
		if len(page) == 0 || off+len(page) >= total {
			break
		}
	}
	for k, n := range failed {
		gauge(ch, descStandardFailed, float64(n), k.std, string(k.risk))
	}
	slices.SortFunc(failing, func(a, b store.ItemSummary) int {
		return cmp.Or(cmp.Compare(b.FailedAssetCount, a.FailedAssetCount), cmp.Compare(a.ID, b.ID))
	})
	for _, it := range failing[:min(c.top, len(failing))] {
		gauge(ch, descItemFailedAssets, float64(it.FailedAssetCount), strconv.FormatUint(it.ID, 10), it.StandardID, string(it.Risk), string(it.AssetType))
	}
	return nil
}

// taskStatuses are the statuses a task is recorded with.
var taskStatuses = []checks.CheckStatus{checks.CheckRunning, checks.CheckFinished, checks.CheckFailed}

// tasks counts the tasks kept, by trigger and status.
func (c *collector) tasks(ctx context.Context, ch chan<- prometheus.Metric) error {
	for _, tr := range store.Triggers {
		for _, st := range taskStatuses {
			_, n, err := c.st.Tasks(ctx, store.Query{Limit: 1, Filters: []store.Filter{
				{Name: "Trigger", Values: []string{string(tr)}, ExactMatch: true},
				{Name: "CheckStatus", Values: []string{string(st)}, ExactMatch: true}}})
			if err != nil {
				return err
			}
			gauge(ch, descTasks, float64(n), string(tr), string(st))
		}
	}
	return nil
}

// outbox sends the outbox's depth, its oldest entry's age and the count
// of entries dropped, on a store that keeps an outbox.
func (c *collector) outbox(ctx context.Context, ch chan<- prometheus.Metric) error {
	ob, ok := c.st.(store.OutboxStore)
	if !ok {
		return nil
	}
	s, err := ob.OutboxStats(ctx)
	if err != nil {
		return err
	}
	age := 0.0
	if !s.Oldest.IsZero() {
		age = max(time.Since(s.Oldest).Seconds(), 0)
	}
	gauge(ch, descOutboxDepth, float64(s.Depth))
	gauge(ch, descOutboxAge, age)
	ch <- prometheus.MustNewConstMetric(descOutboxDropped, prometheus.CounterValue, float64(s.Dropped))
	return nil
}
