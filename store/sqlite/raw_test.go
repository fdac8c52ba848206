package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// Results written through the driver's own statement (whole batches, the
// rest through the cached statements) are stored as those written
// through database/sql alone, whether the task writes them as it runs
// (AddResults) or at its end (CompleteTask).
func TestRawResultsAreStoredAsThroughDatabaseSQL(t *testing.T) {
	ctx := context.Background()
	ingest := func(raw int, staged bool) []string {
		defer func(old int) { rawMinRows = old }(rawMinRows)
		rawMinRows = raw
		db, err := Open(ctx, filepath.Join(t.TempDir(), "data"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// The connection connTx gives is the transaction's: it sees
		// what the transaction wrote and has not committed.
		if err := db.connTx(ctx, func(tx *sql.Tx, conn *sql.Conn) error {
			if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE seen(n INTEGER); INSERT INTO temp.seen VALUES (7)"); err != nil {
				return err
			}
			var got []int64
			if err := queryInts(ctx, conn, "SELECT n FROM temp.seen", 1, func(v []int64) { got = append(got, v[0]) }); err != nil {
				return err
			}
			if !slices.Equal(got, []int64{7}) {
				t.Errorf("the transaction's connection read %v of what it wrote, want [7]", got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		c := NewClock()
		f := New(t, db, c)
		rep := bigReport(f, 150)
		task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if staged {
			// Two calls, each of whole batches and a rest.
			if err := db.AddResults(ctx, task.ID, rep.Results[:450]); err != nil {
				t.Fatal(err)
			}
			if err := db.AddResults(ctx, task.ID, rep.Results[450:]); err != nil {
				t.Fatal(err)
			}
			rep.Results = nil
		}
		if err := db.CompleteTask(ctx, task.ID, rep); err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, q := range []string{
			"SELECT task_id, asset_id, item_id, status, result, reason, evidence, checked_at FROM results ORDER BY asset_id, item_id",
			"SELECT asset_id, item_id, task_id, status, result, ignored, checked_at, current_name FROM latest ORDER BY asset_id, item_id",
		} {
			r, err := db.db.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for r.Next() {
				v := make([]any, 8)
				p := make([]any, 8)
				for i := range v {
					p[i] = &v[i]
				}
				if err := r.Scan(p...); err != nil {
					t.Fatal(err)
				}
				rows = append(rows, fmt.Sprint(v...))
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return rows
	}
	want := ingest(1<<30, false)
	if len(want) != 2*602 {
		t.Fatalf("%d rows of results and latest, want %d", len(want), 2*602)
	}
	for _, staged := range []bool{false, true} {
		if got := ingest(0, staged); !slices.Equal(got, want) {
			t.Errorf("written through the driver (staged %v):\n%v\nthrough database/sql:\n%v", staged, got, want)
		}
	}
}

// bigReport is a report of the host and n containers, each container with
// a result of every container item (verdicts in turn, some with evidence
// or a reason), given out of order.
func bigReport(f *Fixture, n int) *results.Report {
	rep := f.BuildReport(map[uint64][]string{HostID: {P, F}})
	var items []uint64
	for _, it := range rep.Items {
		if it.AssetType == assets.Container {
			items = append(items, it.ID)
		}
	}
	codes := []string{P, F, M, NA, CF, F}
	for i := range n {
		id := uint64(1000 + n - i)
		rep.Assets = append(rep.Assets, Asset(id, assets.Container, fmt.Sprintf("c%d", id)))
		for j, it := range items {
			rep.Results = append(rep.Results, results.Result{ItemID: it, AssetID: id, Verdict: Verdict(codes[(i+j)%len(codes)]),
				CheckedAt: f.Clock.Now()})
		}
	}
	return rep
}

// A batch written through the driver's statement that repeats a pair the
// task holds is refused whole, and the task goes on: its next batch is
// taken, and it completes with exactly the results accepted.
func TestRawResultsRefuseARepeatedPairWhole(t *testing.T) {
	ctx := context.Background()
	defer func(old int) { rawMinRows = old }(rawMinRows)
	rawMinRows = 0
	db, err := Open(ctx, filepath.Join(t.TempDir(), "data"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := New(t, db, NewClock())
	rep := bigReport(f, 150)
	task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddResults(ctx, task.ID, rep.Results[:300]); err != nil {
		t.Fatal(err)
	}
	// Two whole batches, the last row of the second repeating a pair.
	again := slices.Clone(rep.Results[300:699])
	again = append(again, rep.Results[0])
	if err := db.AddResults(ctx, task.ID, again); err == nil {
		t.Error("a batch repeating a pair was accepted")
	}
	if err := db.AddResults(ctx, task.ID, rep.Results[300:]); err != nil {
		t.Fatalf("the batch after the refused one: %v", err)
	}
	rep.Results = nil
	if err := db.CompleteTask(ctx, task.ID, rep); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM results WHERE task_id = ?", task.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 602 {
		t.Errorf("the task holds %d results, want the 602 accepted", n)
	}
}
