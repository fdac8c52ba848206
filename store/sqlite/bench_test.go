package sqlite_test

// Fleet-size benchmarks: 10,000 assets (one host and 9,999 containers on
// about 100 nodes) checked against 150 container items, ingested as one
// task: 1,499,850 results (the host gets none, as in a real scan, since
// every item is a container item).
//
// The data set and the shared fleet database are built lazily, only when a
// Fleet benchmark runs; plain `go test ./...` builds nothing.
//
//	go test ./store/sqlite/ -run '^$' -bench Fleet -benchtime 1x -timeout 30m
//
// Targets (measured, not asserted): ingest under 15 s, summary under
// 50 ms, paged lists under 20 ms.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

const (
	fleetItems      = 150
	fleetContainers = 9999
	fleetNodes      = 100
	// fleetDeadAssets could not be read at all: an AssetFailure and every
	// result CHECK_FAILED. fleetPartialAssets were read but two checks on
	// each could not be carried out: an AssetFailure naming them.
	fleetDeadAssets    = 100
	fleetPartialAssets = 200
	fleetFirstItemID   = 900001
)

// fleetRisks gives 150 items: 15 critical, 75 high, 35 medium, 15 low, 10
// notice. High is the largest group so that a RISK_HIGH page at offset 50
// is not empty.
var fleetRisks = []struct {
	risk string
	n    int
}{{"critical", 15}, {"high", 75}, {"medium", 35}, {"low", 15}, {"notice", 10}}

var fleetCategories = []string{"Container Runtime", "Container Images and Build File", "Container Networking", "Container Resources"}

// fleetData is the in-memory data set, built once per process.
type fleetData struct {
	cat    *checks.Catalog
	report *results.Report
	itemID uint64 // an item for ItemAssets and the whitelist
}

var (
	fleetDataOnce sync.Once
	fleetDataVal  *fleetData
	fleetDataErr  error

	fleetDBOnce sync.Once
	fleetDBDir  string // shared ingested fleet database, removed by TestMain
	fleetDBErr  error
	fleetDBTook time.Duration
)

func TestMain(m *testing.M) {
	code := m.Run()
	// Only set when a Fleet query benchmark built the shared database.
	if fleetDBDir != "" {
		_ = os.RemoveAll(fleetDBDir)
	}
	os.Exit(code)
}

// fleetCatalog loads the 150-item catalog from an in-memory tree.
func fleetCatalog() (*checks.Catalog, error) {
	var items strings.Builder
	items.WriteString("category: Container Runtime\nasset_type: container\nitems:\n")
	n := 0
	for _, r := range fleetRisks {
		for range r.n {
			id := fleetFirstItemID + n
			fmt.Fprintf(&items, `  - id: %d
    number: "F.%d"
    title: Ensure fleet setting %d is configured on every container
    category: %s
    level: %d
    risk: %s
    assessment: automated
    description: >
      Fleet benchmark item %d. The container's inspect document must carry
      the setting Config.Fleet%d; a container without it runs with the
      engine default, which is weaker than the hardened value.
    audit_procedure: |
      docker inspect --format '{{.Config.Fleet%d}}' $(docker ps -aq)
    remediation: |
      Set Fleet%d in the container's configuration and recreate the container.
    source: {kind: container}
    tests:
      test_items:
        - path: "{.Config.Fleet%d}"
          set: true
`, id, n+1, n+1, fleetCategories[n%len(fleetCategories)], 1+n%2, r.risk, n+1, n+1, n+1, n+1, n+1)
			n++
		}
	}
	fsys := fstest.MapFS{
		"fleet/standard.yaml": {Data: []byte(`standard:
  id: fleet-bench-1.0
  name: Fleet benchmark
  version: "1.0"
  description: A synthetic standard of 150 container items for store benchmarks.
  asset_types: [container]
`)},
		"fleet/items.yaml": {Data: []byte(items.String())},
	}
	return checks.Load(checks.Tree{FS: fsys, Origin: "bench"})
}

