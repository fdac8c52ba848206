package storetest_test

import (
	"context"
	"testing"

	"github.com/baselinehq/baseline/internal/fleet"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// BenchmarkBackendsHostScanIngest stores a host scan's task (200
// containers on one node, 150 items each: 30,000 results) into a store of
// each backend that holds the same task already, as a periodic scan finds
// it: written whole at completion, or as a scan writes it (each asset's
// results with AddResults, then CompleteTask). It reports the allocations
// and time of the store's work per task.
func BenchmarkBackendsHostScanIngest(b *testing.B) {
	fd, err := fleet.BuildSize(fleet.Size{Containers: 200, Nodes: 1})
	if err != nil {
		b.Fatal(err)
	}
	rep := fd.Report
	perAsset := map[uint64][]results.Result{}
	var order []uint64
	for _, r := range rep.Results {
		if perAsset[r.AssetID] == nil {
			order = append(order, r.AssetID)
		}
		perAsset[r.AssetID] = append(perAsset[r.AssetID], r)
	}
	rest := *rep
	rest.Results = nil
	ctx := context.Background()
	for _, be := range benchBackends {
		for _, mode := range []string{"whole", "streamed"} {
			b.Run(be.name+"/"+mode, func(b *testing.B) {
				st := be.open(b)
				if err := st.db.SyncCatalog(ctx, fd.Catalog); err != nil {
					b.Fatal(err)
				}
				ingest(b, st.db, fd)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					task, err := st.db.BeginTask(ctx, store.TriggerManual, store.Scope{})
					if err != nil {
						b.Fatal(err)
					}
					if mode == "whole" {
						err = st.db.CompleteTask(ctx, task.ID, rep)
					} else {
						for _, id := range order {
							if err = st.db.AddResults(ctx, task.ID, perAsset[id]); err != nil {
								break
							}
						}
						if err == nil {
							err = st.db.CompleteTask(ctx, task.ID, &rest)
						}
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(rep.Results)), "results")
			})
		}
	}
}
