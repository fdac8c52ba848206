package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
	"github.com/baselinehq/baseline/store/storetest"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(ingestChildEnv); dsn != "" {
		os.Exit(ingestChild(dsn, false))
	}
	if dsn := os.Getenv(streamChildEnv); dsn != "" {
		os.Exit(ingestChild(dsn, true))
	}
	os.Exit(pgtest.Main(m))
}

func open(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A new database reaches the current schema version.
func TestOpenMigrates(t *testing.T) {
	db := open(t, pgtest.DSN(t))
	v, err := db.SchemaVersionOf(context.Background())
	if err != nil || v != store.SchemaVersion {
		t.Fatalf("version %d, want %d (%v)", v, store.SchemaVersion, err)
	}
}

// The DSN's password is masked wherever a DSN is shown: in a URL's user
// part, its password parameter, or a key=value setting.
func TestMaskDSN(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://baseline:s3cret@db:5432/baseline?sslmode=require": "postgres://baseline:xxxxx@db:5432/baseline?sslmode=require",
		"postgresql://db/baseline?user=baseline&password=s3cret":      "postgresql://db/baseline?password=xxxxx&user=baseline",
		"host=db user=baseline password=s3cret dbname=baseline":       "host=db user=baseline password=xxxxx dbname=baseline",
		"host=db password='s3 cret' dbname=baseline":                  "host=db password=xxxxx dbname=baseline",
		"postgres://baseline@db/baseline":                             "postgres://baseline@db/baseline",
	} {
		if got := postgres.MaskDSN(dsn); got != want {
			t.Errorf("MaskDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// Neither a failed connection's error nor the log of a store opened with
// a password shows the password.
func TestPasswordNeverShown(t *testing.T) {
	const secret = "Sup3rS3cretPw"
	ctx := context.Background()
	nowhere := "postgres://baseline:" + secret + "@/baseline?host=" + t.TempDir() + "&connect_timeout=2"
	_, err := postgres.Open(ctx, nowhere, postgres.Options{})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "xxxxx") {
		t.Errorf("error of a failed connection: %v (want the DSN shown, masked)", err)
	}
	if _, err := postgres.Open(ctx, "host=/nonexistent password="+secret+" dbname=x connect_timeout=2", postgres.Options{}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error of a key=value DSN: %v", err)
	}
	// The test server trusts local connections: the password is sent to
	// nobody, but the DSN carries it.
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("postgres", secret)
	var logs bytes.Buffer
	db, err := postgres.Open(ctx, u.String(), postgres.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if strings.Contains(logs.String(), secret) || !strings.Contains(logs.String(), "xxxxx") || strings.Contains(db.DSN(), secret) {
		t.Errorf("the log shows the password, or no masked DSN:\n%s", logs.String())
	}
}

// A task whose daemon's store handle is gone (its connection closed, as
// when the process is killed) is marked failed by another daemon's
// handle; while the handle lives, its task is left running.
func TestInterruptedTaskRecoveredByAnotherHandle(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	survivor := open(t, dsn)
	dying, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task, err := dying.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := survivor.RecoverInterrupted(ctx); err != nil || n != 0 {
		t.Fatalf("recovered %d (%v) while its owner lives", n, err)
	}
	if _, err := survivor.BeginTask(ctx, store.TriggerManual, store.Scope{}); !errors.Is(err, store.ErrAlreadyScanning) {
		t.Fatalf("overlapping task on another handle: %v, want ErrAlreadyScanning", err)
	}
	dying.Close()
	// The server ends the closed handle's session, and so frees its owner
	// lock, after the client has gone: recovery finds the task once it has.
	n, err := survivor.RecoverInterrupted(ctx)
	for deadline := time.Now().Add(10 * time.Second); err == nil && n == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		n, err = survivor.RecoverInterrupted(ctx)
	}
	if err != nil || n != 1 {
		t.Fatalf("recovered %d, %v; want 1", n, err)
	}
	got, err := survivor.Task(ctx, task.ID)
	if err != nil || got.Status != checks.CheckFailed || !strings.Contains(got.Error, "interrupted") {
		t.Errorf("task = %+v, %v", got, err)
	}
	if _, err := survivor.BeginTask(ctx, store.TriggerManual, store.Scope{}); err != nil {
		t.Errorf("the scope is free again: %v", err)
	}
}

// What one daemon stores, another daemon on the same database reads at
// once: an upload accepted by one replica is visible to all.
func TestOneReplicaStoresAnotherReads(t *testing.T) {
	dsn := pgtest.DSN(t)
	c := storetest.NewClock()
	f := storetest.New(t, open(t, dsn), c)
	f.Standard(t)
	other := open(t, dsn)
	for _, at := range []assets.Type{assets.Host, assets.Container} {
		if got, want := storetest.Summary(t, other, at), storetest.Summary(t, f.DB, at); got != want {
			t.Errorf("%s summary: the other replica reads %+v, want %+v", at, got, want)
		}
	}
}

// A daemon whose owner connection ends while it lives (the server
// restarted it) loses the tasks it had begun, as if it had died, and
// takes a new owner lock for the next task, which the other daemons then
// leave running.
func TestOwnerLockTakenAgainAfterItsConnectionEnds(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	first, err := a.BeginTask(ctx, store.TriggerManual, store.Scope{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// End every connection holding an owner lock but b's, as a server
	// restart would end a's.
	if _, err := b.BeginTask(ctx, store.TriggerManual, store.Scope{Node: "n2"}); err != nil {
		t.Fatal(err)
	}
	var bKey int64
	if err := admin.QueryRow(ctx, "SELECT owner FROM tasks WHERE scope LIKE '%n2%'").Scan(&bKey); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = 1651731566 AND objid <> $1::bigint::oid AND granted`, bKey); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first task to be recovered", func() bool {
		n, err := b.RecoverInterrupted(ctx)
		return err == nil && n == 1
	})
	if got, _ := b.Task(ctx, first.ID); got.Status != checks.CheckFailed {
		t.Errorf("the first task is %s, want failed", got.Status)
	}
	if _, err := a.BeginTask(ctx, store.TriggerManual, store.Scope{Node: "n1"}); err != nil {
		t.Fatalf("a new task after the owner connection ended: %v", err)
	}
	if n, err := b.RecoverInterrupted(ctx); err != nil || n != 0 {
		t.Errorf("recovered %d (%v) of a live daemon's new task", n, err)
	}
}
