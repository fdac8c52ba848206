package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

func TestNext(t *testing.T) {
	utc := time.UTC
	sh := mustLoad(t, "Asia/Shanghai")
	ny := mustLoad(t, "America/New_York")
	rule := func(freq int, at string) store.PeriodRule {
		return store.PeriodRule{Frequency: freq, ExecutionTime: at, Enable: true}
	}
	d := func(loc *time.Location, y int, m time.Month, day, h, min, s int) time.Time {
		return time.Date(y, m, day, h, min, s, 0, loc)
	}
	var never time.Time
	for _, tc := range []struct {
		name       string
		loc        *time.Location
		rule       store.PeriodRule
		last, from time.Time
		want       time.Time
	}{
		{"daily", utc, rule(1, "03:00:00"), d(utc, 2026, 3, 2, 3, 0, 0), never, d(utc, 2026, 3, 3, 3, 0, 0)},
		{"every 3 days", utc, rule(3, "03:00:00"), d(utc, 2026, 3, 2, 3, 0, 0), never, d(utc, 2026, 3, 5, 3, 0, 0)},
		{"weekly", utc, rule(7, "03:00:00"), d(utc, 2026, 3, 2, 3, 0, 0), never, d(utc, 2026, 3, 9, 3, 0, 0)},
		{"catch-up at an odd hour keeps the time of day", utc, rule(1, "03:00:00"), d(utc, 2026, 3, 12, 15, 17, 42), never, d(utc, 2026, 3, 13, 3, 0, 0)},
		{"run before the execution time that day", utc, rule(1, "03:00:00"), d(utc, 2026, 3, 12, 1, 0, 0), never, d(utc, 2026, 3, 13, 3, 0, 0)},
		{"daily across a month", utc, rule(1, "03:00:00"), d(utc, 2026, 1, 31, 3, 0, 0), never, d(utc, 2026, 2, 1, 3, 0, 0)},
		{"3 days across February", utc, rule(3, "03:00:00"), d(utc, 2026, 2, 27, 3, 0, 0), never, d(utc, 2026, 3, 2, 3, 0, 0)},
		{"3 days across a leap February", utc, rule(3, "03:00:00"), d(utc, 2028, 2, 27, 3, 0, 0), never, d(utc, 2028, 3, 1, 3, 0, 0)},
		{"weekly across a month", utc, rule(7, "03:00:00"), d(utc, 2026, 4, 28, 3, 0, 0), never, d(utc, 2026, 5, 5, 3, 0, 0)},
		{"daily across a year", utc, rule(1, "03:00:00"), d(utc, 2026, 12, 31, 23, 0, 0), never, d(utc, 2027, 1, 1, 3, 0, 0)},
		{"3 days across a year", utc, rule(3, "03:00:00"), d(utc, 2026, 12, 30, 3, 0, 0), never, d(utc, 2027, 1, 2, 3, 0, 0)},
		{"weekly across a year", utc, rule(7, "22:15:30"), d(utc, 2026, 12, 29, 22, 15, 30), never, d(utc, 2027, 1, 5, 22, 15, 30)},

		{"first run later the same day", utc, rule(1, "03:00:00"), never, d(utc, 2026, 3, 1, 1, 0, 0), d(utc, 2026, 3, 1, 3, 0, 0)},
		{"first run the next day", utc, rule(3, "03:00:00"), never, d(utc, 2026, 3, 1, 10, 0, 0), d(utc, 2026, 3, 2, 3, 0, 0)},
		{"first run strictly after from", utc, rule(7, "03:00:00"), never, d(utc, 2026, 3, 1, 3, 0, 0), d(utc, 2026, 3, 2, 3, 0, 0)},
		{"first run across a year", utc, rule(1, "21:30:00"), never, d(utc, 2026, 12, 31, 22, 0, 0), d(utc, 2027, 1, 1, 21, 30, 0)},

		// 2026-03-01 20:00 UTC is already 03-02 04:00 in Shanghai: the
		// calendar day is the zone's.
		{"Shanghai: the zone's calendar day", sh, rule(1, "03:00:00"), time.Date(2026, 3, 1, 20, 0, 0, 0, utc), never, d(sh, 2026, 3, 3, 3, 0, 0)},
		{"Shanghai: 3 days across February", sh, rule(3, "03:00:00"), d(sh, 2026, 2, 28, 3, 0, 0), never, d(sh, 2026, 3, 3, 3, 0, 0)},
		{"Shanghai: weekly across a year", sh, rule(7, "03:00:00"), d(sh, 2026, 12, 29, 3, 0, 0), never, d(sh, 2027, 1, 5, 3, 0, 0)},
		{"Shanghai: first run", sh, rule(1, "03:00:00"), never, time.Date(2026, 3, 1, 10, 0, 0, 0, utc), d(sh, 2026, 3, 2, 3, 0, 0)},
		{"Shanghai: first run, UTC date behind", sh, rule(1, "07:00:00"), never, time.Date(2026, 3, 1, 22, 0, 0, 0, utc), d(sh, 2026, 3, 2, 7, 0, 0)},

		{"New York: daily onto spring-forward day", ny, rule(1, "03:00:00"), d(ny, 2026, 3, 7, 3, 0, 0), never, time.Date(2026, 3, 8, 7, 0, 0, 0, utc)},
		{"New York: daily onto fall-back day", ny, rule(1, "03:00:00"), d(ny, 2026, 10, 31, 3, 0, 0), never, time.Date(2026, 11, 1, 8, 0, 0, 0, utc)},
		{"New York: weekly across spring-forward", ny, rule(7, "03:00:00"), d(ny, 2026, 3, 5, 3, 0, 0), never, d(ny, 2026, 3, 12, 3, 0, 0)},
		{"New York: 3 days across fall-back", ny, rule(3, "12:00:00"), d(ny, 2026, 10, 30, 12, 0, 0), never, d(ny, 2026, 11, 2, 12, 0, 0)},
		{"New York: first run on spring-forward day", ny, rule(1, "03:00:00"), never, d(ny, 2026, 3, 8, 0, 30, 0), time.Date(2026, 3, 8, 7, 0, 0, 0, utc)},

		{"invalid frequency", utc, rule(2, "03:00:00"), d(utc, 2026, 3, 2, 3, 0, 0), never, never},
		{"invalid execution time", utc, rule(1, "25:00:00"), never, d(utc, 2026, 3, 2, 3, 0, 0), never},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Next(tc.rule, tc.last, tc.from, tc.loc)
			if !got.Equal(tc.want) {
				t.Fatalf("Next = %v, want %v", got, tc.want)
			}
			if !got.IsZero() && got.Location() != tc.loc {
				t.Errorf("Next is in %v, want %v", got.Location(), tc.loc)
			}
		})
	}
}

