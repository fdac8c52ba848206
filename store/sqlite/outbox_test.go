package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/baselinehq/baseline/store"
)

// BenchmarkOutbox measures a node's outbox: one task written (a 16 KiB
// payload, about a compressed node scan), read as the head and
// acknowledged; and one written into a full outbox of 1,000, which drops
// the oldest.
func BenchmarkOutbox(b *testing.B) {
	payload := make([]byte, 16<<10)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	ctx := context.Background()
	b.Run("EnqueueHeadAck", func(b *testing.B) {
		f := newFixture(b)
		var task int64
		for b.Loop() {
			task++
			if _, err := f.db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000); err != nil {
				b.Fatal(err)
			}
			e, ok, err := f.db.OutboxHead(ctx)
			if err != nil || !ok {
				b.Fatal(err)
			}
			if err := f.db.AckOutbox(ctx, e.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EnqueueIntoAFullOutbox", func(b *testing.B) {
		f := newFixture(b)
		var task int64
		for range 1000 {
			task++
			if _, err := f.db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			task++
			dropped, err := f.db.EnqueueOutbox(ctx, store.OutboxEntry{TaskID: task, Key: fmt.Sprint("k", task), Payload: payload}, 1000)
			if err != nil || len(dropped) != 1 {
				b.Fatal(dropped, err)
			}
		}
	})
}