// buildFleet builds the catalog and one task report with every asset,
// result and failure of the fleet.
func buildFleet() (*fleetData, error) {
	cat, err := fleetCatalog()
	if err != nil {
		return nil, err
	}
	items := cat.Items()
	if len(items) != fleetItems {
		return nil, fmt.Errorf("catalog has %d items, want %d", len(items), fleetItems)
	}
	now := time.Now().UTC().Truncate(time.Second)
	rep := &results.Report{StartedAt: now.Add(-10 * time.Minute), FinishedAt: now, Standards: cat.Standards, Items: items}

	nodes := make([]string, fleetNodes)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("node-%03d", i)
	}
	hostRef := "machine-" + nodes[0]
	rep.Assets = make([]assets.Asset, 0, 1+fleetContainers)
	rep.Assets = append(rep.Assets, assets.Asset{
		ID: assets.StableID(assets.Host, hostRef), Type: assets.Host, Name: nodes[0], Ref: hostRef, NodeName: nodes[0],
		Host: &assets.HostDetails{HostName: nodes[0], HostIP: "10.0.0.10", InstanceID: hostRef, DockerVersion: "28.5.2", ContainerdVersion: "1.7.27"},
	})
	services := []string{"api", "web", "worker", "cache", "db", "queue", "auth", "search", "billing", "mailer",
		"gateway", "scheduler", "metrics", "logs", "cron", "proxy", "cdn", "upload", "notify", "report"}
	seen := map[uint64]bool{rep.Assets[0].ID: true}
	for i := range fleetContainers {
		sum := sha256.Sum256([]byte(fmt.Sprintf("container-%d", i)))
		cid := hex.EncodeToString(sum[:])
		node := nodes[i%fleetNodes]
		svc := services[i%len(services)]
		name := fmt.Sprintf("%s-%d-%s", svc, i/len(services), cid[:5])
		a := assets.Asset{
			ID: assets.StableID(assets.Container, "machine-"+node, cid), Type: assets.Container, Name: name, Ref: cid, NodeName: node,
			Container: &assets.ContainerDetails{ContainerID: cid, Name: name, PodName: "", State: assets.StateNormal,
				ImageName: "registry.example.com/" + svc + ":1." + fmt.Sprint(i%7), CreateTime: now.Add(-time.Duration(i) * time.Minute)},
		}
		if i%10 == 9 {
			a.Container.State = assets.StateStopped
		}
		if seen[a.ID] {
			return nil, fmt.Errorf("asset id collision at container %d", i)
		}
		seen[a.ID] = true
		rep.Assets = append(rep.Assets, a)
	}

	// Evidence is shared per (item, outcome): the store marshals each
	// result's evidence anyway, so the ingest cost is that of distinct
	// slices while the data set stays small in memory.
	type itemEv struct{ pass, fail, manual, na []checks.Evidence }
	evs := make([]itemEv, len(items))
	for j, it := range items {
		subj := it.Tests.Items[0].Subject()
		evs[j] = itemEv{
			pass:   []checks.Evidence{{Source: "container", Subject: subj, Actual: "true", Expected: "set", Passed: true}},
			fail:   []checks.Evidence{{Source: "container", Subject: subj, Actual: "<not set>", Expected: "set"}},
			manual: []checks.Evidence{{Source: "container", Subject: subj, Actual: "true", Expected: "set (reviewed by hand)", Passed: true}},
			na:     []checks.Evidence{{Source: "container", Subject: "{.State.Status}", Actual: "exited", Expected: "eq running"}},
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	rep.Results = make([]results.Result, 0, fleetContainers*fleetItems)
	const deadReason = "inspect container: Error response from daemon: No such container"
	const partialReason = `path {.Config.Fleet}: cannot compare "n/a" with gt: not a number`
	for i, a := range rep.Assets[1:] {
		at := rep.StartedAt.Add(time.Duration(i) * 50 * time.Millisecond)
		dead := i < fleetDeadAssets
		partial := !dead && i < fleetDeadAssets+fleetPartialAssets
		if dead {
			rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: a.ID, Reason: deadReason + ": " + a.Ref,
				Suggestion: "the container may have been removed during the scan; rescan it", CheckTime: at})
		}
		if partial {
			rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: a.ID, CheckTime: at,
				Reason:     "2 checks could not be carried out; the first: " + partialReason,
				Suggestion: "fix the cause (often: start the Docker engine, or run as root to read the host's files) and rescan the asset"})
		}
		for j, it := range items {
			r := results.Result{ItemID: it.ID, AssetID: a.ID, CheckedAt: at}
			switch {
			case dead:
				r.Verdict = checks.Failed(deadReason + ": " + a.Ref)
			case partial && j < 2:
				r.Verdict = checks.Failed(partialReason)
			default:
				// 70 : 20 : 5 : 4 of the 99% that could be checked.
				switch p := rng.IntN(99); {
				case p < 70:
					r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed, Evidence: evs[j].pass}
				case p < 90:
					r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultFailed, Evidence: evs[j].fail}
				case p < 95:
					r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultManual, Evidence: evs[j].manual}
				default:
					r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable,
						Reason: "only running containers are checked", Evidence: evs[j].na}
				}
			}
			rep.Results = append(rep.Results, r)
		}
	}
	return &fleetData{cat: cat, report: rep, itemID: items[0].ID}, nil
}

