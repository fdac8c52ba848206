// Package upstream forwards the tasks a daemon completes to another daemon
// (its upstream) with UploadComplianceScanResult, exactly once and in the
// order they completed. Each completed task is first written to the
// daemon's own store (its outbox), so that it survives a restart; the
// oldest entry is sent, with an idempotency key that the upstream records
// with the upload, and removed only once the upstream acknowledges it. A
// failure the upstream may get over (unreachable, busy, overloaded) is
// retried with a doubling wait; a refusal is logged and the entry dropped.
// Forwarding never delays or fails the local task, whose results stay in
// the local store either way.
package upstream

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// Defaults of Options.
const (
	DefaultBackoff    = 10 * time.Second
	DefaultMaxBackoff = 10 * time.Minute
	// DefaultOutboxSize holds a week of hourly tasks of every asset type
	// with room to spare.
	DefaultOutboxSize = 1000
)

// Options configure a forwarder.
type Options struct {
	// Backoff is the wait after the first failed attempt of an entry
	// (default DefaultBackoff), doubled after each next one up to
	// MaxBackoff (default DefaultMaxBackoff).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// OutboxSize bounds the outbox (default DefaultOutboxSize): a task
	// completed while it is full pushes the oldest entry out, unsent, with
	// a warning in the log.
	OutboxSize int
	Logger     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Forwarder uploads completed tasks to the upstream daemon through the
// outbox of the daemon's store.
type Forwarder struct {
	c       *client.Client
	outbox  store.OutboxStore
	storeID string
	opts    Options
	log     *slog.Logger

	// wake is signalled when an entry is queued; stop is closed by Close
	// (no new attempt starts); ctx is cancelled when Close's wait ends (the
	// attempt under way is interrupted).
	wake   chan struct{}
	stop   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New starts a forwarder that sends the outbox of st to the daemon c
// calls, beginning with what a previous run left in it.
func New(ctx context.Context, c *client.Client, st store.OutboxStore, opts Options) (*Forwarder, error) {
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.Backoff)
	if opts.OutboxSize <= 0 {
		opts.OutboxSize = DefaultOutboxSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	id, err := st.StoreID(ctx)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	fctx, cancel := context.WithCancel(context.Background())
	f := &Forwarder{c: c, outbox: st, storeID: id, opts: opts, log: log.With("component", "upstream", "upstream", c.Endpoint()),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), ctx: fctx, cancel: cancel, done: make(chan struct{})}
	if s, err := st.OutboxStats(ctx); err == nil && s.Depth > 0 {
		f.log.Info("tasks wait in the outbox", "waiting", s.Depth, "oldest", s.Oldest.Format(time.RFC3339))
	}
	go f.run()
	return f, nil
}

// Key is the idempotency key of a task's upload: the node, the store's
// random id and the task's id, so that no other task of any store sends
// the same key.
func Key(node, storeID string, task int64) string {
	return node + "/" + storeID + "/" + strconv.FormatInt(task, 10)
}

// Forward writes a completed task to the outbox and returns (it fits
// runner.Options.Completed); the upload is sent in the background.
func (f *Forwarder) Forward(task store.Task, rep *results.Report) {
	u := api.NewScanUpload(task.Scope, rep)
	u.IdempotencyKey = Key(u.Scope.Node, f.storeID, task.ID)
	payload, err := encode(u)
	if err == nil {
		var dropped []store.OutboxEntry
		dropped, err = f.outbox.EnqueueOutbox(context.Background(), store.OutboxEntry{TaskID: task.ID, Key: u.IdempotencyKey, Payload: payload,
			EnqueuedAt: f.opts.Now()}, f.opts.OutboxSize)
		for _, d := range dropped {
			f.log.Warn("outbox full: the oldest task is dropped unsent", "task", d.TaskID, "enqueued", d.EnqueuedAt.Format(time.RFC3339),
				"attempts", d.Attempts, "outbox_size", f.opts.OutboxSize)
		}
	}
	if err != nil {
		f.log.Error("task not queued for upload", "task", task.ID, "err", err.Error())
		return
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Close stops sending: an upload under way may finish until ctx ends,
// then it is interrupted. Entries not acknowledged stay in the outbox for
// the next start.
func (f *Forwarder) Close(ctx context.Context) {
	f.once.Do(func() { close(f.stop) })
	select {
	case <-f.done:
	case <-ctx.Done():
		f.cancel()
		<-f.done
	}
	f.cancel()
}

// sleep waits for d, or until an entry is queued when wakeable; it
// reports false when the forwarder stops.
func (f *Forwarder) sleep(d time.Duration, wakeable bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var wake chan struct{}
	if wakeable {
		wake = f.wake
	}
	select {
	case <-t.C:
	case <-wake:
	case <-f.stop:
		return false
	}
	return true
}

func (f *Forwarder) run() {
	defer close(f.done)
	for {
		select {
		case <-f.stop:
			return
		default:
		}
		e, ok, err := f.outbox.OutboxHead(context.Background())
		switch {
		case err != nil:
			f.log.Error("reading the outbox", "err", err.Error())
			if !f.sleep(f.opts.Backoff, false) {
				return
			}
		case !ok:
			if !f.sleep(time.Hour, true) {
				return
			}
		case e.NextAttempt.After(f.opts.Now()):
			if !f.sleep(e.NextAttempt.Sub(f.opts.Now()), false) {
				return
			}
		default:
			f.send(e)
		}
	}
}

// send makes one attempt at the oldest entry: acknowledged, it leaves the
// outbox; refused, it is dropped; otherwise its next attempt is set.
func (f *Forwarder) send(e store.OutboxEntry) {
	bg := context.Background()
	// The entry holds the upload's document, compressed, idempotency key
	// included (Forward): it is sent as it decompresses, after a first
	// pass that measures it and computes the digest its signature needs,
	// never decoded.
	size, sum, err := digest(e.Payload)
	if err != nil {
		f.log.Error("task not forwarded: its outbox entry is unreadable", "task", e.TaskID, "err", err.Error())
		f.storeErr(f.outbox.DropOutbox(bg, e.ID))
		return
	}
	var out api.UploadComplianceScanResultResponse
	doc, err := gzip.NewReader(bytes.NewReader(e.Payload))
	if err == nil {
		out, err = f.c.UploadDocument(f.ctx, doc, size, sum)
	}
	attempt := e.Attempts + 1
	switch {
	case err == nil:
		f.log.Info("task forwarded", "task", e.TaskID, "upstream_task", out.TaskId, "attempts", attempt, "already_applied", out.AlreadyApplied)
		f.storeErr(f.outbox.AckOutbox(bg, e.ID))
	case f.ctx.Err() != nil:
		f.log.Warn("forwarding interrupted: the task stays in the outbox", "task", e.TaskID, "attempt", attempt)
	case !api.Retryable(err):
		f.log.Error("task not forwarded", "task", e.TaskID, "attempts", attempt, "err", err.Error())
		f.storeErr(f.outbox.DropOutbox(bg, e.ID))
	default:
		wait := f.backoff(e.Attempts)
		f.log.Warn("forwarding failed; will retry", "task", e.TaskID, "attempt", attempt, "retry_in", wait.String(), "err", err.Error())
		f.storeErr(f.outbox.RetryOutbox(bg, e.ID, api.Clip(err.Error(), 1024), f.opts.Now().Add(wait)))
	}
}

// storeErr logs a failed outbox update and waits a moment; an entry gone
// meanwhile (pushed out of a full outbox) is no failure.
func (f *Forwarder) storeErr(err error) {
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		f.log.Error("updating the outbox", "err", err.Error())
		f.sleep(f.opts.Backoff, false)
	}
}

// backoff is the wait after an entry's failed attempt when it failed
// `failed` times before: Backoff doubled as often, at most MaxBackoff.
func (f *Forwarder) backoff(failed int) time.Duration {
	wait := f.opts.Backoff
	for range failed {
		if wait >= f.opts.MaxBackoff/2 {
			return f.opts.MaxBackoff
		}
		wait *= 2
	}
	return min(wait, f.opts.MaxBackoff)
}

// encode writes an upload as the outbox keeps it: gzip-compressed JSON.
func encode(u api.ScanUpload) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(u); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// digest reads an entry's document, as encode wrote it: its length and
// its SHA-256 (lower-case hex). A payload that is not whole (a gzip
// stream cut or altered) is an error.
func digest(payload []byte) (size int64, sum string, err error) {
	zr, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	if size, err = io.Copy(h, zr); err != nil {
		return 0, "", err
	}
	if err := zr.Close(); err != nil {
		return 0, "", err
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}
