package storetest_test

// The backends compared on one simulated fleet (internal/fleet):
// ingest of the fleet's task into a new store, then, on a store holding
// it, the summary, an item page and an affected-asset page.
//
//	go test ./store/storetest/ -run '^$' -bench Backends -benchtime 1x -timeout 60m
//
// BASELINE_BENCH_CONTAINERS sets the fleet's size (default: 9,999
// containers and a host on 100 nodes, 1.5 million results). The test
// PostgreSQL runs without fsync (internal/pgtest), as SQLite runs with
// synchronous=NORMAL: neither waits for the disk at each commit.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/internal/fleet"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
	"github.com/baselinehq/baseline/store/sqlite"
)

var (
	benchFleetOnce sync.Once
	benchFleet     *fleet.Data
	benchFleetErr  error
)

func benchData(b *testing.B) *fleet.Data {
	b.Helper()
	benchFleetOnce.Do(func() {
		size := fleet.Default
		if v := os.Getenv("BASELINE_BENCH_CONTAINERS"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 {
				benchFleetErr = fmt.Errorf("BASELINE_BENCH_CONTAINERS: %q is not a number of at least 100", v)
				return
			}
			size.Containers = n
		}
		benchFleet, benchFleetErr = fleet.BuildSize(size)
	})
	if benchFleetErr != nil {
		b.Fatal(benchFleetErr)
	}
	return benchFleet
}

// benchStore is a new empty store of a backend, its size on disk, and
// another handle on it, closed when the benchmark ends.
type benchStore struct {
	db     store.Store
	size   func() float64 // MB
	reopen func(b *testing.B) store.Store
}

var benchBackends = []struct {
	name string
	open func(b *testing.B) benchStore
}{
	{"sqlite", func(b *testing.B) benchStore {
		dir := filepath.Join(b.TempDir(), "data") // made private by the store
		open := func(b *testing.B) store.Store {
			db, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}
		path := filepath.Join(dir, sqlite.FileName)
		return benchStore{db: open(b), reopen: open, size: func() float64 { return fileMB(path) + fileMB(path+"-wal") }}
	}},
	{"postgres", func(b *testing.B) benchStore {
		dsn := pgtest.DSN(b)
		open := func(b *testing.B) store.Store {
			db, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}
		return benchStore{db: open(b), reopen: open, size: func() float64 {
			c, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				return 0
			}
			defer c.Close(context.Background())
			var n int64
			_ = c.QueryRow(context.Background(), "SELECT pg_database_size(current_database())").Scan(&n)
			return float64(n) / (1 << 20)
		}}
	}},
}

func fileMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

func ingest(b *testing.B, db store.Store, fd *fleet.Data) {
	b.Helper()
	ctx := context.Background()
	task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.CompleteTask(ctx, task.ID, fd.Report); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBackendsIngest stores the fleet's task into a new store of each
// backend (the catalog's sync is not timed), and reports the store's size.
func BenchmarkBackendsIngest(b *testing.B) {
	fd := benchData(b)
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			b.ReportAllocs()
			var mb float64
			for range b.N {
				b.StopTimer()
				st := be.open(b)
				if err := st.db.SyncCatalog(context.Background(), fd.Catalog); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				ingest(b, st.db, fd)
				b.StopTimer()
				mb = st.size()
				b.StartTimer()
			}
			n := float64(len(fd.Report.Results))
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/ingest")
			b.ReportMetric(n, "results")
			b.ReportMetric(mb, "MB")
			b.ReportMetric(mb/(n/1e6), "MB/Mresults")
		})
	}
}

// BenchmarkBackendsQueries times, on a store of each backend holding the
// fleet's task, the summary of every type, a page of 20 high-risk items
// at offset 50, a page of 50 failed assets at offset 100, and a page of 50
// assets an item failed on at offset 100 (offsets less in a fleet under
// 2,000 assets). Each reports first-ms, the first call on a handle opened
// for it (no statement or page cached by the handle; the operating
// system's and PostgreSQL's shared buffers stay as the ingest left them),
// and ms/op, the calls that follow on the ingesting handle.
func BenchmarkBackendsQueries(b *testing.B) {
	fd := benchData(b)
	ctx := context.Background()
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			if err := st.db.SyncCatalog(ctx, fd.Catalog); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			ingest(b, st.db, fd)
			b.Logf("%s: %d results ingested in %s", be.name, len(fd.Report.Results), time.Since(start).Round(time.Millisecond))
			for _, q := range fleetQueries(fd) {
				b.Run(q.name, func(b *testing.B) {
					fresh := st.reopen(b)
					if _, err := fresh.Task(ctx, 1); err != nil { // a connection, before the clock starts
						b.Fatal(err)
					}
					start := time.Now()
					n, err := q.run(fresh)
					first := time.Since(start)
					if err != nil || n == 0 {
						b.Fatalf("%d rows, %v", n, err)
					}
					if _, err := q.run(st.db); err != nil { // warm
						b.Fatal(err)
					}
					b.ResetTimer()
					for range b.N {
						if _, err := q.run(st.db); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
					b.ReportMetric(float64(first.Nanoseconds())/1e6, "first-ms")
				})
			}
		})
	}
}

// fleetQuery is a query of the fleet benchmark and how many rows it gave.
type fleetQuery struct {
	name string
	run  func(db store.ResultReader) (int, error)
}

func fleetQueries(fd *fleet.Data) []fleetQuery {
	ctx := context.Background()
	offset := min(100, len(fd.Report.Assets)/20)
	failed := []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}}
	return []fleetQuery{
		{"Summary", func(db store.ResultReader) (int, error) {
			sums, err := db.Summary(ctx, nil)
			return len(sums), err
		}},
		{"ItemsPage", func(db store.ResultReader) (int, error) {
			page, _, err := db.Items(ctx, store.Query{Offset: 50, Limit: 20,
				Filters: []store.Filter{{Name: "RiskLevel", Values: []string{"RISK_HIGH"}, ExactMatch: true}}})
			return len(page), err
		}},
		{"AssetsPage", func(db store.ResultReader) (int, error) {
			page, _, err := db.Assets(ctx, store.Query{Offset: offset, Limit: 50, Filters: failed})
			return len(page), err
		}},
		{"ItemAssetsPage", func(db store.ResultReader) (int, error) {
			page, _, err := db.ItemAssets(ctx, fd.ItemID, store.Query{Offset: offset, Limit: 50, Filters: failed})
			return len(page), err
		}},
	}
}
