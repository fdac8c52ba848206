// Package upstream forwards the tasks a daemon completes to another daemon
// (its upstream) with UploadComplianceScanResult. Tasks are sent one at a
// time in the order they completed, so that the upstream's latest results
// are the newest; each is retried a few times with a growing wait, then
// given up with a log line. Forwarding never delays or fails the local
// task, whose results stay in the local store either way.
package upstream

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// Defaults of Options.
const (
	DefaultRetries = 3
	DefaultBackoff = 10 * time.Second
	DefaultQueue   = 16
)

// Options configure a forwarder.
type Options struct {
	// Retries is how many times a failed upload is tried again (0: never;
	// the daemon's configuration defaults to DefaultRetries).
	Retries int
	// Backoff is the wait before the first retry, doubled before each
	// next one (default DefaultBackoff).
	Backoff time.Duration
	// Queue is how many completed tasks may wait to be sent (default
	// DefaultQueue); a task completed while it is full is not forwarded.
	Queue  int
	Logger *slog.Logger
}

type job struct {
	task   int64
	upload api.ScanUpload
}

// Forwarder uploads completed tasks to the upstream daemon.
type Forwarder struct {
	c       *client.Client
	retries int
	backoff time.Duration
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	closed bool
	queue  chan job
}

// New starts a forwarder to the daemon c calls.
func New(c *client.Client, opts Options) *Forwarder {
	opts.Retries = max(opts.Retries, 0)
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Forwarder{c: c, retries: opts.Retries, backoff: opts.Backoff, log: log.With("component", "upstream", "upstream", c.Endpoint()),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), queue: make(chan job, opts.Queue)}
	go f.run()
	return f
}

// Forward queues a completed task for upload and returns at once (it
// fits runner.Options.Completed).
func (f *Forwarder) Forward(task store.Task, rep *results.Report) {
	j := job{task: task.ID, upload: api.NewScanUpload(task.Scope, rep)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		f.log.Error("task not forwarded: shutting down", "task", task.ID)
		return
	}
	select {
	case f.queue <- j:
	default:
		f.log.Error("task not forwarded: too many tasks wait to be sent", "task", task.ID, "waiting", cap(f.queue))
	}
}

// Close stops taking tasks and sends those queued until ctx ends; then
// the upload under way is interrupted and the rest are given up, each
// with a log line.
func (f *Forwarder) Close(ctx context.Context) {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.queue)
	}
	f.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		f.cancel()
		<-f.done
	}
	f.cancel()
}

func (f *Forwarder) run() {
	defer close(f.done)
	for j := range f.queue {
		if f.ctx.Err() != nil {
			f.log.Error("task not forwarded: shutting down", "task", j.task)
			continue
		}
		f.send(j)
	}
}

// send uploads one task, retrying what may pass later (the upstream
// unreachable or busy) and giving up at once on a refusal.
func (f *Forwarder) send(j job) {
	wait := f.backoff
	for attempt := 1; ; attempt++ {
		id, err := f.c.Upload(f.ctx, j.upload)
		if err == nil {
			f.log.Info("task forwarded", "task", j.task, "upstream_task", id, "attempts", attempt)
			return
		}
		if !retryable(err) || attempt > f.retries || f.ctx.Err() != nil {
			f.log.Error("task not forwarded", "task", j.task, "attempts", attempt, "err", err.Error())
			return
		}
		f.log.Warn("forwarding failed; will retry", "task", j.task, "attempt", attempt, "retry_in", wait.String(), "err", err.Error())
		select {
		case <-time.After(wait):
		case <-f.ctx.Done():
			f.log.Error("task not forwarded: shutting down", "task", j.task, "attempts", attempt, "err", err.Error())
			return
		}
		wait *= 2
	}
}

// retryable: the upstream could not be reached or answered with a
// failure of its own (overloaded, busy with the same scope, an internal
// error); a refusal of the upload itself (a bad key, an unknown item, a
// body too large) would be refused again.
func retryable(err error) bool {
	var ae *api.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case api.InternalError, api.RequestLimitExceeded, api.ErrAlreadyScanning:
			return true
		}
		return false
	}
	return true
}
