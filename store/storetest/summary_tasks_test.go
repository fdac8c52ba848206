package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// The summary's check information (status, last check time, cost) comes
// from each type's newest tasks: found past the first page of tasks it
// reads when many newer tasks cover other types only (a daemon that
// fleets upload to records a task per upload), and a running task of the
// type shows first.
func TestSummaryFindsEachTypesNewestTask(t *testing.T) { each(t, tSummaryFindsEachTypesNewestTask) }

func tSummaryFindsEachTypesNewestTask(t *testing.T, f *fixture) {
	ctx := context.Background()
	first := f.Standard(t) // the host's only task
	hostTask, err := f.DB.Task(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	containers := store.Scope{Types: []assets.Type{assets.Container}}
	var last store.Task
	for range 70 {
		f.Clock.Step(time.Minute)
		last = f.Ingest(t, containers, f.BuildReport(map[uint64][]string{CtrA: {P, F, P, M}}))
	}
	if last, err = f.DB.Task(ctx, last.ID); err != nil {
		t.Fatal(err)
	}
	at := func(tk store.Task) string { return tk.FinishedAt.Format("2006-01-02 15:04:05") }
	host, ctr := Summary(t, f.DB, assets.Host), Summary(t, f.DB, assets.Container)
	if host.IsCustomerFirstCheck || host.LastCheckTime != at(hostTask) || host.CheckStatus != "CHECK_FINISHED" {
		t.Errorf("host summary: first check %v, last check %q, status %s; want task %d's %q", host.IsCustomerFirstCheck, host.LastCheckTime, host.CheckStatus, hostTask.ID, at(hostTask))
	}
	if ctr.LastCheckTime != at(last) {
		t.Errorf("container summary: last check %q, want the newest task's %q", ctr.LastCheckTime, at(last))
	}
	if _, err := f.DB.BeginTask(ctx, store.TriggerManual, store.Scope{Types: []assets.Type{assets.Host}}); err != nil {
		t.Fatal(err)
	}
	if host := Summary(t, f.DB, assets.Host); host.CheckStatus != "CHECK_RUNNING" || host.LastCheckTime != at(hostTask) {
		t.Errorf("host summary with a host task running: status %s, last check %q", host.CheckStatus, host.LastCheckTime)
	}
}
