package apitest

// BenchmarkFleetSimulation simulates a fleet of node daemons uploading to
// one central `baseline serve`, on SQLite and on PostgreSQL in the same
// run. Each simulated node is a goroutine that builds its scan (a host
// with 20 containers and 10 images, 1,500 results: internal/fleet
// DefaultNode) and sends it as a real node's daemon does: a signed
// UploadComplianceScanResult through the API client, with its own key
// (bound to its node by `nodes` in api.keys), its node name and its
// idempotency key. Then the store holds every node's latest results, and
// the summary, an item page and an affected-asset page are timed over it,
// and the database's size is measured:
//
//	go test ./server/apitest/ -run '^$' -bench FleetSimulation -benchtime 1x -timeout 60m
//
// The environment sets the size: BASELINE_BENCH_NODES (default 1000) nodes
// upload with BASELINE_BENCH_INFLIGHT (default 32) uploads in flight, and
// the throughput and latency are those of these uploads; then further
// nodes upload until BASELINE_BENCH_SIZE_NODES (default the same) nodes
// are stored, for the query and size figures. Each backend's figures are
// printed as a line and reported as metrics.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/api"
	apiclient "github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/api/upstream"
	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/fleet"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// fleetSim is the simulation's size, from the environment.
type fleetSim struct {
	nodes, sizeNodes, inflight int
	cat                        *checks.Catalog
	benchDir                   string
	at                         time.Time
	// retries counts the uploads sent again after a failure.
	retries atomic.Int64
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func BenchmarkFleetSimulation(b *testing.B) {
	sim := &fleetSim{nodes: envInt(b, "BASELINE_BENCH_NODES", 1000), inflight: envInt(b, "BASELINE_BENCH_INFLIGHT", 32),
		benchDir: filepath.Join(b.TempDir(), "benchmarks"), at: time.Now().UTC().Truncate(time.Second)}
	sim.sizeNodes = max(sim.nodes, envInt(b, "BASELINE_BENCH_SIZE_NODES", sim.nodes))
	if err := writeFleetStandard(filepath.Join(sim.benchDir, "fleet")); err != nil {
		b.Fatal(err)
	}
	var err error
	if sim.cat, err = checks.Load(checks.Tree{FS: benchmarks.FS(), Origin: benchmarks.Origin},
		checks.Tree{FS: os.DirFS(sim.benchDir), Origin: sim.benchDir}); err != nil {
		b.Fatal(err)
	}
	bin := testbin.Path(b)
	b.Run("SQLite", func(b *testing.B) {
		data := b.TempDir()
		d := startBenchDaemonWith(b, bin, sim.keys(), "--data-dir", data, "--benchmarks", sim.benchDir)
		sim.run(b, "SQLite", d, func() int64 {
			var n int64
			for _, f := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
				if fi, err := os.Stat(filepath.Join(data, f)); err == nil {
					n += fi.Size()
				}
			}
			return n
		})
	})
	b.Run("PostgreSQL", func(b *testing.B) {
		dsn := pgtest.DSN(b)
		d := startBenchDaemonWith(b, bin, sim.keys(), "--store", dsn, "--data-dir", b.TempDir(), "--benchmarks", sim.benchDir)
		sim.run(b, "PostgreSQL", d, func() int64 { return pgDatabaseSize(b, dsn) })
	})
}

