package storetest_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// A daemon that nodes upload to prunes after every upload, on the same
// handle. Three nodes, each with a container of its own, upload in a
// random order with random verdicts, and the store is pruned to the
// newest two tasks after each upload: each prune leaves what a prune of
// every old task leaves, though the handle examines again only the old
// tasks of a node that has uploaded since. No old task keeps a result
// that is not the latest of its pair, and none is left without results.
// The tasks that still hold a node's latest results stay.
func TestPruneAfterUploadsOfManyNodes(t *testing.T) { each(t, tPruneAfterUploadsOfManyNodes) }

func tPruneAfterUploadsOfManyNodes(t *testing.T, f *fixture) {
	ctx := context.Background()
	const keep = 2
	nodes := map[string]uint64{"node-a": CtrA, "node-b": CtrB, "node-c": CtrC}
	names := []string{"node-a", "node-b", "node-c"}
	rnd := rand.New(rand.NewPCG(14, 5))
	codes := []string{P, F, M, NA, CF}
	last := map[string]int64{} // each node's newest task
	for round := range 12 {
		node := names[rnd.IntN(len(names))]
		if round < len(names) {
			node = names[round] // every node uploads once first
		}
		verdicts := make([]string, 4)
		for i := range verdicts {
			verdicts[i] = codes[rnd.IntN(len(codes))]
		}
		f.Clock.Step(time.Hour)
		task, err := f.DB.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: node, Types: []assets.Type{assets.Container}})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.DB.CompleteTask(ctx, task.ID, f.BuildReport(map[uint64][]string{nodes[node]: verdicts})); err != nil {
			t.Fatal(err)
		}
		last[node] = task.ID
		if _, err := f.DB.Prune(ctx, keep); err != nil {
			t.Fatal(err)
		}
		checkPruned(t, f, keep, nodes, last, round)
	}
}

// checkPruned checks what a prune to the newest keep tasks must leave.
func checkPruned(t *testing.T, f *fixture, keep int, nodes map[string]uint64, last map[string]int64, round int) {
	t.Helper()
	ctx := context.Background()
	latest := map[[2]uint64]int64{} // (asset, item) → the task of its latest result
	for _, id := range nodes {
		rows, _, err := f.DB.AssetItems(ctx, id, store.Query{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			latest[[2]uint64{r.AssetID, r.ItemID}] = r.TaskID
		}
	}
	tasks, _, err := f.DB.Tasks(ctx, store.Query{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[int64]bool{}
	for i, task := range tasks { // newest first
		kept[task.ID] = true
		n := 0
		err := f.DB.ResultRows(ctx, store.ResultQuery{TaskID: task.ID}, func(r results.Row) error {
			n++
			if i >= keep && latest[[2]uint64{r.AssetID, r.ItemID}] != task.ID {
				t.Errorf("round %d: old task %d keeps a result of (%d, %d) that is not the latest", round, task.ID, r.AssetID, r.ItemID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if i >= keep && n == 0 {
			t.Errorf("round %d: old task %d is left without results", round, task.ID)
		}
	}
	for node, id := range last {
		if !kept[id] {
			t.Errorf("round %d: %s's newest task %d, which holds its latest results, was deleted", round, node, id)
		}
	}
}
