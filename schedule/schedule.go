// Package schedule runs the period tasks of a store: it works out when
// each enabled period task is next due and starts its scan then, once per
// due time, without overlapping a running task of the same scope. The
// production loop is driven by robfig/cron; the clock is injected so that
// tests step time instead of sleeping.
//
// # When a period task is due
//
// A rule says "every Frequency days at ExecutionTime" in the scheduler's
// time zone. [Next] computes one run from a rule; [Due] picks the anchor
// for a stored task:
//
//   - A task that has run is next due Frequency calendar days after the
//     day (in the time zone) of its last trigger, at ExecutionTime. A
//     catch-up run at an odd hour therefore does not shift the time of day,
//     and a task that missed several periods (the daemon was down) is due
//     once, not once per missed period.
//   - A task that never ran is due at the first ExecutionTime strictly
//     after its UpdatedAt, the time its rule or standards were last set
//     (for a new task, when it was created).
//   - A task whose rule or standards were set after its last trigger is due
//     at the later of the two times above. The new rule takes effect from
//     the moment it is set: a slot the new rule "missed" before it existed
//     never fires at once (switching a weekly task that ran 2 days ago to
//     daily waits for the next ExecutionTime rather than running right
//     away), and a task re-enabled after months off is not caught up on the
//     spot. The price: a catch-up owed after downtime is dropped if the rule
//     is edited before the daemon comes back.
//
// # Daylight saving time
//
// Run times are built with time.Date in the time zone, so a daily 03:00
// task runs at 03:00 local time on both sides of a switch (23 or 25 hours
// apart). When ExecutionTime falls in the hour skipped on a spring-forward
// day, or in the hour repeated on a fall-back day, time.Date normalises it
// to one instant, in one of the two offsets of the switch (Go does not
// promise which: in practice America/New_York 02:30 on a spring-forward day
// becomes 01:30 EST, and 01:30 on a fall-back day is the first, EDT, 01:30).
// Either way the task runs once on that day, since the next run is counted
// from the calendar day of the last one.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/baselinehq/baseline/store"
)

const (
	// DefaultRetryAfter is how long a task refused with
	// store.ErrAlreadyScanning waits before it is tried again.
	DefaultRetryAfter = 5 * time.Minute
	// pollEvery is the longest the cron loop sleeps between two Ticks: a
	// rule changed by another process (the CLI), which cannot call Reload,
	// takes effect within it, and so does a jump of the wall clock.
	pollEvery = time.Minute
	// minWake is the least delay between two cron wake-ups.
	minWake = time.Second
)

// Next is the next run of a period task with this rule, in loc (nil: the
// local zone). If the task ran before (last not zero), it is Frequency
// calendar days (in loc) after the day of last, at ExecutionTime; if it
// never ran, it is the first ExecutionTime strictly after from. Next is the
// zero time for an invalid rule. See the package comment for DST days.
func Next(rule store.PeriodRule, last, from time.Time, loc *time.Location) time.Time {
	if rule.Validate() != nil {
		return time.Time{}
	}
	at, err := time.Parse(time.TimeOnly, rule.ExecutionTime)
	if err != nil {
		return time.Time{}
	}
	if loc == nil {
		loc = time.Local
	}
	h, m, s := at.Clock()
	if !last.IsZero() {
		y, mo, d := last.In(loc).Date()
		return time.Date(y, mo, d+rule.Frequency, h, m, s, 0, loc)
	}
	y, mo, d := from.In(loc).Date()
	next := time.Date(y, mo, d, h, m, s, 0, loc)
	if !next.After(from) {
		next = time.Date(y, mo, d+1, h, m, s, 0, loc)
	}
	return next
}

// Due is when a stored period task is next due, in loc (zero for an
// invalid rule): Next from its last trigger, or from UpdatedAt when it
// never ran, and never before the first ExecutionTime after UpdatedAt when
// the rule was set after the last trigger. It ignores Enable and the
// standards switches. A due time in the past means the task is overdue.
func Due(pt store.PeriodTask, loc *time.Location) time.Time {
	due := Next(pt.Rule, pt.LastTriggerTime, pt.UpdatedAt, loc)
	if !pt.LastTriggerTime.IsZero() && pt.UpdatedAt.After(pt.LastTriggerTime) {
		if fresh := Next(pt.Rule, time.Time{}, pt.UpdatedAt, loc); fresh.After(due) {
			due = fresh
		}
	}
	return due
}

// Runnable reports whether a period task runs at all: it is enabled and at
// least one of its standards is switched on.
func Runnable(pt store.PeriodTask) bool {
	return pt.Rule.Enable && len(pt.EnabledStandards()) > 0
}

