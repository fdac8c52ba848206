package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
)

// One setting chooses the store: --store, BASELINE_STORE or the
// configuration's store, each a PostgreSQL URL; a scan's task lands in
// that database and not in the data directory.
func TestStoreSettingChoosesPostgres(t *testing.T) {
	host := testhost.Tree(t, "hardened")
	scan := []string{"scan", "--no-docker", "--type", "host", "--progress", "never", "--host-root", host}
	for _, how := range []string{"flag", "env", "config"} {
		t.Run(how, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			dir := t.TempDir()
			t.Setenv("BASELINE_DATA_DIR", dir)
			t.Setenv("BASELINE_STORE", "")
			args := append([]string{}, scan...)
			switch how {
			case "flag":
				args = append(args, "--store", dsn)
			case "env":
				t.Setenv("BASELINE_STORE", dsn)
			case "config":
				cfg := filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(cfg, []byte("store: "+dsn+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", cfg)
			}
			var out, errb bytes.Buffer
			if code := Run(context.Background(), args, &out, &errb); code != ExitOK {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			db, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, n, err := db.Tasks(context.Background(), store.Query{}); err != nil || n != 1 {
				t.Errorf("tasks in the database: %d, %v; want the scan's", n, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "baseline.db")); err == nil {
				t.Error("the scan also wrote the data directory's SQLite store")
			}
		})
	}
}

// A store setting that is not a PostgreSQL URL is refused before anything
// runs, without echoing it (it may carry a password).
func TestStoreSettingRefused(t *testing.T) {
	code, _, stderr := run(t, "--store", "mysql://root:hunter2@db/baseline", "tasks")
	if code != ExitError || !strings.Contains(stderr, "--store") || strings.Contains(stderr, "hunter2") {
		t.Errorf("exit %d, stderr %q; want 1 and a message naming --store without the password", code, stderr)
	}
}

// The daemon's store comes from the configuration file's store, below
// BASELINE_STORE; a setting that is not a PostgreSQL URL is refused.
func TestServeStoreConfiguration(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out}
	serve, _, err := newRoot(g).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("store: postgres://baseline:pw@db/baseline\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BASELINE_STORE", "")
	if c, err := loadServeConfig(serve, g, cfg); err != nil || c.Store != "postgres://baseline:pw@db/baseline" {
		t.Errorf("store from the file: %+v, %v", c, err)
	}
	t.Setenv("BASELINE_STORE", "postgresql://other@db2/baseline")
	if c, err := loadServeConfig(serve, g, cfg); err != nil || c.Store != "postgresql://other@db2/baseline" {
		t.Errorf("store from the environment: %+v, %v", c, err)
	}
	t.Setenv("BASELINE_STORE", "/var/lib/elsewhere")
	if _, err := loadServeConfig(serve, g, cfg); err == nil || !strings.Contains(err.Error(), "store") {
		t.Errorf("a directory as the store: %v, want a refusal naming store", err)
	}
}
