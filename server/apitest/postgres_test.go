package apitest

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/baselinehq/baseline/api"
	apiclient "github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
)

// openPostgres opens another handle on a daemon's PostgreSQL store (the
// daemon may run: the database is shared).
func openPostgres(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// uploadTasks lists a store's finished upload tasks.
func uploadTasks(t *testing.T, db store.TaskStore) []store.Task {
	t.Helper()
	list, _, err := db.Tasks(context.Background(), store.Query{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Task
	for _, k := range list {
		if k.Trigger == store.TriggerUpload && k.Status == checks.CheckFinished {
			out = append(out, k)
		}
	}
	return out
}

// A node daemon and its central daemon, each on a PostgreSQL store: the
// node's task goes through its outbox to the central daemon, which
// records it once; the same upload sent again with its idempotency key is
// answered as already applied; the central daemon is ready (/readyz).
func TestOutboxAndIdempotentUploadsOnPostgres(t *testing.T) {
	bin := binary(t)
	centralDSN, nodeDSN := pgtest.DSN(t), pgtest.DSN(t)
	central := startDaemon(t, bin, t.TempDir(), "--store", centralDSN)
	node := startDaemon(t, bin, t.TempDir(), "--store", nodeDSN,
		"--config", nodeDaemonConfig(t, "k8s-good", "http://"+central.addr, fullID, fullKey))
	nodeDB, centralDB := openPostgres(t, nodeDSN), openPostgres(t, centralDSN)

	var started struct{ TaskId int64 }
	newClient(t, node.addr, fullID, fullKey).ok("CreateComplianceTask", map[string]any{"AssetTypeSet": []string{"ASSET_K8S"}}, &started)
	waitFor(t, "the node's task forwarded", func() bool {
		s, err := nodeDB.OutboxStats(context.Background())
		return err == nil && s.Depth == 0 && len(uploadTasks(t, centralDB)) == 1
	})
	ran, err := nodeDB.Task(context.Background(), started.TaskId)
	if err != nil || ran.Status != checks.CheckFinished {
		t.Fatalf("the node's task: %+v, %v", ran, err)
	}
	if got := uploadTasks(t, centralDB)[0]; got.ResultCount != ran.ResultCount || !got.StartedAt.Equal(ran.StartedAt) {
		t.Errorf("the central upload %+v; want the node's task %+v", got, ran)
	}

	c, err := apiclient.New("http://"+central.addr, anyID, anyKey)
	if err != nil {
		t.Fatal(err)
	}
	upload := func() api.UploadComplianceScanResultResponse {
		t.Helper()
		u := api.NewScanUpload(store.Scope{Node: "node-a"}, testhost.GoldenReport())
		u.IdempotencyKey = "node-a/0123456789abcdef/7"
		var out api.UploadComplianceScanResultResponse
		if err := c.Call(context.Background(), api.UploadAction, u, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := upload()
	again := upload()
	if first.TaskId == 0 || first.AlreadyApplied || again.TaskId != first.TaskId || !again.AlreadyApplied {
		t.Errorf("one upload sent twice: %+v then %+v; want the first's task, already applied", first, again)
	}
	if n := len(uploadTasks(t, centralDB)); n != 2 {
		t.Errorf("the central daemon recorded %d uploads, want 2", n)
	}

	resp, err := http.Get("http://" + central.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz on PostgreSQL: %d", resp.StatusCode)
	}
}