// Options configure a scheduler.
type Options struct {
	// Location is the time zone of the rules' ExecutionTime (default
	// time.Local).
	Location *time.Location
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// RetryAfter is how long a task refused because its scope is being
	// scanned waits before the next try (default DefaultRetryAfter).
	RetryAfter time.Duration
}

// Store is what the scheduler needs of the store: the period tasks, and
// recording when one fired.
type Store interface {
	PeriodTasks(ctx context.Context) ([]store.PeriodTask, error)
	MarkPeriodTriggered(ctx context.Context, id int64, at time.Time) error
}

// Scheduler starts the period tasks of a store when they are due.
type Scheduler struct {
	st         Store
	start      func(ctx context.Context, pt store.PeriodTask) error
	loc        *time.Location
	now        func() time.Time
	log        *slog.Logger
	retryAfter time.Duration

	tickMu sync.Mutex // one Tick at a time

	mu    sync.Mutex
	retry map[int64]retry // period task id → backoff after ErrAlreadyScanning

	reload  chan struct{}
	running atomic.Bool
}

// retry holds back a task due at due until at.
type retry struct{ due, at time.Time }

// New returns a scheduler for the period tasks of st. start begins the
// scan of a period task and returns once it is started (an error wrapping
// store.ErrAlreadyScanning when its scope is being scanned). start may be
// nil for a scheduler that only answers NextRuns; Tick and Run then fail.
func New(st Store, start func(ctx context.Context, pt store.PeriodTask) error, opts Options) *Scheduler {
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	return &Scheduler{st: st, start: start, loc: opts.Location, now: opts.Now, log: opts.Logger.With("component", "schedule"),
		retryAfter: opts.RetryAfter, retry: map[int64]retry{}, reload: make(chan struct{}, 1)}
}

