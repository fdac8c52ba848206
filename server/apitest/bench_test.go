package apitest

// BenchmarkAPIFleet drives a real `baseline serve` over a fleet-size store
// (the data set of store/sqlite's Fleet benchmarks: one host and 9,999
// containers on 100 nodes, 150 container items, 1,499,850 results in one
// task) from 8 concurrent signed clients on loopback, and measures the
// daemon's idle footprint. The fleet is built only when the benchmark runs:
//
//	go test ./server/apitest/ -run '^$' -bench APIFleet -benchtime 200x -timeout 30m
//
// The fleet standard is written to a directory that the daemon loads with
// --benchmarks; the built-in standards are switched off in the store, so
// that the daemon answers over exactly the 150 fleet items.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
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

	apiclient "github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

const (
	fleetContainers = 9999
	fleetNodes      = 100
	fleetDead       = 100 // assets that could not be read: every check failed
	fleetPartial    = 200 // assets on which two checks could not be carried out
	fleetFirstItem  = 900001
	benchClients    = 8
)

// fleetRisks: 150 items, high the largest group so that a RISK_HIGH page
// at offset 50 is not empty.
var fleetRisks = []struct {
	risk string
	n    int
}{{"critical", 15}, {"high", 75}, {"medium", 35}, {"low", 15}, {"notice", 10}}

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
	b.Run("Summary", func(b *testing.B) {
		drive(b, clients, func(ctx context.Context, c *apiclient.Client) (string, error) {
			var out struct {
				AssetSummaryList []struct {
					AssetType            string
					AssetCount           int
					FailedAssetCount     int
					DetectHostCount      int
					TotalPolicyItemCount int
				}
			}
			err := c.Call(ctx, "DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER", "ASSET_HOST"}}, &out)
			if err == nil && len(out.AssetSummaryList) == 0 {
				err = fmt.Errorf("empty summary")
			}
			return fmt.Sprintf("%+v", out.AssetSummaryList), err
		})
	})
	b.Run("AssetsPage", func(b *testing.B) {
		drive(b, clients, pageCall("DescribeComplianceAssetList", "AssetInfoList",
			map[string]any{"Offset": 5000, "Limit": 100}))
	})
	b.Run("ItemsPage", func(b *testing.B) {
		drive(b, clients, pageCall("DescribeComplianceTaskPolicyItemSummaryList", "PolicyItemSummaryList",
			map[string]any{"Offset": 50, "Limit": 20, "Filters": []store.Filter{{Name: "RiskLevel", Values: []string{"RISK_HIGH"}, ExactMatch: true}}}))
	})
	b.Run("AffectedAssetsPage", func(b *testing.B) {
		drive(b, clients, pageCall("DescribeCompliancePolicyItemAffectedAssetList", "AffectedAssetList",
			map[string]any{"CustomerPolicyItemId": fleetFirstItem, "Offset": 100, "Limit": 50,
				"Filters": []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}}}))
	})
	b.Run("MetricsScrape", func(b *testing.B) {
		for b.Loop() {
			code, got := scrape(b, d.addr, fullID, fullKey)
			if code != http.StatusOK || got["baseline_asset_count,asset_type=ASSET_CONTAINER"] != fleetContainers {
				b.Fatalf("/metrics: %d, %v containers", code, got["baseline_asset_count,asset_type=ASSET_CONTAINER"])
			}
		}
	})
	idleBench("IdleAfterLoad", true)
}

// pageCall calls a list action and requires a non-empty page in list.
func pageCall(action, list string, params map[string]any) func(context.Context, *apiclient.Client) (string, error) {
	return func(ctx context.Context, c *apiclient.Client) (string, error) {
		var out map[string]any
		if err := c.Call(ctx, action, params, &out); err != nil {
			return "", err
		}
		rows, _ := out[list].([]any)
		if len(rows) == 0 {
			return "", fmt.Errorf("%s: empty %s (TotalCount %v)", action, list, out["TotalCount"])
		}
		return fmt.Sprintf("%d rows of %v", len(rows), out["TotalCount"]), nil
	}
}

// drive makes b.N calls from a fixed pool of goroutines, one client each,
// and reports the latency percentiles and the throughput.
func drive(b *testing.B, clients []*apiclient.Client, call func(context.Context, *apiclient.Client) (string, error)) {
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
	b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
}

// --- the daemon ----------------------------------------------------------------

type benchDaemon struct {
	addr   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
	err    error
}

type idleStats struct{ rssMB, cpuMS, hwmMB float64 }

// startBenchDaemon starts `baseline serve` with one key and a rate limit
// the benchmark never reaches; it is stopped with SIGTERM at cleanup.
func startBenchDaemon(b *testing.B, bin, data, benchDir string) *benchDaemon {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`log_level: warn
log_format: text
api:
  rate_per_second: 100000
  burst: 100000
  keys:
    - secret_id: %s
      secret_key: %s
`, fullID, fullKey)), 0o600); err != nil {
		b.Fatal(err)
	}
	d := &benchDaemon{addr: addr, stderr: &syncBuffer{}, exited: make(chan struct{}),
		cmd: exec.Command(bin, "serve", "--config", cfg, "--listen", addr, "--data-dir", data, "--benchmarks", benchDir)}
	d.cmd.Env = cleanEnv()
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
	fleet, ok := cat.Standard("fleet-bench-1.0")
	if !ok || len(fleet.Items) != 150 {
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
	if err := db.CompleteTask(ctx, task.ID, fleetReport(fleet)); err != nil {
		return err
	}
	return db.Close()
}

