package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/store"
)

// Uploads are held to their node: a key is bound by its first upload; an
// upload carrying an asset last recorded for another node is refused in
// its transaction, naming the asset and both nodes, and changes nothing;
// a full upload removes only its own node's assets, whatever host it
// names.
func TestUploadsHeldToTheirNode(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if node, err := f.db.BindUploadKey(ctx, "AKIDa", "node-a"); err != nil || node != "node-a" {
		t.Fatalf("first binding: %q, %v", node, err)
	}
	if node, err := f.db.BindUploadKey(ctx, "AKIDa", "node-b"); err != nil || node != "node-a" {
		t.Errorf("a second binding moved the key: %q, %v", node, err)
	}
	upload := func(node string, verdicts map[uint64][]string) (store.Task, error) {
		task, err := f.db.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: node, Types: []assets.Type{assets.Container}})
		if err != nil {
			t.Fatal(err)
		}
		err = f.db.CompleteTask(ctx, task.ID, f.buildReport(verdicts))
		if err != nil {
			_ = f.db.FailTask(ctx, task.ID, err.Error()) // as the runner does
		}
		return task, err
	}
	if _, err := upload("node-1", map[uint64][]string{ctrA: {F, F, P, M}, ctrB: {P, P, P, M}}); err != nil {
		t.Fatal(err)
	}
	nodes, err := f.db.AssetNodes(ctx, []uint64{ctrA, ctrB, ctrC})
	if err != nil || len(nodes) != 2 || nodes[ctrA] != "node-1" || nodes[ctrB] != "node-1" {
		t.Errorf("asset nodes = %v, %v; want a and b on node-1, c unknown", nodes, err)
	}
	_, err = upload("node-2", map[uint64][]string{ctrA: {P, P, P, P}})
	if !errors.Is(err, store.ErrForbidden) || !strings.Contains(err.Error(), `asset 101 (a) is recorded for node "node-1"`) || !strings.Contains(err.Error(), `"node-2"`) {
		t.Errorf("another node's upload of asset a: %v", err)
	}
	if a, _ := f.db.Asset(ctx, ctrA); a.FailedPolicyItemCount != 2 {
		t.Errorf("asset a after the refused upload: %+v", a)
	}
	// node-2's full upload naming node-1 as its host (every asset of the
	// report says node-1) removes none of node-1's assets.
	if _, err := upload("node-2", map[uint64][]string{ctrC: {P, P, P, P}}); err != nil {
		t.Fatal(err)
	}
	if s := summary(t, f.db, assets.Container); s.AssetCount != 3 {
		t.Errorf("node-2's upload removed node-1's assets: %d containers, want 3", s.AssetCount)
	}
	// A local task records for its own node and is not held.
	f.ingest(t, store.Scope{Node: "central"}, f.buildReport(map[uint64][]string{ctrA: {P, P, P, M}}))
	if nodes, _ := f.db.AssetNodes(ctx, []uint64{ctrA}); nodes[ctrA] != "central" {
		t.Errorf("after a local task, asset a is recorded for %q", nodes[ctrA])
	}
}