// The wall clock keeps its time of day across a switch: the gap between two
// daily runs is 23 or 25 hours.
func TestNextDSTGaps(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	rule := store.PeriodRule{Frequency: 1, ExecutionTime: "03:00:00", Enable: true}
	for _, tc := range []struct {
		last time.Time
		gap  time.Duration
	}{
		{time.Date(2026, 3, 7, 3, 0, 0, 0, ny), 23 * time.Hour},
		{time.Date(2026, 10, 31, 3, 0, 0, 0, ny), 25 * time.Hour},
		{time.Date(2026, 6, 1, 3, 0, 0, 0, ny), 24 * time.Hour},
	} {
		if gap := Next(rule, tc.last, time.Time{}, ny).Sub(tc.last); gap != tc.gap {
			t.Errorf("after %v: gap %v, want %v", tc.last, gap, tc.gap)
		}
	}
}

// An execution time that does not exist (spring forward) or exists twice
// (fall back) on a switch day runs once on that day, at one of the two
// offsets (time.Date's normalisation), and the next day at the usual time.
func TestNextDSTSkippedAndRepeatedTime(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	utc := time.UTC
	for _, tc := range []struct {
		name      string
		at        string
		day       time.Time // the day before the switch, at the execution time
		onSwitch  []time.Time
		dayAfter  time.Time
		switchDay int
	}{
		{"skipped 02:30", "02:30:00", time.Date(2026, 3, 7, 2, 30, 0, 0, ny),
			[]time.Time{time.Date(2026, 3, 8, 6, 30, 0, 0, utc), time.Date(2026, 3, 8, 7, 30, 0, 0, utc)}, // 01:30 EST or 03:30 EDT
			time.Date(2026, 3, 9, 2, 30, 0, 0, ny), 8},
		{"repeated 01:30", "01:30:00", time.Date(2026, 10, 31, 1, 30, 0, 0, ny),
			[]time.Time{time.Date(2026, 11, 1, 5, 30, 0, 0, utc), time.Date(2026, 11, 1, 6, 30, 0, 0, utc)}, // 01:30 EDT or EST
			time.Date(2026, 11, 2, 1, 30, 0, 0, ny), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule := store.PeriodRule{Frequency: 1, ExecutionTime: tc.at, Enable: true}
			got := Next(rule, tc.day, time.Time{}, ny)
			if !slices.ContainsFunc(tc.onSwitch, got.Equal) {
				t.Fatalf("on the switch day: %v (%v), want one of %v", got, got.UTC(), tc.onSwitch)
			}
			if got.In(ny).Day() != tc.switchDay {
				t.Errorf("run on day %d, want %d", got.In(ny).Day(), tc.switchDay)
			}
			if after := Next(rule, got, time.Time{}, ny); !after.Equal(tc.dayAfter) {
				t.Errorf("the day after: %v, want %v", after, tc.dayAfter)
			}
		})
	}
}

