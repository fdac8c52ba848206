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
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/baselinehq/baseline/internal/fleet"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// fleetData is the in-memory data set, built once per process.
type fleetData = fleet.Data

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

func getFleetData(b *testing.B) *fleetData {
	b.Helper()
	fleetDataOnce.Do(func() {
		start := time.Now()
		fleetDataVal, fleetDataErr = fleet.Build()
		if fleetDataErr == nil {
			fmt.Fprintf(os.Stderr, "fleet data set: %d assets, %d items, %d results, %d asset failures (built in %s)\n",
				len(fleetDataVal.Report.Assets), len(fleetDataVal.Report.Items), len(fleetDataVal.Report.Results),
				len(fleetDataVal.Report.Failures), time.Since(start).Round(time.Millisecond))
		}
	})
	if fleetDataErr != nil {
		b.Fatalf("build fleet data set: %v", fleetDataErr)
	}
	return fleetDataVal
}

// ingestFleet stores the catalog and runs one full task with the report.
func ingestFleet(ctx context.Context, db *sqlite.DB, fd *fleetData) error {
	if err := db.SyncCatalog(ctx, fd.Catalog); err != nil {
		return fmt.Errorf("SyncCatalog: %w", err)
	}
	return runTask(ctx, db, fd)
}

func runTask(ctx context.Context, db *sqlite.DB, fd *fleetData) error {
	task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		return fmt.Errorf("BeginTask: %w", err)
	}
	if err := db.CompleteTask(ctx, task.ID, fd.Report); err != nil {
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
		if err := db.SyncCatalog(ctx, fd.Catalog); err != nil {
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
	b.ReportMetric(float64(len(fd.Report.Results)), "results")
}

// BenchmarkIngestFleetAgain stores a second full task of the same 1.5
// million results over the first (untimed): the periodic task of a fleet
// whose outcomes stay, each pair's latest result replaced.
func BenchmarkIngestFleetAgain(b *testing.B) {
	fd := getFleetData(b)
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		db, err := sqlite.Open(ctx, dir, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := ingestFleet(ctx, db, fd); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := runTask(ctx, db, fd); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/ingest")
	b.ReportMetric(float64(len(fd.Report.Results)), "results")
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
		page, total, err := db.ItemAssets(ctx, fd.ItemID, store.Query{Offset: 100, Limit: 50,
			Filters: []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}}})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return fmt.Errorf("empty page (total %d)", total)
		}
		if !logged {
			logged = true
			b.Logf("item %d assets page: %d rows of %d failed", fd.ItemID, len(page), total)
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
		entries, err := db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{fd.ItemID}, All: true,
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
			it, err := db.Item(ctx, fd.ItemID)
			if err != nil {
				return err
			}
			b.Logf("whitelisted item %d: entry covers %d assets; item ignored on %d assets", fd.ItemID, entries[0].AssetCount, it.IgnoredAssetCount)
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
