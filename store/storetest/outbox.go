package storetest

// The outbox's contract, run on every backend by this package's tests
// (TestOutboxContract).

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// OutboxBackend is what the outbox contract needs of a store: the
// OutboxStore role, and tasks to record uploads as.
type OutboxBackend interface {
	store.OutboxStore
	store.TaskStore
	store.CatalogStore
}

// Outbox checks a store's OutboxStore role: the node's outbox (oldest
// first, attempts recorded, acknowledged entries removed, bounded with
// the oldest dropped and counted) and the upstream's applied uploads
// (recorded with the ingest, a key applied once per node). st must be
// empty; cat must hold at least one automated host item.
func Outbox(t *testing.T, st OutboxBackend, cat *checks.Catalog) {
	t.Helper()
	t.Run("store id", func(t *testing.T) { outboxStoreID(t, st) })
	t.Run("queue", func(t *testing.T) { outboxQueue(t, st) })
	t.Run("bound", func(t *testing.T) { outboxBound(t, st) })
	t.Run("applied uploads", func(t *testing.T) { appliedUploads(t, st, cat) })
}

func outboxStoreID(t *testing.T, st OutboxBackend) {
	ctx := context.Background()
	a, err := st.StoreID(ctx)
	if err != nil || len(a) < 16 {
		t.Fatalf("StoreID: %q, %v; want a random id of at least 16 characters", a, err)
	}
	if b, err := st.StoreID(ctx); err != nil || b != a {
		t.Errorf("StoreID again: %q, %v; want %q", b, err, a)
	}
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func entry(task int64) store.OutboxEntry {
	return store.OutboxEntry{TaskID: task, Key: "node-1/store/" + string(rune('a'+task)), Payload: []byte{byte(task), 1, 2},
		EnqueuedAt: t0.Add(time.Duration(task) * time.Minute)}
}

func head(t *testing.T, st OutboxBackend) store.OutboxEntry {
	t.Helper()
	e, ok, err := st.OutboxHead(context.Background())
	if err != nil || !ok {
		t.Fatalf("OutboxHead: %v, ok %v", err, ok)
	}
	return e
}

func stats(t *testing.T, st OutboxBackend) store.OutboxStats {
	t.Helper()
	s, err := st.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ack removes the outbox's head, which must be task's.
func ack(t *testing.T, st OutboxBackend, task int64) {
	t.Helper()
	e := head(t, st)
	if e.TaskID != task {
		t.Fatalf("head is task %d, want %d", e.TaskID, task)
	}
	if err := st.AckOutbox(context.Background(), e.ID); err != nil {
		t.Fatal(err)
	}
}

func outboxQueue(t *testing.T, st OutboxBackend) {
	ctx := context.Background()
	if _, ok, err := st.OutboxHead(ctx); err != nil || ok {
		t.Fatalf("an empty outbox has a head: %v, %v", ok, err)
	}
	if s := stats(t, st); s.Depth != 0 || !s.Oldest.IsZero() || s.Dropped != 0 {
		t.Fatalf("an empty outbox's stats: %+v", s)
	}
	for _, task := range []int64{1, 2, 3} {
		if dropped, err := st.EnqueueOutbox(ctx, entry(task), 0); err != nil || len(dropped) != 0 {
			t.Fatalf("enqueue %d: dropped %v, %v", task, dropped, err)
		}
	}
	if _, err := st.EnqueueOutbox(ctx, entry(2), 0); err == nil {
		t.Error("an idempotency key enqueued twice was accepted")
	}
	if s := stats(t, st); s.Depth != 3 || !s.Oldest.Equal(t0.Add(time.Minute)) {
		t.Errorf("stats %+v, want 3 entries, the oldest enqueued at %s", s, t0.Add(time.Minute))
	}
	first := head(t, st)
	want := entry(1)
	if first.TaskID != 1 || first.Key != want.Key || string(first.Payload) != string(want.Payload) || !first.EnqueuedAt.Equal(want.EnqueuedAt) || first.Attempts != 0 {
		t.Fatalf("head %+v, want task 1's entry %+v", first, want)
	}
	next := t0.Add(time.Hour)
	if err := st.RetryOutbox(ctx, first.ID, "connection refused", next); err != nil {
		t.Fatal(err)
	}
	if err := st.RetryOutbox(ctx, first.ID, "busy", next.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if e := head(t, st); e.ID != first.ID || e.Attempts != 2 || e.LastError != "busy" || !e.NextAttempt.Equal(next.Add(time.Minute)) {
		t.Errorf("after two failed attempts the head is %+v; want task 1 with 2 attempts, the last error and the next attempt", e)
	}
	for _, task := range []int64{1, 2, 3} {
		ack(t, st, task)
	}
	if s := stats(t, st); s.Depth != 0 || s.Dropped != 0 {
		t.Errorf("after acknowledging every entry: %+v", s)
	}
	if err := st.AckOutbox(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("acknowledging an entry twice: %v, want ErrNotFound", err)
	}
}

func outboxBound(t *testing.T, st OutboxBackend) {
	ctx := context.Background()
	for task := int64(4); task <= 6; task++ {
		if dropped, err := st.EnqueueOutbox(ctx, entry(task), 3); err != nil || len(dropped) != 0 {
			t.Fatalf("enqueue %d into a bound of 3: dropped %v, %v", task, dropped, err)
		}
	}
	dropped, err := st.EnqueueOutbox(ctx, entry(7), 3)
	if err != nil || len(dropped) != 1 || dropped[0].TaskID != 4 {
		t.Fatalf("enqueue into a full outbox dropped %+v (%v); want the oldest, task 4", dropped, err)
	}
	if s := stats(t, st); s.Depth != 3 || s.Dropped != 1 || !s.Oldest.Equal(entry(5).EnqueuedAt) {
		t.Errorf("stats %+v, want 3 entries from task 5 and 1 dropped", s)
	}
	if err := st.DropOutbox(ctx, head(t, st).ID); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, st); s.Depth != 2 || s.Dropped != 2 {
		t.Errorf("after a refused entry is dropped: %+v, want 2 entries and 2 dropped", s)
	}
	ack(t, st, 6)
	ack(t, st, 7)
}

// uploadReport is a scan of one host asset: each automated host item of
// cat passes.
func uploadReport(cat *checks.Catalog, hostID uint64, node string) *results.Report {
	now := t0
	h := assets.Asset{ID: hostID, Type: assets.Host, Name: node, Ref: node, NodeName: node}
	rep := &results.Report{StartedAt: now, FinishedAt: now.Add(time.Second), Standards: cat.Standards, Items: cat.Items(), Assets: []assets.Asset{h}}
	for _, it := range cat.Items() {
		if it.AssetType == assets.Host && it.Automated {
			rep.Results = append(rep.Results, results.Result{ItemID: it.ID, AssetID: hostID, CheckedAt: now,
				Verdict: checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed}})
		}
	}
	return rep
}

func appliedUploads(t *testing.T, st OutboxBackend, cat *checks.Catalog) {
	ctx := context.Background()
	if err := st.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	record := func(node string, hostID uint64, key string) (store.Task, error) {
		t.Helper()
		task, err := st.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: node})
		if err != nil {
			t.Fatal(err)
		}
		err = st.CompleteUpload(ctx, task.ID, uploadReport(cat, hostID, node), node, key)
		return task, err
	}
	if _, ok, err := st.AppliedUpload(ctx, "node-1", "k1"); err != nil || ok {
		t.Fatalf("an unknown key is applied: %v, %v", ok, err)
	}
	first, err := record("node-1", 1, "k1")
	if err != nil {
		t.Fatal(err)
	}
	done, err := st.Task(ctx, first.ID)
	if err != nil || done.Status != checks.CheckFinished || done.ResultCount == 0 {
		t.Fatalf("the upload's task: %+v, %v; want finished with its results", done, err)
	}
	u, ok, err := st.AppliedUpload(ctx, "node-1", "k1")
	if err != nil || !ok || u.TaskID != first.ID || u.ResultCount != done.ResultCount {
		t.Fatalf("applied upload %+v (%v, %v); want task %d with %d results", u, ok, err, first.ID, done.ResultCount)
	}

	again, err := record("node-1", 1, "k1")
	if !errors.Is(err, store.ErrAlreadyApplied) {
		t.Fatalf("the same key applied again: %v, want ErrAlreadyApplied", err)
	}
	if k, _ := st.Task(ctx, again.ID); k.Status != checks.CheckRunning || k.ResultCount != 0 {
		t.Errorf("a refused repeat stored something: %+v", k)
	}
	if err := st.FailTask(ctx, again.ID, "already applied"); err != nil {
		t.Fatal(err)
	}
	// Keys are per node: another node's upload under the same key lands.
	other, err := record("node-2", 2, "k1")
	if err != nil {
		t.Fatalf("another node's key: %v", err)
	}
	if u, ok, _ := st.AppliedUpload(ctx, "node-2", "k1"); !ok || u.TaskID != other.ID {
		t.Errorf("node-2's key: %+v, %v; want task %d", u, ok, other.ID)
	}
}
