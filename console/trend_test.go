package console

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// The trend folds in every finished task once, also one that finished
// after a newer task did.
func TestTrendFoldsInTasksFinishedOutOfOrder(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep := testhost.GoldenReport()
	if err := db.SyncCatalog(ctx, testhost.Builtin(t)); err != nil {
		t.Fatal(err)
	}
	older, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{Types: []assets.Type{assets.Container}})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{Types: []assets.Type{assets.Image}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteTask(ctx, newer.ID, rep); err != nil {
		t.Fatal(err)
	}
	tr := newTrends(db, func() time.Time { return rep.FinishedAt.Add(time.Hour) })
	if err := tr.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if w, ready := tr.windows(assets.Container); !ready || w[0].Tasks != 0 {
		t.Fatalf("before the container task finished: ready %v, %+v", ready, w)
	}
	if err := db.CompleteTask(ctx, older.ID, rep); err != nil {
		t.Fatal(err)
	}
	if err := tr.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	want, err := db.Trend(ctx, assets.Container, 10)
	if err != nil || len(want) != 1 {
		t.Fatalf("the store's trend: %+v, %v", want, err)
	}
	w, _ := tr.windows(assets.Container)
	for _, win := range w {
		if win.Tasks != 1 || win.Last != want[0].PassRate {
			t.Errorf("%d days: %+v, want the task that finished last, at %v%%", win.Days, win, want[0].PassRate)
		}
	}
}
