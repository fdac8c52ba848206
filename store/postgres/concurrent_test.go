package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/storetest"
)

// More uploads at once than the pool has connections (a central daemon
// under a fleet): every one is recorded. A task that holds the write lock
// writes its results on a second connection, so writers waiting for the
// lock must not hold the pool's connections meanwhile (they did, and
// every upload hung).
func TestConcurrentUploadsOnASmallPool(t *testing.T) {
	db := open(t, pgtest.DSN(t)+"&pool_max_conns=2")
	f := storetest.New(t, db, storetest.NewClock())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const uploads = 8
	errs := make([]error, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := fmt.Sprintf("node-%d", i)
			rep := f.BuildReport(nil)
			a := storetest.Asset(uint64(5000+i), assets.Container, node+"-c")
			a.NodeName = node
			rep.Assets = append(rep.Assets, a)
			for _, it := range rep.Items {
				if it.AssetType == assets.Container {
					rep.Results = append(rep.Results, results.Result{ItemID: it.ID, AssetID: a.ID, Verdict: storetest.Verdict(storetest.F), CheckedAt: rep.FinishedAt})
				}
			}
			task, err := db.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: node})
			if err == nil {
				err = db.CompleteTask(ctx, task.ID, rep)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("upload %d: %v", i, err)
		}
	}
	if s := storetest.Summary(t, db, assets.Container); s.AssetCount != uploads {
		t.Errorf("%d containers recorded, want %d", s.AssetCount, uploads)
	}
}
