package storetest_test

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// TestStreamedResultsInvisibleUntilComplete: results written while a task
// runs (AddResults) change nothing that a reader sees, the task's own
// export included, until CompleteTask completes the task; then the store
// holds exactly what ingesting the whole report at once gives. Completing
// from another handle than the one that wrote them gives the same.
func TestStreamedResultsInvisibleUntilComplete(t *testing.T) {
	each(t, tStreamedResultsInvisibleUntilComplete)
}

func tStreamedResultsInvisibleUntilComplete(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	first := snapshot(t, f.DB)
	f.Clock.Step(time.Hour)
	rep := f.BuildReport(map[uint64][]string{HostID: {P, P}, CtrA: {P, P, P, M}, CtrB: {F, F, F, M}, CtrC: {P, P, P, NA}})
	for _, completer := range []string{"the writing handle", "another handle"} {
		before := snapshot(t, f.DB)
		task, err := f.DB.BeginTask(ctx, store.TriggerManual, store.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		half := len(rep.Results) / 2
		for _, batch := range [][]results.Result{rep.Results[:half], rep.Results[half:]} {
			if err := f.DB.AddResults(ctx, task.ID, batch); err != nil {
				t.Fatal(err)
			}
			if got := snapshot(t, f.DB); !reflect.DeepEqual(got, before) {
				t.Fatalf("%s: a running task's written results are visible:\n%+v\nwant\n%+v", completer, got, before)
			}
			if n := taskRows(t, f.DB, task.ID); n != 0 {
				t.Errorf("%s: the running task's export shows %d results", completer, n)
			}
		}
		rest := *rep
		rest.Results = nil
		db := f.DB
		if completer == "another handle" {
			db = f.reopen(t)
		}
		if err := db.CompleteTask(ctx, task.ID, &rest); err != nil {
			t.Fatal(err)
		}
		done, err := f.DB.Task(ctx, task.ID)
		if err != nil || done.ResultCount != len(rep.Results) {
			t.Errorf("%s: completed task %+v, %v; want %d results", completer, done, err, len(rep.Results))
		}
		if n := taskRows(t, f.DB, task.ID); n != len(rep.Results) {
			t.Errorf("%s: the completed task's export shows %d results, want %d", completer, n, len(rep.Results))
		}
	}
	// Ingesting the same report whole changes nothing of it.
	streamed := snapshot(t, f.DB)
	f.Ingest(t, store.Scope{}, rep)
	if whole := snapshot(t, f.DB); !reflect.DeepEqual(streamed, whole) {
		t.Errorf("streamed ingest:\n%+v\nwhole ingest of the same report:\n%+v", streamed, whole)
	}
	if reflect.DeepEqual(streamed, first) {
		t.Error("the completed tasks changed nothing")
	}
	checkRollups(t, f, "after streamed tasks")
}

// TestFailedTaskLeavesNoWrittenResults: a task that fails after writing
// some results leaves none of them, and the next task sees the store as
// the last completed one left it.
func TestFailedTaskLeavesNoWrittenResults(t *testing.T) { each(t, tFailedTaskLeavesNoWrittenResults) }

func tFailedTaskLeavesNoWrittenResults(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	before := snapshot(t, f.DB)
	task, err := f.DB.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	rep := f.BuildReport(map[uint64][]string{CtrA: {P, P, P, M}, CtrB: {F, F, F, M}})
	if err := f.DB.AddResults(ctx, task.ID, rep.Results); err != nil {
		t.Fatal(err)
	}
	if err := f.DB.FailTask(ctx, task.ID, "scan interrupted"); err != nil {
		t.Fatal(err)
	}
	if n := taskRows(t, f.DB, task.ID); n != 0 {
		t.Errorf("the failed task keeps %d results", n)
	}
	if err := f.DB.AddResults(ctx, task.ID, rep.Results); err == nil {
		t.Error("results were written for a failed task")
	}
	if got := snapshot(t, f.DB); !reflect.DeepEqual(got, before) {
		t.Errorf("after a failed task:\n%+v\nwant\n%+v", got, before)
	}
}

// view is what readers see of the store's results: summaries (but the
// running task's status), asset and item pages, and the latest results
// with their evidence.
type view struct {
	Summaries []store.AssetSummary
	Assets    []store.AssetInfo
	Items     []store.ItemSummary
	Latest    []results.Row
}

func snapshot(t *testing.T, db store.Store) view {
	t.Helper()
	ctx := context.Background()
	var v view
	var err error
	if v.Summaries, err = db.Summary(ctx, []assets.Type{assets.Host, assets.Container}); err != nil {
		t.Fatal(err)
	}
	for i := range v.Summaries { // a running task shows here, by design
		v.Summaries[i].CheckStatus, v.Summaries[i].CheckProgress = "", 0
	}
	if v.Assets, _, err = db.Assets(ctx, store.Query{Limit: store.MaxLimit}); err != nil {
		t.Fatal(err)
	}
	if v.Items, _, err = db.Items(ctx, store.Query{Limit: store.MaxLimit}); err != nil {
		t.Fatal(err)
	}
	err = db.ResultRows(ctx, store.ResultQuery{}, func(r results.Row) error {
		r.TaskID = 0
		v.Latest = append(v.Latest, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// taskRows counts the results an export of the task shows.
func taskRows(t *testing.T, db store.Store, taskID int64) int {
	t.Helper()
	n := 0
	if err := db.ResultRows(context.Background(), store.ResultQuery{TaskID: taskID}, func(results.Row) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWritesDuringAStreamedTask: while a task writes its results in
// batches, a scan's other writes (its image files cache, from many
// workers at once) go on and all succeed; none waits for a connection
// that the task's transaction itself waits for.
func TestWritesDuringAStreamedTask(t *testing.T) { each(t, tWritesDuringAStreamedTask) }

func tWritesDuringAStreamedTask(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	rep := f.BuildReport(map[uint64][]string{HostID: {P, P}, CtrA: {P, P, P, M}, CtrB: {F, F, F, M}, CtrC: {P, P, P, NA}})
	db := f.reopen(t) // no statement prepared yet
	task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				id := fmt.Sprintf("sha256:%064d", w*100000+i)
				if _, _, err := db.ImageFiles(ctx, id); err != nil {
					errs <- fmt.Errorf("reading the image files cache: %w", err)
					return
				}
				if err := db.PutImageFiles(ctx, id, store.ImageFiles{Setuid: []string{"/bin/su"}}); err != nil {
					errs <- fmt.Errorf("writing the image files cache: %w", err)
					return
				}
				written.Add(1)
			}
		}()
	}
	// Once the writers are under way (or have failed), one result a
	// call: each call prepares nothing new, or the one-row statement.
	for written.Load() < 64 && len(errs) == 0 {
		runtime.Gosched()
	}
	for i := range rep.Results {
		if err := db.AddResults(ctx, task.ID, rep.Results[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CompleteTask(ctx, task.ID, &results.Report{StartedAt: rep.StartedAt, FinishedAt: rep.FinishedAt, Assets: rep.Assets}); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A running task holds one result per (item, asset) pair: a result for a
// pair it already has, in a later batch or in its completion, is refused
// (that batch only: later ones for other pairs are taken), and what a
// reader sees stays as it was.
func TestOneResultPerPair(t *testing.T) { each(t, tOneResultPerPair) }

func tOneResultPerPair(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	before := snapshot(t, f.DB)
	f.Clock.Step(time.Hour)
	rep := f.BuildReport(map[uint64][]string{CtrA: {P, P, P, M}})
	task, err := f.DB.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DB.AddResults(ctx, task.ID, rep.Results); err != nil {
		t.Fatal(err)
	}
	if err := f.DB.AddResults(ctx, task.ID, rep.Results[1:2]); err == nil {
		t.Error("a second result for a pair in a later batch was accepted")
	}
	// The refusal took back that batch alone: the task goes on taking
	// results for other pairs, and holds exactly those accepted.
	other := f.BuildReport(map[uint64][]string{CtrB: {F, P, P, M}}).Results
	if err := f.DB.AddResults(ctx, task.ID, other); err != nil {
		t.Fatalf("a batch after the refused one: %v", err)
	}
	if err := f.DB.CompleteTask(ctx, task.ID, rep); err == nil {
		t.Error("a completion repeating the written results was accepted")
	}
	if got := snapshot(t, f.DB); !reflect.DeepEqual(got, before) {
		t.Errorf("after the refused results:\n%+v\nwant\n%+v", got, before)
	}
	written := f.BuildReport(map[uint64][]string{CtrA: {P, P, P, M}, CtrB: {F, P, P, M}})
	written.Results = nil
	if err := f.DB.CompleteTask(ctx, task.ID, written); err != nil {
		t.Fatalf("completing the task with the results it holds: %v", err)
	}
	if n := taskRows(t, f.DB, task.ID); n != len(rep.Results)+len(other) {
		t.Errorf("the task holds %d results, want the %d accepted", n, len(rep.Results)+len(other))
	}
}