func TestDue(t *testing.T) {
	utc := time.UTC
	d := func(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, utc) }
	task := func(freq int, at string, last, updated time.Time) store.PeriodTask {
		return store.PeriodTask{Rule: store.PeriodRule{Frequency: freq, ExecutionTime: at, Enable: true},
			LastTriggerTime: last, UpdatedAt: updated}
	}
	for _, tc := range []struct {
		name string
		pt   store.PeriodTask
		want time.Time
	}{
		{"never ran: first execution time after the rule was set", task(1, "03:00:00", time.Time{}, d(1, 10, 0)), d(2, 3, 0)},
		{"ran, rule older: from the last run", task(3, "03:00:00", d(2, 3, 0), d(1, 10, 0)), d(5, 3, 0)},
		{"ran, overdue: from the last run", task(1, "03:00:00", d(2, 3, 0), d(1, 10, 0)), d(3, 3, 0)},
		{"frequency raised after the run", task(7, "03:00:00", d(2, 3, 0), d(2, 10, 0)), d(9, 3, 0)},
		{"frequency lowered after a missed slot: no immediate run", task(1, "03:00:00", d(2, 3, 0), d(4, 10, 0)), d(5, 3, 0)},
		{"time moved later on the day of the run: not twice that day", task(1, "15:00:00", d(2, 3, 0), d(2, 10, 0)), d(3, 15, 0)},
		{"time moved earlier", task(1, "01:00:00", d(2, 3, 0), d(2, 10, 0)), d(3, 1, 0)},
		{"invalid rule", task(5, "03:00:00", d(2, 3, 0), d(1, 10, 0)), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Due(tc.pt, utc); !got.Equal(tc.want) {
				t.Fatalf("Due = %v, want %v", got, tc.want)
			}
		})
	}
}

// clock is a stepped clock shared by the store and the scheduler.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
func (c *clock) step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// call is one start of a period task's scan.
type call struct {
	Type      assets.Type
	Standards []string
	At        time.Time
}

// starter is the runner's test double: it records what it is asked to
// start and fails for the asset types in errs.
type starter struct {
	mu    sync.Mutex
	clock *clock
	calls []call
	errs  map[assets.Type]error
	after func() // called after each call, if set
}

func (r *starter) start(_ context.Context, pt store.PeriodTask) error {
	r.mu.Lock()
	r.calls = append(r.calls, call{Type: pt.AssetType, Standards: pt.EnabledStandards(), At: r.clock.now()})
	err, after := r.errs[pt.AssetType], r.after
	r.mu.Unlock()
	if after != nil {
		after()
	}
	return err
}

func (r *starter) fail(typ assets.Type, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.errs, typ)
		return
	}
	r.errs[typ] = err
}

// take returns the calls since the last take.
func (r *starter) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// Standard t-1 covers host and container items, t-2 host items only.
const (
	standardT1 = "standard:\n  id: t-1\n  name: Test standard\n  version: \"1\"\n  asset_types: [host, container]\n"
	standardT2 = "standard:\n  id: t-2\n  name: Second standard\n  version: \"1\"\n  asset_types: [host]\n"
)

func testItem(id, number, assetType string) string {
	src := "container"
	if assetType == "host" {
		src = "daemon_info"
	}
	return `  - id: ` + id + `
    number: "` + number + `"
    title: Item ` + number + `
    category: Cat
    asset_type: ` + assetType + `
    risk: high
    assessment: automated
    source: {kind: ` + src + `}
    tests: {test_items: [{path: "{.x}", set: true}]}
`
}

