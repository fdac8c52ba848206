package apitest

// BenchmarkAPIFleet drives a real `baseline serve` over a fleet-size store
// (internal/fleet, the data set of the store's Fleet benchmarks: one host and 9,999
// containers on 100 nodes, 150 container items, 1,499,850 results in one
// task) from 8 concurrent signed clients on loopback (the latency
// percentiles beside the target, the daemon's CPU time per call and the
// clients' own, which share the machine's cores), and measures the
// daemon's idle footprint. Each client decodes into the action's response
// type, as the project's API client does. The fleet is built only when the
// benchmark runs; 1,000 calls make the 99th percentile the tenth slowest,
// not the second as 200 did, whose figure moved by 10 ms between runs:
//
//	go test ./server/apitest/ -run '^$' -bench APIFleet -benchtime 1000x -timeout 30m
//
// The fleet standard is written to a directory that the daemon loads with
// --benchmarks; the built-in standards are switched off in the store, so
// that the daemon answers over exactly the 150 fleet items.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	apiclient "github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/fleet"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

const benchClients = 8

// The targets for the API under load: the p99 of the summary and
// of a 100-row page, with benchClients concurrent signed clients.
const (
	targetP99MS = 25
	pageRows    = 100
)

func BenchmarkAPIFleet(b *testing.B) {
	root := b.TempDir()
	benchDir, dataDir := filepath.Join(root, "benchmarks"), filepath.Join(root, "data")
	start := time.Now()
	if err := buildFleetStore(benchDir, dataDir); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "fleet store built and ingested in %s (%.1f MB)\n",
		time.Since(start).Round(time.Millisecond), fileMB(filepath.Join(dataDir, sqlite.FileName)))
	d := startBenchDaemon(b, testbin.Path(b), dataDir, benchDir)

	clients := make([]*apiclient.Client, benchClients)
	for i := range clients {
		c, err := apiclient.New("http://"+d.addr, fullID, fullKey)
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}

	// The idle figures are measured once per sub-benchmark name (the
	// framework calls each sub-benchmark twice: b.N = 1, then b.N = n).
	idle := map[string]idleStats{}
	idleBench := func(name string, peak bool) {
		b.Run(name, func(b *testing.B) {
			s, ok := idle[name]
			if !ok {
				s = d.measureIdle(b)
				idle[name] = s
			}
			b.ReportMetric(s.rssMB, "idle-rss-MB")
			b.ReportMetric(s.cpuMS, "idle-cpu-ms-per-10s")
			if peak {
				b.ReportMetric(s.hwmMB, "peak-rss-MB")
			}
		})
	}

	idleBench("IdleAfterStart", false)
	// Each client calls as the project's own client does: the action's
	// request type in, the action's response type (package api) out.
	b.Run("Summary", func(b *testing.B) {
		drive(b, d, clients, func(ctx context.Context, c *apiclient.Client) (string, error) {
			var out api.DescribeComplianceTaskAssetSummaryResponse
			err := c.Call(ctx, api.DescribeComplianceTaskAssetSummary,
				api.DescribeComplianceTaskAssetSummaryRequest{AssetTypeSet: []string{"ASSET_CONTAINER", "ASSET_HOST"}}, &out)
			if err == nil && len(out.AssetSummaryList) == 0 {
				err = fmt.Errorf("empty summary")
			}
			return fmt.Sprintf("%d asset types, %d containers", len(out.AssetSummaryList), containerCount(out)), err
		})
	})
	b.Run("AssetsPage", func(b *testing.B) {
		drive(b, d, clients, pageCall(api.DescribeComplianceAssetList,
			api.DescribeComplianceAssetListRequest{Page: api.Page{Offset: 5000, Limit: pageRows}},
			func(r *api.DescribeComplianceAssetListResponse) (int, int) { return len(r.AssetInfoList), r.TotalCount }))
	})
	b.Run("ItemsPage", func(b *testing.B) {
		drive(b, d, clients, pageCall(api.DescribeComplianceTaskPolicyItemSummaryList,
			api.DescribeComplianceTaskPolicyItemSummaryListRequest{Page: api.Page{Offset: 0, Limit: pageRows}},
			func(r *api.DescribeComplianceTaskPolicyItemSummaryListResponse) (int, int) {
				return len(r.PolicyItemSummaryList), r.TotalCount
			}))
	})
	b.Run("AffectedAssetsPage", func(b *testing.B) {
		drive(b, d, clients, pageCall(api.DescribeCompliancePolicyItemAffectedAssetList,
			api.DescribeCompliancePolicyItemAffectedAssetListRequest{CustomerPolicyItemId: fleet.FirstItemID, Page: api.Page{Offset: 100, Limit: pageRows,
				Filters: []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}}}},
			func(r *api.DescribeCompliancePolicyItemAffectedAssetListResponse) (int, int) {
				return len(r.AffectedAssetList), r.TotalCount
			}))
	})
	b.Run("MetricsScrape", func(b *testing.B) {
		for b.Loop() {
			code, got := scrape(b, d.addr, fullID, fullKey)
			if code != http.StatusOK || got["baseline_asset_count,asset_type=ASSET_CONTAINER"] != float64(fleet.Default.Containers) {
				b.Fatalf("/metrics: %d, %v containers", code, got["baseline_asset_count,asset_type=ASSET_CONTAINER"])
			}
		}
	})
	idleBench("IdleAfterLoad", true)
}

