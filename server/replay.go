package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/store"
)

// RepeatWindow is how long after its first use a signature may be used
// again by a request that does not sign a nonce. The SDK's common client
// signs the content type and the host only, with a timestamp of
// one-second resolution: requests with the same parameters sent within
// one second carry the same signature, whatever their actions
// (CreateComplianceTask and then DescribeComplianceTaskAssetSummary with
// the same AssetTypeSet, an idempotent write sent twice, two parameterless
// calls), and they arrive within moments of each other. A request
// replayed later is refused, whatever its action.
const RepeatWindow = 5 * time.Second

// Bounds of the replay cache.
const (
	// maxRemembered bounds the signatures held in memory (the store keeps
	// them all).
	maxRemembered = 200_000
	// maxPending bounds the uses kept for the store while it is busy.
	maxPending = 10_000
	// storeWait is how long a request waits for the store to record its
	// signature; storeBackoff is how long the store is then left alone
	// (signatures are remembered in memory and recorded later).
	storeWait    = 500 * time.Millisecond
	storeBackoff = 2 * time.Second
)

// replayCache refuses a signature used before, unless the use is an
// allowed repeat (see replayAllowed). The store is the record that all
// daemons serving it share; the memory in front of it answers the repeats
// this daemon saw and keeps working when the store is busy (a long ingest
// holds its write lock).
type replayCache struct {
	guard store.ReplayGuard
	log   *slog.Logger

	mu        sync.Mutex
	seen      map[string]store.SignatureUse
	nextPrune time.Time
	pending   []store.SignatureUse
	flushing  bool
	skipUntil time.Time
}

func newReplayCache(guard store.ReplayGuard, log *slog.Logger) *replayCache {
	return &replayCache{guard: guard, log: log, seen: map[string]store.SignatureUse{}}
}

// replayAllowed reports whether a signature first used as first may be
// used again as u: never when the request signs a nonce (unique), within
// RepeatWindow of the first use otherwise.
func replayAllowed(first, u store.SignatureUse, unique bool) bool {
	return !unique && u.At.Sub(first.At) <= RepeatWindow
}

// check records u, refusing it when its signature was used before and this
// is not an allowed repeat.
func (c *replayCache) check(ctx context.Context, u store.SignatureUse, unique bool) *api.Error {
	first, seen := c.use(ctx, u)
	if !seen || replayAllowed(first, u, unique) {
		return nil
	}
	return errorf(api.AuthFailureSignature, "this signed request was already used (for %s at %s): a request is accepted once, so sign it anew",
		first.Action, first.At.UTC().Format(time.RFC3339))
}

// use records u, in memory and in the store, and returns its signature's
// first use when it was seen before.
func (c *replayCache) use(ctx context.Context, u store.SignatureUse) (store.SignatureUse, bool) {
	c.mu.Lock()
	if first, ok := c.seen[u.Signature]; ok {
		c.mu.Unlock()
		return first, true
	}
	c.remember(u)
	skip := u.At.Before(c.skipUntil)
	if skip {
		c.queue(u)
	}
	c.mu.Unlock()
	if skip {
		return u, false
	}
	sctx, cancel := context.WithTimeout(ctx, storeWait)
	first, seen, err := c.guard.UseSignature(sctx, u)
	cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.skipUntil = u.At.Add(storeBackoff)
		c.queue(u)
		c.log.Warn("request signatures kept in memory only for now: the store did not record one", "err", err)
		return u, false
	}
	if seen {
		c.seen[u.Signature] = first // another daemon's first use
	}
	if len(c.pending) > 0 && !c.flushing {
		c.flushing = true
		go c.flush(u.At)
	}
	return first, seen
}

// remember keeps a first use in memory (c.mu held), dropping expired ones
// from time to time.
func (c *replayCache) remember(u store.SignatureUse) {
	if u.At.After(c.nextPrune) {
		for sig, v := range c.seen {
			if v.Until.Before(u.At) {
				delete(c.seen, sig)
			}
		}
		c.nextPrune = u.At.Add(30 * time.Second)
	}
	if len(c.seen) < maxRemembered {
		c.seen[u.Signature] = u
	}
}

// queue keeps a use for the store (c.mu held).
func (c *replayCache) queue(u store.SignatureUse) {
	if len(c.pending) < maxPending {
		c.pending = append(c.pending, u)
	}
}

// flush records, in the background, the uses the store missed while it
// was busy; it stops at the first failure, keeping the rest for later.
func (c *replayCache) flush(now time.Time) {
	c.mu.Lock()
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()
	var rest []store.SignatureUse
	for i, u := range batch {
		if u.Until.Before(now) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeWait)
		_, _, err := c.guard.UseSignature(ctx, u)
		cancel()
		if err != nil {
			rest = batch[i:]
			break
		}
	}
	c.mu.Lock()
	for _, u := range rest {
		c.queue(u)
	}
	c.flushing = false
	c.mu.Unlock()
}