// run uploads the fleet to the daemon d, then times the queries and
// measures the store's size.
func (sim *fleetSim) run(b *testing.B, backend string, d *benchDaemon, size func() int64) {
	sim.retries.Store(0)
	up := sim.upload(b, d, 0, sim.nodes)
	uploads := float64(up.count) / up.wall.Seconds()
	b.ReportMetric(uploads, "uploads/s")
	b.ReportMetric(float64(up.results)/up.wall.Seconds(), "results/s")
	b.ReportMetric(up.pct(0.50), "upload-p50-ms")
	b.ReportMetric(up.pct(0.99), "upload-p99-ms")
	first, last := up.quarterRates()
	b.ReportMetric(float64(sim.retries.Load()), "retried-uploads")
	b.ReportMetric(first, "uploads/s-first-quarter")
	b.ReportMetric(last, "uploads/s-last-quarter")
	fmt.Fprintf(os.Stderr, "%s: %d nodes uploaded %d results in %s, %d in flight: %.1f uploads/s (first quarter %.1f, last %.1f), upload p50 %.0f ms, p99 %.0f ms, %d retried\n",
		backend, up.count, up.results, up.wall.Round(time.Millisecond), sim.inflight, uploads, first, last, up.pct(0.50), up.pct(0.99), sim.retries.Load())
	if up.gaveUp != nil {
		b.ReportMetric(float64(up.count), "nodes-before-giving-up")
		fmt.Fprintf(os.Stderr, "%s: stopped keeping up after %d acknowledged uploads (%d in flight): %v\n", backend, up.count, sim.inflight, up.gaveUp)
	}
	if sim.sizeNodes > sim.nodes && up.gaveUp == nil {
		more := sim.upload(b, d, sim.nodes, sim.sizeNodes)
		fmt.Fprintf(os.Stderr, "%s: %d more nodes uploaded %d results in %s (%.1f uploads/s)\n",
			backend, more.count, more.results, more.wall.Round(time.Millisecond), float64(more.count)/more.wall.Seconds())
	}

	c, err := apiclient.New("http://"+d.addr, roID, roKey)
	if err != nil {
		b.Fatal(err)
	}
	stored, nodes := storedResults(b, c)
	for _, q := range fleetQueries() {
		p50, p99 := timeQuery(b, c, q.call)
		b.ReportMetric(p50, q.name+"-p50-ms")
		b.ReportMetric(p99, q.name+"-p99-ms")
		fmt.Fprintf(os.Stderr, "%s: %s over %d latest results of %d nodes: p50 %.1f ms, p99 %.1f ms (target %s)\n",
			backend, q.name, stored, nodes, p50, p99, q.target)
	}
	bytes := size()
	perMillion := float64(bytes) / (1 << 20) / (float64(stored) / 1e6)
	b.ReportMetric(float64(stored), "stored-results")
	b.ReportMetric(float64(bytes)/(1<<20), "db-MB")
	b.ReportMetric(perMillion, "MB-per-M-results")
	fmt.Fprintf(os.Stderr, "%s: database %.0f MB for %d results: %.0f MB per million results\n",
		backend, float64(bytes)/(1<<20), stored, perMillion)
}

// keys is the daemon's api.keys: a key per node, which may upload that
// node's scans only, and a read-only key for the queries.
func (sim *fleetSim) keys() string {
	var s strings.Builder
	fmt.Fprintf(&s, "    - secret_id: %s\n      secret_key: %s\n      read_only: true\n", roID, roKey)
	for i := range sim.sizeNodes {
		id, key := nodeKey(i)
		fmt.Fprintf(&s, "    - secret_id: %s\n      secret_key: %s\n      nodes: [%s]\n", id, key, nodeName(i))
	}
	return s.String()
}

func nodeName(i int) string { return fmt.Sprintf("fleet-node-%04d", i) }

func nodeKey(i int) (id, key string) {
	return fmt.Sprintf("AKIDfleetNode%04d", i), fmt.Sprintf("fleet-node-secret-%04d-0123456789abcdef", i)
}

// uploaded is what a batch of uploads took.
type uploaded struct {
	count, results int
	wall           time.Duration
	lat            []time.Duration // sorted
	done           []time.Duration // when each upload ended, since the start, in order
	// gaveUp is the failure of an upload that the daemon did not take in
	// fleetAttempts attempts: the uploads stopped there.
	gaveUp error
}

// errGaveUp marks an upload given up after fleetAttempts attempts.
var errGaveUp = errors.New("the central daemon did not take the upload")

func (u uploaded) pct(p float64) float64 { return pctMS(u.lat, p) }