func testCatalog(t testing.TB) *checks.Catalog {
	t.Helper()
	cat, err := checks.Load(checks.Tree{FS: fstest.MapFS{
		"t/standard.yaml": {Data: []byte(standardT1)},
		"t/items.yaml":    {Data: []byte("items:\n" + testItem("11", "H1", "host") + testItem("21", "C1", "container"))},
		"u/standard.yaml": {Data: []byte(standardT2)},
		"u/items.yaml":    {Data: []byte("items:\n" + testItem("31", "H2", "host"))},
	}, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// t0 is when every fixture starts (a Sunday), and when its period tasks
// are created.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	st    *sqlite.DB
	clock *clock
	run   *starter
	logs  *testhost.Buffer
	s     *Scheduler
	loc   *time.Location
}

func newFixture(t *testing.T, loc *time.Location) *fixture {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: t0}
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Now: c.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.SyncCatalog(ctx, testCatalog(t)); err != nil {
		t.Fatal(err)
	}
	if err := st.EnsurePeriodTasks(ctx); err != nil {
		t.Fatal(err)
	}
	logs := &testhost.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	run := &starter{clock: c, errs: map[assets.Type]error{}}
	s := New(st, run.start, Options{Location: loc, Now: c.now, RetryAfter: 5 * time.Minute,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return &fixture{st: st, clock: c, run: run, logs: logs, s: s, loc: loc}
}

func (f *fixture) task(t *testing.T, typ assets.Type) store.PeriodTask {
	t.Helper()
	list, err := f.st.PeriodTasks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.AssetType == typ {
			return p
		}
	}
	t.Fatalf("no period task for %s", typ)
	return store.PeriodTask{}
}

// set changes a task's rule (at the clock's time) and standards.
func (f *fixture) set(t *testing.T, typ assets.Type, freq int, at string, enable bool, standards map[string]bool) store.PeriodTask {
	t.Helper()
	rule := store.PeriodRule{Frequency: freq, ExecutionTime: at, Enable: enable}
	pt, err := f.st.SetPeriodTask(context.Background(), f.task(t, typ).ID, &rule, standards)
	if err != nil {
		t.Fatal(err)
	}
	f.s.Reload() // as the API and the CLI do; it never blocks
	return pt
}

func (f *fixture) tick(t *testing.T) []call {
	t.Helper()
	if err := f.s.Tick(context.Background()); err != nil {
		t.Fatalf("Tick at %v: %v", f.clock.now(), err)
	}
	return f.run.take()
}

// tickAt sets the clock and ticks.
func (f *fixture) tickAt(t *testing.T, at time.Time) []call {
	t.Helper()
	f.clock.set(at)
	return f.tick(t)
}

func (f *fixture) nextRun(t *testing.T, typ assets.Type) (time.Time, bool) {
	t.Helper()
	runs, err := f.s.NextRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	at, ok := runs[f.task(t, typ).ID]
	return at, ok
}

func (f *fixture) wantNext(t *testing.T, typ assets.Type, want time.Time) {
	t.Helper()
	got, ok := f.nextRun(t, typ)
	if !ok || !got.Equal(want) {
		t.Fatalf("next run of %s = %v (listed %v), want %v", typ, got, ok, want)
	}
}

func wantCalls(t *testing.T, got []call, want ...assets.Type) {
	t.Helper()
	var types []assets.Type
	for _, c := range got {
		types = append(types, c.Type)
	}
	if !slices.Equal(types, want) {
		t.Fatalf("started %v, want %v", types, want)
	}
}

func TestTickRunsDueTaskOnce(t *testing.T) {
	for _, freq := range []int{1, 3, 7} {
		t.Run(fmt.Sprintf("every %d days", freq), func(t *testing.T) {
			f := newFixture(t, time.UTC)
			f.set(t, assets.Host, freq, "03:00:00", true, nil)
			first := time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

			wantCalls(t, f.tick(t))
			f.wantNext(t, assets.Host, first)
			wantCalls(t, f.tickAt(t, first.Add(-time.Second)))

			got := f.tickAt(t, first)
			wantCalls(t, got, assets.Host)
			if !slices.Equal(got[0].Standards, []string{"t-1", "t-2"}) {
				t.Errorf("standards %v, want [t-1 t-2]", got[0].Standards)
			}
			if last := f.task(t, assets.Host).LastTriggerTime; !last.Equal(first) {
				t.Errorf("LastTriggerTime = %v, want %v", last, first)
			}
			wantCalls(t, f.tick(t)) // same time: nothing more

			second := first.AddDate(0, 0, freq)
			f.wantNext(t, assets.Host, second)
			wantCalls(t, f.tickAt(t, second.Add(-time.Second)))
			wantCalls(t, f.tickAt(t, second), assets.Host)
			wantCalls(t, f.tick(t))
			f.wantNext(t, assets.Host, second.AddDate(0, 0, freq))
		})
	}
}

func TestTickCatchUp(t *testing.T) {
	t.Run("after runs", func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.set(t, assets.Host, 1, "03:00:00", true, nil)
		wantCalls(t, f.tickAt(t, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)), assets.Host)

		// The daemon was down for 10 days and comes back mid-afternoon.
		wantCalls(t, f.tickAt(t, time.Date(2026, 3, 12, 15, 0, 0, 0, time.UTC)), assets.Host)
		wantCalls(t, f.tick(t))
		next := time.Date(2026, 3, 13, 3, 0, 0, 0, time.UTC)
		f.wantNext(t, assets.Host, next)
		wantCalls(t, f.tickAt(t, next.Add(-time.Second)))
		wantCalls(t, f.tickAt(t, next), assets.Host)
	})
	t.Run("never ran", func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.set(t, assets.Host, 3, "03:00:00", true, nil)
		wantCalls(t, f.tickAt(t, t0.AddDate(0, 0, 10)), assets.Host)
		wantCalls(t, f.tick(t))
		f.wantNext(t, assets.Host, time.Date(2026, 3, 14, 3, 0, 0, 0, time.UTC))
	})
}

