package schedule

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// replicas are daemons sharing one PostgreSQL store, each with its handle
// and its scheduler, on one clock.
type replicas struct {
	handles []*postgres.DB
	scheds  []*Scheduler
	clock   *clock
	dsn     string
	// hostTask is the host's period task, daily at 03:00 UTC.
	hostTask store.PeriodTask
}

func newReplicas(t *testing.T, n int, start func(i int) func(context.Context, store.PeriodTask) error) *replicas {
	t.Helper()
	ctx := context.Background()
	r := &replicas{clock: &clock{t: t0}, dsn: pgtest.DSN(t)}
	for i := range n {
		db := r.open(t)
		if i == 0 {
			if err := db.SyncCatalog(ctx, testCatalog(t)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.EnsurePeriodTasks(ctx); err != nil { // every daemon does at start-up
			t.Fatal(err)
		}
		r.handles = append(r.handles, db)
		r.scheds = append(r.scheds, New(db, start(i), Options{Location: time.UTC, Now: r.clock.now, Logger: slog.New(slog.DiscardHandler)}))
	}
	list, err := r.handles[0].PeriodTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.AssetType == assets.Host {
			rule := store.PeriodRule{Frequency: 1, ExecutionTime: "03:00:00", Enable: true}
			if r.hostTask, err = r.handles[0].SetPeriodTask(ctx, p.ID, &rule, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Due at the same second on every replica.
	r.clock.set(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
	return r
}

func (r *replicas) open(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), r.dsn, postgres.Options{Now: r.clock.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Two daemons on one database tick at the second a period task is due,
// while the first is still starting it: it starts once, and neither
// starts it again in that period.
func TestPeriodTaskRunsOnceAcrossReplicas(t *testing.T) {
	var starts atomic.Int32
	started, secondDone := make(chan struct{}), make(chan struct{})
	r := newReplicas(t, 2, func(i int) func(context.Context, store.PeriodTask) error {
		return func(ctx context.Context, pt store.PeriodTask) error {
			if pt.AssetType != assets.Host {
				return nil
			}
			starts.Add(1)
			if i == 0 { // hold the start until the other replica has ticked
				close(started)
				select {
				case <-secondDone:
				case <-time.After(time.Minute):
					t.Error("the second replica's tick waited for the first's start")
				}
			}
			return nil
		}
	})
	ctx := context.Background()
	firstDone := make(chan error, 1)
	go func() { firstDone <- r.scheds[0].Tick(ctx) }()
	<-started
	if err := r.scheds[1].Tick(ctx); err != nil {
		t.Fatal(err)
	}
	close(secondDone)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	for _, s := range r.scheds { // later ticks in the same period start nothing
		r.clock.step(time.Minute)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := starts.Load(); n != 1 {
		t.Fatalf("the period task started %d times across the replicas, want once", n)
	}
}

// A daemon that dies holding a period task's lock (its connection ends)
// leaves the task to the others: while it holds the lock nobody starts the
// task, once it is gone the next tick of another replica does.
func TestPeriodLockTakenOverWhenItsHolderDies(t *testing.T) {
	var starts atomic.Int32
	r := newReplicas(t, 1, func(int) func(context.Context, store.PeriodTask) error {
		return func(_ context.Context, pt store.PeriodTask) error {
			if pt.AssetType == assets.Host {
				starts.Add(1)
			}
			return nil
		}
	})
	ctx := context.Background()
	dying := r.open(t)
	_, held, err := dying.LockPeriod(ctx, r.hostTask.ID)
	if err != nil || !held {
		t.Fatalf("lock: %v, %v", held, err)
	}
	if err := r.scheds[0].Tick(ctx); err != nil || starts.Load() != 0 {
		t.Fatalf("started %d times (%v) while another daemon holds the lock", starts.Load(), err)
	}
	dying.Close() // its connections end, as when the process is killed
	// The server frees the lock once it has ended the dead session, just
	// after the client has gone: the next ticks start the task, once.
	err = r.scheds[0].Tick(ctx)
	for deadline := time.Now().Add(10 * time.Second); err == nil && starts.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		err = r.scheds[0].Tick(ctx)
	}
	if err != nil || starts.Load() != 1 {
		t.Fatalf("started %d times (%v) after the holder died, want once", starts.Load(), err)
	}
	if err := r.scheds[0].Tick(ctx); err != nil || starts.Load() != 1 {
		t.Fatalf("started %d times (%v) on the next tick, want once in all", starts.Load(), err)
	}
}