func getFleetData(b *testing.B) *fleetData {
	b.Helper()
	fleetDataOnce.Do(func() {
		start := time.Now()
		fleetDataVal, fleetDataErr = buildFleet()
		if fleetDataErr == nil {
			fmt.Fprintf(os.Stderr, "fleet data set: %d assets, %d items, %d results, %d asset failures (built in %s)\n",
				len(fleetDataVal.report.Assets), len(fleetDataVal.report.Items), len(fleetDataVal.report.Results),
				len(fleetDataVal.report.Failures), time.Since(start).Round(time.Millisecond))
		}
	})
	if fleetDataErr != nil {
		b.Fatalf("build fleet data set: %v", fleetDataErr)
	}
	return fleetDataVal
}

// ingestFleet stores the catalog and runs one full task with the report.
func ingestFleet(ctx context.Context, db *sqlite.DB, fd *fleetData) error {
	if err := db.SyncCatalog(ctx, fd.cat); err != nil {
		return fmt.Errorf("SyncCatalog: %w", err)
	}
	return runTask(ctx, db, fd)
}

func runTask(ctx context.Context, db *sqlite.DB, fd *fleetData) error {
	task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		return fmt.Errorf("BeginTask: %w", err)
	}
	if err := db.CompleteTask(ctx, task.ID, fd.report); err != nil {
		return fmt.Errorf("CompleteTask: %w", err)
	}
	return nil
}

// openFleet opens the shared ingested fleet database, building it on
// first use.
func openFleet(b *testing.B) (*sqlite.DB, *fleetData) {
	b.Helper()
	fd := getFleetData(b)
	ctx := context.Background()
	fleetDBOnce.Do(func() {
		fleetDBDir, fleetDBErr = os.MkdirTemp("", "baseline-fleet-bench-")
		if fleetDBErr != nil {
			return
		}
		start := time.Now()
		db, err := sqlite.Open(ctx, fleetDBDir, sqlite.Options{})
		if err != nil {
			fleetDBErr = err
			return
		}
		if err := ingestFleet(ctx, db, fd); err != nil {
			db.Close()
			fleetDBErr = err
			return
		}
		fleetDBErr = db.Close()
		fleetDBTook = time.Since(start)
		fmt.Fprintf(os.Stderr, "shared fleet database ingested in %s (%.1f MB)\n",
			fleetDBTook.Round(time.Millisecond), fileMB(filepath.Join(fleetDBDir, sqlite.FileName)))
	})
	if fleetDBErr != nil {
		b.Fatalf("fleet database: %v", fleetDBErr)
	}
	db, err := sqlite.Open(ctx, fleetDBDir, sqlite.Options{})
	if err != nil {
		b.Fatalf("open fleet database: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	return db, fd
}

func fileMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

// BenchmarkIngestFleet stores one full task of 1.5 million results into a
// fresh database (the catalog sync is not timed).
func BenchmarkIngestFleet(b *testing.B) {
	fd := getFleetData(b)
	ctx := context.Background()
	b.ReportAllocs()
	var walMB, totalMB, closedMB float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		db, err := sqlite.Open(ctx, dir, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.SyncCatalog(ctx, fd.cat); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := runTask(ctx, db, fd); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		path := db.Path()
		walMB = fileMB(path + "-wal")
		totalMB = fileMB(path) + walMB
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		// Closing the last connection checkpoints the WAL into the file.
		closedMB = fileMB(path) + fileMB(path+"-wal")
		_ = os.RemoveAll(dir)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/ingest")
	b.ReportMetric(totalMB, "MB-db+wal")
	b.ReportMetric(walMB, "MB-wal")
	b.ReportMetric(closedMB, "MB-db-closed")
	b.ReportMetric(float64(len(fd.report.Results)), "results")
}

// queryBench times f after one untimed cold call on a freshly opened handle
// (reported as cold-ms).
func queryBench(b *testing.B, f func() error) {
	b.Helper()
	start := time.Now()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(start)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
	b.ReportMetric(float64(cold.Nanoseconds())/1e6, "cold-ms")
}

func BenchmarkSummaryFleet(b *testing.B) {
	db, _ := openFleet(b)
	ctx := context.Background()
	logged := b.N > 1 // log once, in the first (b.N == 1) run
	queryBench(b, func() error {
		sums, err := db.Summary(ctx, nil)
		if err != nil {
			return err
		}
		if len(sums) == 0 {
			return fmt.Errorf("empty summary")
		}
		if !logged {
			logged = true
			for _, s := range sums {
				b.Logf("%s: assets %d (passed %d, failed %d, scan-failed %d), items %d (failed %d), hosts %d",
					s.AssetType, s.AssetCount, s.PassedAssetCount, s.FailedAssetCount, s.ScanFailedAssetCount,
					s.TotalPolicyItemCount, s.FailedPolicyItemCount, s.DetectHostCount)
			}
		}
		return nil
	})
}

func BenchmarkItemsPageFleet(b *testing.B) {
	db, _ := openFleet(b)
	ctx := context.Background()
	logged := b.N > 1 // log once, in the first (b.N == 1) run
	queryBench(b, func() error {
		page, total, err := db.Items(ctx, store.Query{Offset: 50, Limit: 20,
			Filters: []store.Filter{{Name: "RiskLevel", Values: []string{"RISK_HIGH"}, ExactMatch: true}}})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return fmt.Errorf("empty page (total %d)", total)
		}
		if !logged {
			logged = true
			b.Logf("items page: %d rows of %d; first %d: passed on %d, failed on %d assets",
				len(page), total, page[0].ID, page[0].PassedAssetCount, page[0].FailedAssetCount)
		}
		return nil
	})
}

func BenchmarkItemAssetsPageFleet(b *testing.B) {
	db, fd := openFleet(b)
	ctx := context.Background()
	logged := b.N > 1 // log once, in the first (b.N == 1) run
	queryBench(b, func() error {
		page, total, err := db.ItemAssets(ctx, fd.itemID, store.Query{Offset: 100, Limit: 50,
			Filters: []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}}})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return fmt.Errorf("empty page (total %d)", total)
		}
		if !logged {
			logged = true
			b.Logf("item %d assets page: %d rows of %d failed", fd.itemID, len(page), total)
		}
		return nil
	})
}