func TestTickSkipsDisabledTasks(t *testing.T) {
	// count ticks every 6 hours for 30 days and counts the starts.
	count := func(t *testing.T, f *fixture) map[assets.Type]int {
		n := map[assets.Type]int{}
		for range 30 * 4 {
			f.clock.step(6 * time.Hour)
			for _, c := range f.tick(t) {
				n[c.Type]++
			}
		}
		return n
	}
	t.Run("switched off", func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.set(t, assets.Container, 1, "03:00:00", true, nil)
		// The host task keeps the default rule: off.
		if n := count(t, f); n[assets.Host] != 0 || n[assets.Container] != 30 {
			t.Fatalf("starts %v, want 30 container and no host", n)
		}
		if _, ok := f.nextRun(t, assets.Host); ok {
			t.Error("a disabled task has a next run")
		}
	})
	t.Run("switched off after running", func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.set(t, assets.Host, 1, "03:00:00", true, nil)
		wantCalls(t, f.tickAt(t, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)), assets.Host)
		f.set(t, assets.Host, 1, "03:00:00", false, nil)
		if n := count(t, f); len(n) != 0 {
			t.Fatalf("starts %v, want none", n)
		}
	})
	t.Run("all standards off", func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.set(t, assets.Container, 1, "03:00:00", true, nil)
		f.set(t, assets.Host, 1, "03:00:00", true, map[string]bool{"t-1": false, "t-2": false})
		// The catalog has no image or Kubernetes items: no standards at all.
		f.set(t, assets.Image, 1, "03:00:00", true, nil)
		f.set(t, assets.K8s, 1, "03:00:00", true, nil)
		if n := count(t, f); len(n) != 1 || n[assets.Container] != 30 {
			t.Fatalf("starts %v, want 30 container only", n)
		}
		runs, err := f.s.NextRuns(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 {
			t.Errorf("next runs %v, want the container task's only", runs)
		}
	})
	t.Run("one standard off", func(t *testing.T) {
		f := newFixture(t, time.UTC)
		f.set(t, assets.Host, 1, "03:00:00", true, map[string]bool{"t-1": false})
		got := f.tickAt(t, time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
		wantCalls(t, got, assets.Host)
		if !slices.Equal(got[0].Standards, []string{"t-2"}) {
			t.Errorf("standards %v, want [t-2]", got[0].Standards)
		}
	})
}

