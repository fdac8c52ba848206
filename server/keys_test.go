package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store/sqlite"
)

// A key's upload options are checked at start: nodes or upload_any_node,
// not both, and neither on a read-only key.
func TestKeyUploadScopeChecked(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := runner.New(ctx, &checks.Catalog{}, db, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key  server.Key
		want string
	}{
		{server.Key{SecretID: "a", SecretKey: "k", Nodes: []string{"n"}, UploadAnyNode: true}, "exclude each other"},
		{server.Key{SecretID: "a", SecretKey: "k", ReadOnly: true, Nodes: []string{"n"}}, "read-only"},
		{server.Key{SecretID: "a", SecretKey: "k", Nodes: []string{""}}, "empty"},
	} {
		_, err := server.New(db, r, server.Options{Keys: []server.Key{c.key}, ExportDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("key %+v: %v, want an error naming %q", c.key, err, c.want)
		}
	}
}
