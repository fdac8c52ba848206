package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
	"github.com/baselinehq/baseline/store/storetest"
)

// ingestChildEnv makes the test binary a daemon that ingests a task into
// the database it names, then exits (see TestMain).
const ingestChildEnv = "BASELINE_PG_INGEST_CHILD"

// streamChildEnv makes the test binary a daemon that writes a task's
// results as a scan does (AddResults), says so, and waits to be killed
// before completing it.
const streamChildEnv = "BASELINE_PG_STREAM_CHILD"

// ingestChild begins a task, says so on stdout, and stores its results:
// 2,000 containers judged on the test catalog's 4 container items; with
// stream, it writes them in batches and then waits, never completing the
// task.
func ingestChild(dsn string, stream bool) int {
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	now := time.Now()
	rep := &results.Report{StartedAt: now, FinishedAt: now}
	for i, id := range []uint64{21, 22, 23, 24} {
		rep.Items = append(rep.Items, &checks.Item{ID: id, Number: fmt.Sprintf("C%d", i+1), AssetType: assets.Container})
	}
	for a := range 2000 {
		asset := storetest.Asset(uint64(1000+a), assets.Container, fmt.Sprintf("c%d", a))
		rep.Assets = append(rep.Assets, asset)
		for _, it := range rep.Items {
			rep.Results = append(rep.Results, results.Result{ItemID: it.ID, AssetID: asset.ID, Verdict: storetest.Verdict(storetest.F), CheckedAt: now})
		}
	}
	task, err := db.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: "node-1"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("begun", task.ID)
	if stream {
		for done := 0; done < len(rep.Results); done += 1000 {
			if err := db.AddResults(ctx, task.ID, rep.Results[done:done+1000]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		fmt.Println("written", len(rep.Results))
		select {} // killed here, mid-scan
	}
	if err := db.CompleteTask(ctx, task.ID, rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// A daemon killed with SIGKILL in the middle of an ingest leaves no part
// of its task: no asset, result or latest result of it, and another
// daemon on the database marks the task failed. The test holds the
// latest results' table so that the ingest stops half-way, its assets and
// results written but not committed, then kills the daemon.
func TestKilledMidIngestLeavesNoPartialTask(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	survivor := openWithCatalog(t, dsn)
	admin, look := connect(t, dsn), connect(t, dsn)
	hold, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback(ctx) }()
	if _, err := hold.Exec(ctx, "LOCK TABLE latest IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), ingestChildEnv+"="+dsn)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "begun ") {
		t.Fatalf("the daemon did not begin its task: %q, %v", line, err)
	}
	var taskID int64
	fmt.Sscanf(line, "begun %d", &taskID)
	// Mid-ingest: its transaction has written the assets and results and
	// waits for the latest results' table.
	waitFor(t, "the ingest to reach the latest results", func() bool {
		var n int
		err := look.QueryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND (query LIKE 'INSERT INTO latest%' OR query LIKE 'copy "latest"%')
			AND backend_xid IS NOT NULL`).Scan(&n)
		return err == nil && n == 1
	})
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "the dead daemon's task to be recovered", func() bool {
		n, err := survivor.RecoverInterrupted(ctx)
		return err == nil && n == 1
	})
	task, err := survivor.Task(ctx, taskID)
	if err != nil || task.Status != checks.CheckFailed || !strings.Contains(task.Error, "interrupted") {
		t.Errorf("task = %+v, %v; want failed as interrupted", task, err)
	}
	for _, table := range []string{"assets", "results", "latest", "asset_rollup", "item_rollup"} {
		var n int
		if err := look.QueryRow(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s holds %d rows of the killed ingest (%v)", table, n, err)
		}
	}
	if _, err := survivor.BeginTask(ctx, store.TriggerUpload, store.Scope{Node: "node-1"}); err != nil {
		t.Errorf("the scope is free again: %v", err)
	}
}

// A daemon killed with SIGKILL in the middle of a scan, its results
// partly written (AddResults commits them as the scan goes), leaves none
// of them visible while it runs, and none at all once another daemon
// recovers its task.
func TestKilledMidScanLeavesNoWrittenResults(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	survivor := openWithCatalog(t, dsn)
	look := connect(t, dsn)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), streamChildEnv+"="+dsn)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	lines := bufio.NewReader(out)
	var taskID int64
	var written int
	if line, err := lines.ReadString('\n'); err != nil || !strings.HasPrefix(line, "begun ") {
		t.Fatalf("the daemon did not begin its task: %q, %v", line, err)
	} else {
		fmt.Sscanf(line, "begun %d", &taskID)
	}
	if line, err := lines.ReadString('\n'); err != nil || !strings.HasPrefix(line, "written ") {
		t.Fatalf("the daemon did not write its results: %q, %v", line, err)
	} else {
		fmt.Sscanf(line, "written %d", &written)
	}
	var n int
	if err := look.QueryRow(ctx, "SELECT COUNT(*) FROM results WHERE task_id = $1", taskID).Scan(&n); err != nil || n != written {
		t.Fatalf("results of the running task in the table: %d (%v), want %d", n, err, written)
	}
	if sum, err := survivor.Summary(ctx, []assets.Type{assets.Container}); err != nil || sum[0].AssetCount != 0 || sum[0].FailedPolicyItemCount != 0 {
		t.Errorf("summary while the task runs: %+v, %v; want nothing of it", sum, err)
	}
	if rows, total, err := survivor.ItemAssets(ctx, 21, store.Query{}); err != nil || total != 0 || len(rows) != 0 {
		t.Errorf("item's assets while the task runs: %d rows of %d, %v; want none", len(rows), total, err)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	waitFor(t, "the dead daemon's task to be recovered", func() bool {
		n, err := survivor.RecoverInterrupted(ctx)
		return err == nil && n == 1
	})
	if task, err := survivor.Task(ctx, taskID); err != nil || task.Status != checks.CheckFailed || task.ResultCount != 0 {
		t.Errorf("task = %+v, %v; want failed as interrupted, without results", task, err)
	}
	for _, table := range []string{"results", "latest", "asset_rollup", "item_rollup"} {
		if err := look.QueryRow(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s holds %d rows of the killed scan (%v)", table, n, err)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited a minute for %s", what)
}

// openWithCatalog opens a store on the database and syncs the test
// catalog into it.
func openWithCatalog(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db := open(t, dsn)
	if err := db.SyncCatalog(context.Background(), storetest.Catalog(t)); err != nil {
		t.Fatal(err)
	}
	return db
}

// connect is a plain connection to the database, closed when the test
// ends.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(ctx) })
	return c
}