func TestTickAlreadyScanning(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.set(t, assets.Host, 1, "03:00:00", true, nil)
	f.set(t, assets.Container, 1, "03:00:00", true, nil)
	f.run.fail(assets.Host, fmt.Errorf("runner: %w: host scan 7 is running", store.ErrAlreadyScanning))
	due := time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

	// The host task is refused; the container task is not held up.
	wantCalls(t, f.tickAt(t, due), assets.Host, assets.Container)
	if last := f.task(t, assets.Host).LastTriggerTime; !last.IsZero() {
		t.Fatalf("a refused task was marked triggered at %v", last)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "ErrAlreadyScanning") ||
		!strings.Contains(logs, "component=schedule") {
		t.Errorf("no warning logged:\n%s", logs)
	}
	f.wantNext(t, assets.Host, due.Add(5*time.Minute))
	f.wantNext(t, assets.Container, due.AddDate(0, 0, 1))

	// Not before RetryAfter.
	wantCalls(t, f.tick(t))
	wantCalls(t, f.tickAt(t, due.Add(5*time.Minute-time.Second)))
	// Then again, still refused: another RetryAfter.
	wantCalls(t, f.tickAt(t, due.Add(5*time.Minute)), assets.Host)
	wantCalls(t, f.tickAt(t, due.Add(10*time.Minute-time.Second)))
	f.wantNext(t, assets.Host, due.Add(10*time.Minute))

	// The running scan is over: the retry starts it and marks it.
	f.run.fail(assets.Host, nil)
	retried := due.Add(10 * time.Minute)
	wantCalls(t, f.tickAt(t, retried), assets.Host)
	if last := f.task(t, assets.Host).LastTriggerTime; !last.Equal(retried) {
		t.Fatalf("LastTriggerTime = %v, want %v", last, retried)
	}
	wantCalls(t, f.tick(t))
	// The time of day is kept.
	f.wantNext(t, assets.Host, due.AddDate(0, 0, 1))
	wantCalls(t, f.tickAt(t, due.AddDate(0, 0, 1)), assets.Host, assets.Container)
}

// A backoff belongs to one due time: a rule changed meanwhile is not held
// back by it.
func TestTickAlreadyScanningRuleChanged(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.set(t, assets.Host, 1, "03:00:00", true, nil)
	f.run.fail(assets.Host, store.ErrAlreadyScanning)
	due := time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)
	wantCalls(t, f.tickAt(t, due), assets.Host)
	f.run.fail(assets.Host, nil)

	f.clock.set(due.Add(time.Minute))
	f.set(t, assets.Host, 1, "03:02:00", true, nil)
	f.wantNext(t, assets.Host, due.Add(2*time.Minute))
	wantCalls(t, f.tickAt(t, due.Add(2*time.Minute)), assets.Host)
}

func TestTickOtherStartError(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.set(t, assets.Host, 1, "03:00:00", true, nil)
	f.set(t, assets.Container, 1, "03:00:00", true, nil)
	f.run.fail(assets.Host, errors.New("docker engine unreachable"))
	due := time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

	wantCalls(t, f.tickAt(t, due), assets.Host, assets.Container)
	for _, typ := range []assets.Type{assets.Host, assets.Container} {
		if last := f.task(t, typ).LastTriggerTime; !last.Equal(due) {
			t.Errorf("%s: LastTriggerTime = %v, want %v", typ, last, due)
		}
	}
	if logs := f.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "docker engine unreachable") {
		t.Errorf("the failure is not logged:\n%s", logs)
	}
	// No hot loop: it waits for its next period.
	wantCalls(t, f.tickAt(t, due.Add(time.Hour)))
	f.wantNext(t, assets.Host, due.AddDate(0, 0, 1))
}