// Tick starts every runnable period task that is due at the current time,
// once, and records it as triggered then. A task refused with
// store.ErrAlreadyScanning is not marked and is tried again no earlier than
// RetryAfter later; a task whose start fails otherwise is logged and marked
// (it waits for its next period). Tick returns the errors of reading the
// tasks and of marking them, not the start errors.
func (s *Scheduler) Tick(ctx context.Context) error {
	if s.start == nil {
		return errors.New("schedule: no start function")
	}
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	tasks, err := s.st.PeriodTasks(ctx)
	if err != nil {
		return fmt.Errorf("read period tasks: %w", err)
	}
	now := s.now()
	var errs []error
	for _, pt := range tasks {
		if _, at, ok := s.plan(pt); !ok || at.After(now) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := s.fire(ctx, pt, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fire starts a due period task and records it as triggered at now. On a
// store shared by several daemons (store.PeriodLock), it does so holding
// the task's lock and only if the task, read again, is still due: another
// daemon may have started it since.
func (s *Scheduler) fire(ctx context.Context, pt store.PeriodTask, now time.Time) error {
	if l, ok := s.st.(store.PeriodLock); ok {
		unlock, held, err := l.LockPeriod(ctx, pt.ID)
		if err != nil {
			return fmt.Errorf("lock period task %d: %w", pt.ID, err)
		}
		if !held {
			s.log.Debug("period task being started by another daemon", "period_task", pt.ID, "asset_type", pt.AssetType)
			return nil
		}
		defer unlock()
		fresh, found, err := s.reread(ctx, pt.ID)
		if err != nil {
			return err
		}
		if _, at, ok := s.plan(fresh); !found || !ok || at.After(now) {
			return nil
		}
		pt = fresh
	}
	due, _, _ := s.plan(pt)
	plog := s.log.With("period_task", pt.ID, "asset_type", pt.AssetType, "due", due)
	err := s.start(ctx, pt)
	switch {
	case errors.Is(err, store.ErrAlreadyScanning):
		s.mu.Lock()
		s.retry[pt.ID] = retry{due: due, at: now.Add(s.retryAfter)}
		s.mu.Unlock()
		plog.Warn("period task deferred: its scope is being scanned", "retry_at", now.Add(s.retryAfter), "err", err)
		return nil
	case err != nil:
		plog.Error("period task failed to start", "err", err)
	default:
		plog.Info("period task started", "standards", pt.EnabledStandards())
	}
	s.mu.Lock()
	delete(s.retry, pt.ID)
	s.mu.Unlock()
	// The scan is started: record it even if ctx ends meanwhile.
	if err := s.st.MarkPeriodTriggered(context.WithoutCancel(ctx), pt.ID, now); err != nil {
		plog.Error("period task not marked as triggered", "err", err)
		return fmt.Errorf("mark period task %d: %w", pt.ID, err)
	}
	return nil
}

// reread reads one period task again.
func (s *Scheduler) reread(ctx context.Context, id int64) (store.PeriodTask, bool, error) {
	tasks, err := s.st.PeriodTasks(ctx)
	if err != nil {
		return store.PeriodTask{}, false, fmt.Errorf("read period tasks: %w", err)
	}
	for _, pt := range tasks {
		if pt.ID == id {
			return pt, true, nil
		}
	}
	return store.PeriodTask{}, false, nil
}

// plan is when a task is due and when it may start (later than due while
// it is held back after ErrAlreadyScanning); ok is false when the task
// never runs.
func (s *Scheduler) plan(pt store.PeriodTask) (due, at time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !Runnable(pt) {
		delete(s.retry, pt.ID)
		return time.Time{}, time.Time{}, false
	}
	due = Due(pt, s.loc)
	if due.IsZero() {
		s.log.Warn("period task has an invalid rule", "period_task", pt.ID, "asset_type", pt.AssetType,
			"frequency", pt.Rule.Frequency, "execution_time", pt.Rule.ExecutionTime)
		return time.Time{}, time.Time{}, false
	}
	at = due
	if r, held := s.retry[pt.ID]; held {
		if !r.due.Equal(due) { // the rule or the last trigger changed
			delete(s.retry, pt.ID)
		} else if r.at.After(at) {
			at = r.at
		}
	}
	return due, at, true
}

// NextRuns is when each runnable period task (enabled, with a standard
// switched on) may next start, by period task id, in the scheduler's time
// zone: its due time, or later while it waits to be retried. A time in the
// past means the task is overdue (the next Tick starts it).
func (s *Scheduler) NextRuns(ctx context.Context) (map[int64]time.Time, error) {
	tasks, err := s.st.PeriodTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("read period tasks: %w", err)
	}
	out := map[int64]time.Time{}
	for _, pt := range tasks {
		if _, at, ok := s.plan(pt); ok {
			out[pt.ID] = at
		}
	}
	return out, nil
}

// wake is when the cron loop should next call Tick, after t: the earliest
// next run, a run already due counting as t + pollEvery (the job started
// at t is handling it, or failed to mark it); never after t + pollEvery
// (changes made by other processes, a clock jump), and never before
// t + minWake.
func (s *Scheduler) wake(ctx context.Context, t time.Time) time.Time {
	runs, err := s.NextRuns(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("cannot plan the next tick", "err", err)
		}
		return t.Add(pollEvery)
	}
	next := t.Add(pollEvery)
	for _, at := range runs {
		if at.After(t) && at.Before(next) {
			next = at
		}
	}
	if least := t.Add(minWake); next.Before(least) {
		next = least
	}
	return next.In(s.loc)
}

// cronSchedule is the cron.Schedule of the period tasks: it re-reads the
// store on each call.
type cronSchedule struct {
	ctx context.Context
	s   *Scheduler
}

// Next implements cron.Schedule.
func (c cronSchedule) Next(t time.Time) time.Time { return c.s.wake(c.ctx, t) }

// Reload makes a rule changed in this process (by the API) take effect at
// once in a running Run loop: the next wake-up is planned again from the
// store. Changes made by another process take effect within a minute, at
// the loop's next poll. Reload never blocks and does nothing when Run is
// not running.
func (s *Scheduler) Reload() {
	select {
	case s.reload <- struct{}{}:
	default: // a reload is already pending
	}
}

// Run is the production loop: a catch-up Tick at once (for the time the
// daemon was down), then a Tick at every due time and at least once a
// minute, planned by cron, until ctx ends. It then waits for a Tick in
// progress and returns nil. It refuses to run twice at once.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.start == nil {
		return errors.New("schedule: no start function")
	}
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("schedule: Run is already running")
	}
	defer s.running.Store(false)
	select { // drop reloads asked for before the loop ran
	case <-s.reload:
	default:
	}
	if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("catch-up tick failed", "err", err)
	}
	c := cron.New(cron.WithLocation(s.loc), cron.WithLogger(cronLogger{s.log}))
	sched := cronSchedule{ctx: ctx, s: s}
	job := cron.FuncJob(func() {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("tick failed", "err", err)
		}
		// cron planned the next wake-up when the job began, before Tick
		// marked the tasks it started: plan again from the store.
		s.Reload()
	})
	id := c.Schedule(sched, job)
	c.Start()
	s.log.Info("scheduler started", "location", s.loc.String())
	for {
		select {
		case <-ctx.Done():
			<-c.Stop().Done()
			s.log.Info("scheduler stopped")
			return nil
		case <-s.reload:
			c.Remove(id)
			id = c.Schedule(sched, job)
		}
	}
}

// cronLogger passes cron's messages to slog: its chatter at debug level.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	l.log.Debug("cron: "+msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.log.Error("cron: "+msg, append(keysAndValues, "err", err)...)
}
