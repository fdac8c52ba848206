package sqlstore

import (
	"slices"
	"testing"
)

// The memo of pruned tasks: a handle's first prune examines every old
// task; later ones only the old tasks of a node that a task has ended for
// since (and a task that ends after newer ones, through the mark below
// it), and every old task again once pruneSweep tasks have ended.
func TestPruneMemoChoosesTheTasksToExamine(t *testing.T) {
	var m pruneMemo
	// ended lists tasks 1..n, newest first: task i of node "n<i%3>".
	ended := func(n int, skip ...int64) []taskNode {
		var out []taskNode
		for id := int64(n); id >= 1; id-- {
			if !slices.Contains(skip, id) {
				out = append(out, taskNode{id: id, node: []string{"n0", "n1", "n2"}[id%3]})
			}
		}
		return out
	}
	prune := func(list []taskNode, keep int, running ...int64) []int64 {
		t.Helper()
		out, seen, swept := m.candidates(list, keep, running)
		m.done(seen, swept)
		slices.Sort(out)
		return out
	}
	if got := prune(ended(9), 3); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("first prune examines %v, want every old task", got)
	}
	if got := prune(ended(9), 3); len(got) != 0 {
		t.Errorf("a prune with no task ended since examines %v", got)
	}
	// Task 10 (node n1) ends: only n1's old tasks (1, 4, 7).
	if got := prune(ended(10), 3); !slices.Equal(got, []int64{1, 4, 7}) {
		t.Errorf("after a task of n1: %v, want n1's old tasks 1 4 7", got)
	}
	// Task 12 (n0) ends while 11 (n2) still runs: n0's old tasks (3, 6)
	// and 8, now past the newest three.
	if got := prune(ended(12, 11), 3, 11); !slices.Equal(got, []int64{3, 6, 8}) {
		t.Errorf("after a task of n0 with 11 running: %v, want 3 6 8", got)
	}
	// 11 ends after 12: the prune with 11 running saw only what tasks up
	// to 10 did, so every node that has ended a task since 10 (n0, n1, n2)
	// is examined again, though 11 is older than 12.
	if got := prune(ended(13), 3); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("after 11 (n2) and 13 (n1) ended: %v, want every old task", got)
	}
	// Task 14 (n2) ends: n2's old tasks, with 11 now past the newest three.
	if got := prune(ended(14), 3); !slices.Equal(got, []int64{2, 5, 8, 11}) {
		t.Errorf("after a task of n2: %v, want 2 5 8 11", got)
	}
	// Once pruneSweep tasks have ended, every old task again.
	n := 14 + pruneSweep
	got := prune(ended(n), 3)
	if len(got) != n-3 {
		t.Errorf("after %d more tasks, %d old tasks examined, want all %d", pruneSweep, len(got), n-3)
	}
}