// quarterRates are the uploads per second of the first and of the last
// quarter of the uploads: how the rate changes as the store fills.
func (u uploaded) quarterRates() (first, last float64) {
	q := len(u.done) / 4
	if q == 0 {
		return 0, 0
	}
	n := len(u.done)
	return float64(q) / u.done[q-1].Seconds(), float64(q) / (u.done[n-1] - u.done[n-1-q]).Seconds()
}

// pctMS is the p-th percentile of sorted latencies, in milliseconds.
func pctMS(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	i := int(float64(len(lat))*p+0.5) - 1
	return float64(lat[max(0, min(i, len(lat)-1))].Nanoseconds()) / 1e6
}

// upload has nodes [from, to) upload their scans, sim.inflight at a time.
func (sim *fleetSim) upload(b *testing.B, d *benchDaemon, from, to int) uploaded {
	var (
		next    atomic.Int64
		mu      sync.Mutex
		out     uploaded
		wg      sync.WaitGroup
		failure error
	)
	next.Store(int64(from))
	start := time.Now()
	for range sim.inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < to; i = int(next.Add(1) - 1) {
				took, n, err := sim.uploadNode(d, i)
				mu.Lock()
				switch {
				case err != nil && failure == nil:
					failure = err
					next.Store(int64(to)) // stop the others
				case err == nil:
					out.count, out.results, out.lat = out.count+1, out.results+n, append(out.lat, took)
					out.done = append(out.done, time.Since(start))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	out.wall = time.Since(start)
	switch {
	case errors.Is(failure, errGaveUp):
		out.gaveUp = failure
	case failure != nil:
		log := d.stderr.String()
		b.Fatalf("%v\n%s", failure, log[max(0, len(log)-4096):])
	}
	slices.Sort(out.lat)
	return out
}

// uploadNode builds node i's scan and uploads it as its daemon would,
// returning how long the upload took and how many results it recorded.
func (sim *fleetSim) uploadNode(d *benchDaemon, i int) (time.Duration, int, error) {
	node, err := fleet.BuildNode(sim.cat, i, fleet.DefaultNode, sim.at)
	if err != nil {
		return 0, 0, err
	}
	id, key := nodeKey(i)
	c, err := apiclient.New("http://"+d.addr, id, key)
	if err != nil {
		return 0, 0, err
	}
	u := api.NewScanUpload(store.Scope{Node: node.Name, Standards: []string{"fleet-bench-1.0"}, Items: node.Items}, node.Report)
	// The node's store id is random on a real node; here it is derived
	// from the node's name, so that runs are alike.
	sum := sha256.Sum256([]byte(node.Name))
	u.IdempotencyKey = upstream.Key(node.Name, hex.EncodeToString(sum[:8]), 1)
	t0 := time.Now()
	for attempt := 1; ; attempt++ {
		var resp api.UploadComplianceScanResultResponse
		err = c.Call(context.Background(), api.UploadAction, u, &resp)
		switch {
		case err != nil && retryableUpload(err) && attempt == fleetAttempts:
			return 0, 0, fmt.Errorf("%w: %s's upload, attempt %d: %w", errGaveUp, node.Name, attempt, err)
		case err != nil && retryableUpload(err):
			// As a node's outbox does: the same upload again, with the
			// same key, after a wait.
			sim.retries.Add(1)
			time.Sleep(time.Duration(attempt) * time.Second)
			continue
		case err != nil:
			return 0, 0, fmt.Errorf("%s's upload, attempt %d: %w", node.Name, attempt, err)
		case resp.ResultCount != len(u.Results) || (resp.AlreadyApplied && attempt == 1):
			return 0, 0, fmt.Errorf("%s's upload: %+v; want %d results recorded once", node.Name, resp, len(u.Results))
		}
		return time.Since(t0), resp.ResultCount, nil
	}
}

// fleetAttempts is how often a node tries an upload that failed on the
// way (a timeout, the daemon overloaded) before the benchmark fails.
const fleetAttempts = 5

// retryableUpload: a failure a node's outbox would retry (the upload
// not refused as such).
func retryableUpload(err error) bool {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Code == api.InternalError || ae.Code == api.RequestLimitExceeded || ae.Code == api.ErrAlreadyScanning
	}
	return true
}

// storedResults waits until the daemon has no upload under way (an upload
// given up by its node may still land), then counts the latest results
// and the nodes the store holds: every stored container has one result per
// item of the node's scope.
func storedResults(b *testing.B, c *apiclient.Client) (results, nodes int) {
	count := func() (int, int) {
		var out struct {
			AssetSummaryList []struct {
				AssetType  string
				AssetCount int
			}
		}
		if err := c.Call(context.Background(), "DescribeComplianceTaskAssetSummary",
			map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER", "ASSET_HOST"}}, &out); err != nil {
			b.Fatal(err)
		}
		var containers, hosts int
		for _, s := range out.AssetSummaryList {
			switch s.AssetType {
			case "ASSET_CONTAINER":
				containers = s.AssetCount
			case "ASSET_HOST":
				hosts = s.AssetCount
			}
		}
		return containers * fleet.DefaultNode.Items, hosts
	}
	results, nodes = count()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		time.Sleep(3 * time.Second)
		r, n := count()
		if r == results {
			break
		}
		results, nodes = r, n
	}
	return results, nodes
}

