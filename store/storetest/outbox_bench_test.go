package storetest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/baselinehq/baseline/store"
)

// BenchmarkBackendsOutbox measures a node's outbox on each backend: one
// task written (a 16 KiB payload, about a compressed node scan), read as
// the head and acknowledged; and one written into a full outbox of 1,000,
// which drops the oldest.
func BenchmarkBackendsOutbox(b *testing.B) {
	for _, be := range benchBackends {
		open := func(b *testing.B) store.OutboxStore { return be.open(b).db.(store.OutboxStore) }
		b.Run(be.name, func(b *testing.B) { benchOutbox(b, open) })
	}
}

func benchOutbox(b *testing.B, open func(b *testing.B) store.OutboxStore) {
	payload := make([]byte, 16<<10)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	ctx := context.Background()
	b.Run("EnqueueHeadAck", func(b *testing.B) {
		db := open(b)
		var task int64
		for b.Loop() {
			task++
			if _, err := db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000); err != nil {
				b.Fatal(err)
			}
			e, ok, err := db.OutboxHead(ctx)
			if err != nil || !ok {
				b.Fatal(err)
			}
			if err := db.AckOutbox(ctx, e.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EnqueueIntoAFullOutbox", func(b *testing.B) {
		db := open(b)
		var task int64
		for range 1000 {
			task++
			if _, err := db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			task++
			dropped, err := db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000)
			if err != nil || len(dropped) != 1 {
				b.Fatal(dropped, err)
			}
		}
	})
}
