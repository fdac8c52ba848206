package storetest_test

import (
	"context"
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
