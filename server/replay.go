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
	group     []groupedUse // uses waiting for the next group commit
	writing   bool         // a group commit is under way
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

// seenHere reports whether this daemon has seen the signature used.
func (c *replayCache) seenHere(signature string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.seen[signature]
	return ok
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
	first, seen, err := c.record(ctx, u)
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

// groupedUse is a use waiting for its group commit, and where its answer
// goes.
type groupedUse struct {
	use  store.SignatureUse
	done chan groupAnswer
}

type groupAnswer struct {
	seen store.SignatureSeen
	err  error
}

// record writes u to the store, and returns only once it is committed.
// With a store that records uses in batches (store.SignatureBatcher), the
// uses that arrive while a transaction commits are committed together by
// the next one (group commit), instead of each request taking the
// store's write lock in turn: a replayed signature is still refused by
// every daemon on the store, since no request is accepted before its use
// is committed.
func (c *replayCache) record(ctx context.Context, u store.SignatureUse) (store.SignatureUse, bool, error) {
	batcher, ok := c.guard.(store.SignatureBatcher)
	if !ok {
		sctx, cancel := context.WithTimeout(ctx, storeWait)
		defer cancel()
		return c.guard.UseSignature(sctx, u)
	}
	done := make(chan groupAnswer, 1)
	c.mu.Lock()
	c.group = append(c.group, groupedUse{use: u, done: done})
	lead := !c.writing
	c.writing = true
	c.mu.Unlock()
	if lead {
		c.commitGroups(batcher)
	}
	a := <-done
	return a.seen.First, a.seen.Seen, a.err
}

// commitGroups commits the waiting uses in one transaction; the uses that
// arrived meanwhile are committed next, by another goroutine, so that the
// request leading a group is answered as soon as its group is.
func (c *replayCache) commitGroups(batcher store.SignatureBatcher) {
	c.mu.Lock()
	group := c.group
	c.group = nil
	c.mu.Unlock()
	uses := make([]store.SignatureUse, len(group))
	for i, g := range group {
		uses[i] = g.use
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	seen, err := batcher.UseSignatures(ctx, uses)
	cancel()
	for i, g := range group {
		a := groupAnswer{err: err}
		if err == nil {
			a.seen = seen[i]
		}
		g.done <- a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.group) == 0 {
		c.writing = false
		return
	}
	go c.commitGroups(batcher)
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