func TestChangedRule(t *testing.T) {
	f := newFixture(t, time.UTC)
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }
	f.set(t, assets.Host, 1, "03:00:00", true, nil)
	wantCalls(t, f.tickAt(t, day(2, 3, 0)), assets.Host)

	// Daily → every 3 days.
	f.clock.set(day(2, 10, 0))
	f.set(t, assets.Host, 3, "03:00:00", true, nil)
	f.wantNext(t, assets.Host, day(5, 3, 0))
	wantCalls(t, f.tickAt(t, day(3, 3, 0)))
	wantCalls(t, f.tickAt(t, day(4, 3, 0)))
	wantCalls(t, f.tickAt(t, day(5, 3, 0)), assets.Host)

	// Weekly at 21:30: a week after the last run's day.
	f.clock.set(day(5, 10, 0))
	f.set(t, assets.Host, 7, "21:30:00", true, nil)
	f.wantNext(t, assets.Host, day(12, 21, 30))
	wantCalls(t, f.tickAt(t, day(5, 21, 30)))

	// Back to daily two days later: the slot of 03-06 passed before the
	// rule existed, so it is the next 21:30, not now.
	f.clock.set(day(7, 12, 0))
	f.set(t, assets.Host, 1, "21:30:00", true, nil)
	f.wantNext(t, assets.Host, day(7, 21, 30))
	wantCalls(t, f.tick(t))
	wantCalls(t, f.tickAt(t, day(7, 21, 30)), assets.Host)
	f.wantNext(t, assets.Host, day(8, 21, 30))

	// A standard switched on or off does not move the next run.
	f.clock.set(day(8, 9, 0))
	if _, err := f.st.SetPeriodTask(context.Background(), f.task(t, assets.Host).ID, nil, map[string]bool{"t-2": false}); err != nil {
		t.Fatal(err)
	}
	f.wantNext(t, assets.Host, day(8, 21, 30))
}

func TestTickTimeZones(t *testing.T) {
	sh := mustLoad(t, "Asia/Shanghai")
	f := newFixture(t, sh)
	f.set(t, assets.Host, 1, "03:00:00", true, nil) // t0 is 18:00 in Shanghai
	due := time.Date(2026, 3, 2, 3, 0, 0, 0, sh)    // 03-01 19:00 UTC
	wantCalls(t, f.tickAt(t, time.Date(2026, 3, 1, 18, 59, 59, 0, time.UTC)))
	wantCalls(t, f.tickAt(t, due.UTC()), assets.Host)
	f.wantNext(t, assets.Host, time.Date(2026, 3, 3, 3, 0, 0, 0, sh))
}

// Across both switches of a year in New York, a daily task whose time is
// skipped or repeated runs once a day, ticked every 10 minutes.
func TestTickDST(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	for _, tc := range []struct {
		at       string
		from, to time.Time
	}{
		{"02:30:00", time.Date(2026, 3, 6, 12, 0, 0, 0, ny), time.Date(2026, 3, 10, 12, 0, 0, 0, ny)},
		{"01:30:00", time.Date(2026, 10, 30, 12, 0, 0, 0, ny), time.Date(2026, 11, 3, 12, 0, 0, 0, ny)},
		{"03:00:00", time.Date(2026, 3, 6, 12, 0, 0, 0, ny), time.Date(2026, 3, 10, 12, 0, 0, 0, ny)},
	} {
		t.Run(tc.at, func(t *testing.T) {
			f := newFixture(t, ny)
			f.clock.set(tc.from)
			f.set(t, assets.Host, 1, tc.at, true, nil)
			perDay := map[int]int{}
			for now := tc.from; now.Before(tc.to); now = now.Add(10 * time.Minute) {
				for _, c := range f.tickAt(t, now) {
					perDay[c.At.In(ny).Day()]++
				}
			}
			if len(perDay) != 4 {
				t.Fatalf("runs per day %v, want one on each of 4 days", perDay)
			}
			for d, n := range perDay {
				if n != 1 {
					t.Errorf("day %d: %d runs, want 1", d, n)
				}
			}
		})
	}
}

func TestNextRuns(t *testing.T) {
	sh := mustLoad(t, "Asia/Shanghai")
	f := newFixture(t, sh) // t0 is 03-01 18:00 in Shanghai
	runs, err := f.s.NextRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Fatalf("next runs with every task off: %v", runs)
	}
	f.set(t, assets.Host, 1, "03:00:00", true, nil)
	f.set(t, assets.Container, 3, "21:30:00", true, nil)
	f.set(t, assets.Image, 1, "03:00:00", true, nil) // no standards
	want := map[int64]time.Time{
		f.task(t, assets.Host).ID:      time.Date(2026, 3, 2, 3, 0, 0, 0, sh),
		f.task(t, assets.Container).ID: time.Date(2026, 3, 1, 21, 30, 0, 0, sh),
	}
	check := func() {
		t.Helper()
		runs, err := f.s.NextRuns(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != len(want) {
			t.Fatalf("next runs %v, want %v", runs, want)
		}
		for id, at := range want {
			if !runs[id].Equal(at) || runs[id].Location() != sh {
				t.Errorf("task %d: next run %v, want %v", id, runs[id], at)
			}
		}
	}
	check()
	wantCalls(t, f.tickAt(t, time.Date(2026, 3, 1, 21, 30, 0, 0, sh)), assets.Container)
	want[f.task(t, assets.Container).ID] = time.Date(2026, 3, 4, 21, 30, 0, 0, sh)
	check()
	// Overdue: the past due time is listed until a Tick starts it.
	f.clock.set(time.Date(2026, 3, 2, 9, 0, 0, 0, sh))
	check()
}