func BenchmarkAssetsPageFleet(b *testing.B) {
	db, _ := openFleet(b)
	ctx := context.Background()
	logged := b.N > 1 // log once, in the first (b.N == 1) run
	queryBench(b, func() error {
		page, total, err := db.Assets(ctx, store.Query{Offset: 5000, Limit: 100})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return fmt.Errorf("empty page (total %d)", total)
		}
		if !logged {
			logged = true
			b.Logf("assets page: %d rows of %d; first %s", len(page), total, page[0].Name)
		}
		return nil
	})
}

// BenchmarkWhitelistItemEverywhereFleet ignores one item on every asset and
// removes the entry again: one op is the add and the remove.
func BenchmarkWhitelistItemEverywhereFleet(b *testing.B) {
	db, fd := openFleet(b)
	ctx := context.Background()
	var addTook, removeTook time.Duration
	logged := b.N > 1 // log once, in the first (b.N == 1) run
	queryBench(b, func() error {
		start := time.Now()
		entries, err := db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{fd.itemID}, All: true,
			Reason: "fleet benchmark", CreatedBy: "bench"})
		if err != nil {
			return err
		}
		if len(entries) != 1 {
			return fmt.Errorf("AddWhitelist returned %d entries", len(entries))
		}
		mid := time.Now()
		if !logged {
			logged = true
			it, err := db.Item(ctx, fd.itemID)
			if err != nil {
				return err
			}
			b.Logf("whitelisted item %d: entry covers %d assets; item ignored on %d assets", fd.itemID, entries[0].AssetCount, it.IgnoredAssetCount)
			mid = time.Now()
		}
		if err := db.RemoveWhitelist(ctx, []int64{entries[0].ID}); err != nil {
			return err
		}
		addTook += mid.Sub(start)
		removeTook += time.Since(mid)
		return nil
	})
	// Includes the cold call: b.N+1 ops.
	n := float64(b.N + 1)
	b.ReportMetric(float64(addTook.Nanoseconds())/n/1e6, "add-ms")
	b.ReportMetric(float64(removeTook.Nanoseconds())/n/1e6, "remove-ms")
}
