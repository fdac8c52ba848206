package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/storetest"
)

// The outbox contract (a node's outbox, an upstream's applied uploads) on
// a fresh store of every backend.
func TestOutboxContract(t *testing.T) { each(t, tOutboxContract) }

func tOutboxContract(t *testing.T, f *fixture) {
	st, ok := f.DB.(storetest.OutboxBackend)
	if !ok {
		t.Fatalf("%T does not offer store.OutboxStore", f.DB)
	}
	storetest.Outbox(t, st, f.Cat)
}

// A store is ready while open with every migration applied; not at an
// older schema version, and not once closed.
func TestReady(t *testing.T) { eachPlace(t, tReady) }

func tReady(t *testing.T, p *place) {
	ctx := context.Background()
	db := p.open(t, time.Now, 0)
	hc, ok := db.(store.HealthChecker)
	if !ok {
		t.Fatalf("%T does not offer store.HealthChecker", db)
	}
	if err := hc.Ready(ctx); err != nil {
		t.Fatalf("an open store is not ready: %v", err)
	}
	p.exec(t, fmt.Sprintf(p.setVersion, store.SchemaVersion-1))
	if err := hc.Ready(ctx); err == nil {
		t.Error("a store at an older schema version is ready")
	}
	p.exec(t, fmt.Sprintf(p.setVersion, store.SchemaVersion))
	if err := hc.Ready(ctx); err != nil {
		t.Errorf("ready again at the current version: %v", err)
	}
	db.Close()
	if err := hc.Ready(ctx); err == nil {
		t.Error("a closed store is ready")
	}
}

// An applied upload's key is remembered for store.AppliedUploadRetention:
// within it a repeat is refused, after it the key is pruned and a repeat
// is recorded again.
func TestAppliedUploadRetention(t *testing.T) { each(t, tAppliedUploadRetention) }

func tAppliedUploadRetention(t *testing.T, f *fixture) {
	ctx := context.Background()
	st := f.DB.(store.OutboxStore)
	upload := func() error {
		t.Helper()
		task, err := f.DB.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: "node-1"})
		if err != nil {
			t.Fatal(err)
		}
		err = st.CompleteUpload(ctx, task.ID, f.BuildReport(map[uint64][]string{storetest.HostID: {storetest.P, storetest.F}}), "node-1", "k1")
		if err != nil {
			if ferr := f.DB.FailTask(ctx, task.ID, "refused"); ferr != nil {
				t.Fatal(ferr)
			}
		}
		return err
	}
	if err := upload(); err != nil {
		t.Fatal(err)
	}
	f.Clock.Step(store.AppliedUploadRetention - time.Hour)
	if err := upload(); !errors.Is(err, store.ErrAlreadyApplied) {
		t.Fatalf("a repeat within the retention: %v, want ErrAlreadyApplied", err)
	}
	f.Clock.Step(2 * time.Hour)
	if err := upload(); err != nil {
		t.Fatalf("a repeat after the retention: %v, want it recorded", err)
	}
	if u, ok, err := st.AppliedUpload(ctx, "node-1", "k1"); err != nil || !ok || !u.AppliedAt.Equal(f.Clock.Now()) {
		t.Errorf("the key after the retention: %+v, %v, %v; want applied now", u, ok, err)
	}
}

// An upload applied through one handle on the store is refused as already
// applied through another (replicas sharing one database).
func TestAppliedUploadSeenByAnotherHandle(t *testing.T) { each(t, tAppliedUploadSeenByAnotherHandle) }

func tAppliedUploadSeenByAnotherHandle(t *testing.T, f *fixture) {
	ctx := context.Background()
	other := f.reopen(t)
	rep := f.BuildReport(map[uint64][]string{storetest.HostID: {storetest.P, storetest.F}})
	upload := func(db store.Store) (store.Task, error) {
		t.Helper()
		task, err := db.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: "node-1"})
		if err != nil {
			t.Fatal(err)
		}
		return task, db.(store.OutboxStore).CompleteUpload(ctx, task.ID, rep, "node-1", "k1")
	}
	first, err := upload(f.DB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload(other); !errors.Is(err, store.ErrAlreadyApplied) {
		t.Fatalf("the same upload through another handle: %v, want ErrAlreadyApplied", err)
	}
	if u, ok, err := other.(store.OutboxStore).AppliedUpload(ctx, "node-1", "k1"); err != nil || !ok || u.TaskID != first.ID {
		t.Errorf("the key through the other handle: %+v, %v, %v; want task %d", u, ok, err, first.ID)
	}
}