// fleetQuery is a query of the console's first pages, with its target on
// PostgreSQL.
type fleetQuery struct {
	name, target string
	call         func(context.Context, *apiclient.Client) (string, error)
}

func fleetQueries() []fleetQuery {
	return []fleetQuery{
		{"summary", "20 ms", func(ctx context.Context, c *apiclient.Client) (string, error) {
			var out api.DescribeComplianceTaskAssetSummaryResponse
			err := c.Call(ctx, api.DescribeComplianceTaskAssetSummary,
				api.DescribeComplianceTaskAssetSummaryRequest{AssetTypeSet: []string{"ASSET_CONTAINER", "ASSET_HOST", "ASSET_IMAGE"}}, &out)
			if err == nil && len(out.AssetSummaryList) == 0 {
				err = fmt.Errorf("empty summary")
			}
			return fmt.Sprintf("%d asset types, %d containers", len(out.AssetSummaryList), containerCount(out)), err
		}},
		{"items-page", "50 ms", pageCall(api.DescribeComplianceTaskPolicyItemSummaryList,
			api.DescribeComplianceTaskPolicyItemSummaryListRequest{Page: api.Page{Offset: 20, Limit: 20,
				Filters: []store.Filter{{Name: "RiskLevel", Values: []string{"RISK_HIGH"}, ExactMatch: true}}}},
			func(r *api.DescribeComplianceTaskPolicyItemSummaryListResponse) (int, int) {
				return len(r.PolicyItemSummaryList), r.TotalCount
			})},
		{"affected-assets-page", "50 ms", pageCall(api.DescribeCompliancePolicyItemAffectedAssetList,
			api.DescribeCompliancePolicyItemAffectedAssetListRequest{CustomerPolicyItemId: fleet.FirstItemID, Page: api.Page{Offset: 0, Limit: 50,
				Filters: []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}}}},
			func(r *api.DescribeCompliancePolicyItemAffectedAssetListResponse) (int, int) {
				return len(r.AffectedAssetList), r.TotalCount
			})},
	}
}

// fleetQueryRuns is how often each query is timed, one call at a time.
const fleetQueryRuns = 30

// timeQuery makes a first call (not timed), then fleetQueryRuns timed
// ones, and returns their p50 and p99 in milliseconds.
func timeQuery(b *testing.B, c *apiclient.Client, call func(context.Context, *apiclient.Client) (string, error)) (p50, p99 float64) {
	ctx := context.Background()
	if what, err := call(ctx, c); err != nil {
		b.Fatal(err)
	} else {
		b.Log(what)
	}
	lat := make([]time.Duration, 0, fleetQueryRuns)
	for range fleetQueryRuns {
		t0 := time.Now()
		if _, err := call(ctx, c); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return pctMS(lat, 0.50), pctMS(lat, 0.99)
}

// pgDatabaseSize is pg_database_size of the DSN's database.
func pgDatabaseSize(b *testing.B, dsn string) int64 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var n int64
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}