// pageCall calls a list action with its request and decodes its response
// type R, requiring a non-empty page (rows gives the page's length and the
// total).
func pageCall[R any](action string, req any, rows func(*R) (n, total int)) func(context.Context, *apiclient.Client) (string, error) {
	return func(ctx context.Context, c *apiclient.Client) (string, error) {
		var out R
		if err := c.Call(ctx, action, req, &out); err != nil {
			return "", err
		}
		n, total := rows(&out)
		if n == 0 {
			return "", fmt.Errorf("%s: an empty page (TotalCount %d)", action, total)
		}
		return fmt.Sprintf("%d rows of %d", n, total), nil
	}
}

// containerCount is the summary's count of containers.
func containerCount(r api.DescribeComplianceTaskAssetSummaryResponse) int {
	for _, s := range r.AssetSummaryList {
		if s.AssetType == "ASSET_CONTAINER" {
			return s.AssetCount
		}
	}
	return 0
}

// drive makes b.N calls from a fixed pool of goroutines, one client each,
// and reports the latency percentiles, the throughput and the daemon's CPU
// time per call (which, unlike the latencies, does not grow when other
// processes share the machine's cores).
func drive(b *testing.B, d *benchDaemon, clients []*apiclient.Client, call func(context.Context, *apiclient.Client) (string, error)) {
	ctx := context.Background()
	if b.N == 1 { // the framework's first, single call: log what comes back
		if what, err := call(ctx, clients[0]); err != nil {
			b.Fatal(err)
		} else {
			b.Log(what)
		}
	}
	var next atomic.Int64
	lat := make([][]time.Duration, len(clients))
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0, self0 := procCPUTicks(b, d.cmd.Process.Pid), procCPUTicks(b, os.Getpid())
	start := time.Now()
	for g, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := call(ctx, c); err != nil {
					errs[g] = err
					return
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	cpuMS := float64(procCPUTicks(b, d.cmd.Process.Pid)-cpu0) * 1000 / clockTicks() / float64(b.N)
	clientMS := float64(procCPUTicks(b, os.Getpid())-self0) * 1000 / clockTicks() / float64(b.N)
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		i := int(float64(len(all))*p+0.5) - 1
		return float64(all[max(0, min(i, len(all)-1))].Nanoseconds()) / 1e6
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(targetP99MS, "target-p99-ms")
	b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
	b.ReportMetric(cpuMS, "daemon-cpu-ms/op")
	b.ReportMetric(clientMS, "client-cpu-ms/op")
	if b.N == 1 {
		return
	}
	b.Logf("%d clients, %d calls: p50 %.1f ms, p99 %.1f ms (target ≤ %d ms), %.0f req/s, daemon CPU %.2f ms a call, clients' CPU %.2f ms a call",
		len(clients), b.N, pct(0.50), pct(0.99), targetP99MS, float64(b.N)/wall.Seconds(), cpuMS, clientMS)
}

// --- the daemon ----------------------------------------------------------------

type benchDaemon struct {
	addr   string
	cmd    *exec.Cmd
	stderr *testhost.Buffer
	exited chan struct{}
	err    error
}

type idleStats struct{ rssMB, cpuMS, hwmMB float64 }

// startBenchDaemon starts `baseline serve` with one key and a rate limit
// the benchmark never reaches; it is stopped with SIGTERM at cleanup.
func startBenchDaemon(b *testing.B, bin, data, benchDir string) *benchDaemon {
	return startBenchDaemonWith(b, bin, fmt.Sprintf(`    - secret_id: %s
      secret_key: %s
`, fullID, fullKey), "--data-dir", data, "--benchmarks", benchDir)
}

// startBenchDaemonWith starts `baseline serve` with the keys given (YAML
// list entries under api.keys) and the further arguments.
func startBenchDaemonWith(b *testing.B, bin, keys string, args ...string) *benchDaemon {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(`log_level: warn
log_format: text
api:
  rate_per_second: 100000
  burst: 100000
  keys:
`+keys), 0o600); err != nil {
		b.Fatal(err)
	}
	argv := append([]string{"serve", "--config", cfg, "--listen", addr}, args...)
	// BASELINE_BENCH_DAEMON_PROFILE names a CPU profile of the daemon to
	// write, for performance work (read with `go tool pprof`).
	if prof := os.Getenv("BASELINE_BENCH_DAEMON_PROFILE"); prof != "" {
		argv = append([]string{"--cpu-profile", prof}, argv...)
	}
	d := &benchDaemon{addr: addr, stderr: &testhost.Buffer{}, exited: make(chan struct{}),
		cmd: exec.Command(bin, argv...)}
	d.cmd.Env = testbin.CleanEnv()
	d.cmd.Stdout, d.cmd.Stderr = d.stderr, d.stderr
	if err := d.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	b.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
			if d.err != nil {
				b.Errorf("baseline serve after SIGTERM: %v\n%s", d.err, d.stderr)
			}
		case <-time.After(20 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
			b.Errorf("baseline serve did not stop within 20s of SIGTERM\n%s", d.stderr)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		if conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			conn.Close()
			return d
		}
		select {
		case <-d.exited:
			b.Fatalf("baseline serve exited before listening: %v\n%s", d.err, d.stderr)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("baseline serve did not listen on %s within 30s\n%s", addr, d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// measureIdle waits 5 s without requests, reads the RSS, then the CPU
// time spent over a further 10 s, and the peak RSS.
func (d *benchDaemon) measureIdle(b *testing.B) idleStats {
	pid := d.cmd.Process.Pid
	time.Sleep(5 * time.Second)
	rss := procStatusKB(b, pid, "VmRSS")
	cpu0 := procCPUTicks(b, pid)
	time.Sleep(10 * time.Second)
	cpu1 := procCPUTicks(b, pid)
	return idleStats{rssMB: rss / 1024, cpuMS: float64(cpu1-cpu0) * 1000 / clockTicks(), hwmMB: procStatusKB(b, pid, "VmHWM") / 1024}
}

func procStatusKB(b *testing.B, pid int, field string) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatalf("%s: %q: %v", field, line, err)
			}
			return kb
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// procCPUTicks is utime+stime of /proc/PID/stat, in clock ticks.
func procCPUTicks(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command's closing parenthesis start at field 3.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	return utime + stime
}

func clockTicks() float64 {
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if n, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}

func fileMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

// --- the fleet store -------------------------------------------------------------

// buildFleetStore writes the fleet standard under benchDir and fills a
// store in dataDir with the catalog (built-in standards switched off) and
// one task of the whole fleet.
func buildFleetStore(benchDir, dataDir string) error {
	if err := writeFleetStandard(filepath.Join(benchDir, "fleet")); err != nil {
		return err
	}
	cat, err := checks.Load(checks.Tree{FS: benchmarks.FS(), Origin: benchmarks.Origin}, checks.Tree{FS: os.DirFS(benchDir), Origin: benchDir})
	if err != nil {
		return err
	}
	std, ok := cat.Standard("fleet-bench-1.0")
	if !ok || len(std.Items) != fleet.Items {
		return fmt.Errorf("fleet standard not loaded")
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dataDir, sqlite.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SyncCatalog(ctx, cat); err != nil {
		return err
	}
	for _, st := range cat.Standards {
		if st.Origin == benchmarks.Origin {
			if err := db.SetStandardEnabled(ctx, st.ID, false); err != nil {
				return err
			}
		}
	}
	task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		return err
	}
	rep, err := fleetReport(std)
	if err != nil {
		return err
	}
	if err := db.CompleteTask(ctx, task.ID, rep); err != nil {
		return err
	}
	return db.Close()
}

// writeFleetStandard writes the fleet's standard (internal/fleet) to dir.
func writeFleetStandard(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, f := range fleet.FS() {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fleetReport is the fleet's task (internal/fleet) judged by std, the
// fleet standard as the daemon loaded it.
func fleetReport(std *checks.Standard) (*results.Report, error) {
	d, err := fleet.Build()
	if err != nil {
		return nil, err
	}
	d.Report.Standards, d.Report.Items = []*checks.Standard{std}, std.Items
	return d.Report, nil
}