func writeFleetStandard(dir string) error {
	var items strings.Builder
	items.WriteString("category: Container Runtime\nasset_type: container\nitems:\n")
	categories := []string{"Container Runtime", "Container Images and Build File", "Container Networking", "Container Resources"}
	n := 0
	for _, r := range fleetRisks {
		for range r.n {
			fmt.Fprintf(&items, `  - id: %d
    number: "F.%d"
    title: Ensure fleet setting %d is configured on every container
    category: %s
    level: %d
    risk: %s
    assessment: automated
    description: Fleet benchmark item %d; a container without Config.Fleet%d runs with the weaker engine default.
    audit_procedure: docker inspect --format '{{.Config.Fleet%d}}' $(docker ps -aq)
    remediation: Set Fleet%d in the container's configuration and recreate the container.
    source: {kind: container}
    tests:
      test_items:
        - path: "{.Config.Fleet%d}"
          set: true
`, fleetFirstItem+n, n+1, n+1, categories[n%len(categories)], 1+n%2, r.risk, n+1, n+1, n+1, n+1, n+1)
			n++
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	std := "standard:\n  id: fleet-bench-1.0\n  name: Fleet benchmark\n  version: \"1.0\"\n" +
		"  description: A synthetic standard of 150 container items for API benchmarks.\n  asset_types: [container]\n"
	if err := os.WriteFile(filepath.Join(dir, "standard.yaml"), []byte(std), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "items.yaml"), []byte(items.String()), 0o644)
}

// fleetReport is one task over the host and the containers: 70 : 20 : 5 : 4
// passed, failed, manual and not applicable, and some unreadable assets.
func fleetReport(std *checks.Standard) *results.Report {
	now := time.Now().UTC().Truncate(time.Second)
	items := std.Items
	rep := &results.Report{StartedAt: now.Add(-10 * time.Minute), FinishedAt: now, Standards: []*checks.Standard{std}, Items: items}
	host := "machine-node-000"
	rep.Assets = append(rep.Assets, assets.Asset{ID: assets.StableID(assets.Host, host), Type: assets.Host, Name: "node-000", Ref: host, NodeName: "node-000",
		Host: &assets.HostDetails{HostName: "node-000", HostIP: "10.0.0.10", InstanceID: host, DockerVersion: "28.5.2"}})
	services := []string{"api", "web", "worker", "cache", "db", "queue", "auth", "search", "billing", "mailer"}
	for i := range fleetContainers {
		sum := sha256.Sum256([]byte(fmt.Sprintf("container-%d", i)))
		cid, node, svc := hex.EncodeToString(sum[:]), fmt.Sprintf("node-%03d", i%fleetNodes), services[i%len(services)]
		name := fmt.Sprintf("%s-%d-%s", svc, i/len(services), cid[:5])
		state := assets.StateNormal
		if i%10 == 9 {
			state = assets.StateStopped
		}
		rep.Assets = append(rep.Assets, assets.Asset{ID: assets.StableID(assets.Container, "machine-"+node, cid), Type: assets.Container,
			Name: name, Ref: cid, NodeName: node, Container: &assets.ContainerDetails{ContainerID: cid, Name: name, State: state,
				ImageName: "registry.example.com/" + svc + ":1." + fmt.Sprint(i%7), CreateTime: now.Add(-time.Duration(i) * time.Minute)}})
	}
	// Evidence is shared per item and outcome.
	type itemEv struct{ pass, fail []checks.Evidence }
	evs := make([]itemEv, len(items))
	for j, it := range items {
		subj := it.Tests.Items[0].Subject()
		evs[j] = itemEv{pass: []checks.Evidence{{Source: "container", Subject: subj, Actual: "true", Expected: "set", Passed: true}},
			fail: []checks.Evidence{{Source: "container", Subject: subj, Actual: "<not set>", Expected: "set"}}}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const deadReason = "inspect container: Error response from daemon: No such container"
	const partialReason = `path {.Config.Fleet}: cannot compare "n/a" with gt: not a number`
	rep.Results = make([]results.Result, 0, fleetContainers*len(items))
	for i, a := range rep.Assets[1:] {
		at := rep.StartedAt.Add(time.Duration(i) * 50 * time.Millisecond)
		dead, partial := i < fleetDead, i >= fleetDead && i < fleetDead+fleetPartial
		switch {
		case dead:
			rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: a.ID, Reason: deadReason + ": " + a.Ref, Suggestion: "rescan it", CheckTime: at})
		case partial:
			rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: a.ID, Reason: "2 checks could not be carried out; the first: " + partialReason,
				Suggestion: "fix the cause and rescan the asset", CheckTime: at})
		}
		for j, it := range items {
			r := results.Result{ItemID: it.ID, AssetID: a.ID, CheckedAt: at}
			switch p := rng.IntN(99); {
			case dead:
				r.Verdict = checks.Failed(deadReason + ": " + a.Ref)
			case partial && j < 2:
				r.Verdict = checks.Failed(partialReason)
			case p < 70:
				r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed, Evidence: evs[j].pass}
			case p < 90:
				r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultFailed, Evidence: evs[j].fail}
			case p < 95:
				r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultManual, Evidence: evs[j].pass}
			default:
				r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable, Reason: "only running containers are checked"}
			}
			rep.Results = append(rep.Results, r)
		}
	}
	return rep
}