// The cron schedule's next wake-up, at given times.
func TestCronSchedule(t *testing.T) {
	f := newFixture(t, time.UTC)
	sched := cronSchedule{ctx: context.Background(), s: f.s}
	at := func(d, h, m, s int) time.Time { return time.Date(2026, 3, d, h, m, s, 0, time.UTC) }
	want := func(from, to time.Time) {
		t.Helper()
		if got := sched.Next(from); !got.Equal(to) {
			t.Fatalf("Next(%v) = %v, want %v", from, got, to)
		}
	}
	// Nothing enabled: look again in a minute.
	want(t0, t0.Add(time.Minute))

	f.set(t, assets.Host, 1, "03:00:00", true, nil)
	f.set(t, assets.Container, 3, "04:00:00", true, nil)
	// The next due time when it is within a minute, else a poll a minute
	// later (for rules changed by another process).
	want(at(2, 2, 59, 30), at(2, 3, 0, 0))
	want(t0, t0.Add(time.Minute))
	// At least 1 s later.
	want(at(2, 2, 59, 59).Add(500*time.Millisecond), at(2, 3, 0, 0).Add(500*time.Millisecond))
	// Due and not marked yet (the job just started): look again in a minute.
	want(at(2, 3, 0, 0), at(2, 3, 1, 0))

	wantCalls(t, f.tickAt(t, at(2, 3, 0, 0)), assets.Host)
	// Then the container task: the earliest of the two.
	want(at(2, 3, 59, 30), at(2, 4, 0, 0))

	// A refused task is looked at again after RetryAfter.
	f.run.fail(assets.Container, store.ErrAlreadyScanning)
	wantCalls(t, f.tickAt(t, at(2, 4, 0, 0)), assets.Container)
	want(at(2, 4, 4, 30), at(2, 4, 5, 0))
	want(at(2, 4, 0, 0), at(2, 4, 1, 0))
}

// Run catches up at once, then stops with its context.
func TestRunCatchUpAndStop(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.set(t, assets.Host, 1, "03:00:00", true, nil)
	f.set(t, assets.Container, 1, "03:00:00", true, nil)
	f.clock.set(t0.AddDate(0, 0, 10)) // the daemon was down
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.run.after = cancel // the daemon shuts down right after the first start

	if err := f.s.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The host task was started and marked; the container task was not
	// started after the shutdown began.
	wantCalls(t, f.run.take(), assets.Host)
	if last := f.task(t, assets.Host).LastTriggerTime; !last.Equal(f.clock.now()) {
		t.Errorf("LastTriggerTime = %v, want %v", last, f.clock.now())
	}
	if logs := f.logs.String(); !strings.Contains(logs, "scheduler stopped") {
		t.Errorf("no stop logged:\n%s", logs)
	}

	// Only one loop at a time.
	f.s.running.Store(true)
	if err := f.s.Run(context.Background()); err == nil {
		t.Error("a second Run was accepted")
	}
	f.s.running.Store(false)
}

func TestReloadDoesNotBlock(t *testing.T) {
	f := newFixture(t, time.UTC)
	for range 5 {
		f.s.Reload()
	}
}

// A scheduler without a start function only answers NextRuns (as the CLI's
// schedule show uses it).
func TestReadOnlyScheduler(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.set(t, assets.Host, 1, "03:00:00", true, nil)
	s := New(f.st, nil, Options{Location: time.UTC, Now: f.clock.now, Logger: slog.New(slog.DiscardHandler)})
	runs, err := s.NextRuns(context.Background())
	if err != nil || len(runs) != 1 {
		t.Fatalf("NextRuns = %v, %v", runs, err)
	}
	if err := s.Tick(context.Background()); err == nil {
		t.Error("Tick without a start function succeeded")
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("Run without a start function succeeded")
	}
}
