package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/server"
)

// The example configuration loads as it is, and its kubernetes section
// reaches the daemon's scans; a flag overrides it.
func TestExampleConfigLoads(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out}
	root := newRoot(g)
	t.Setenv("BASELINE_KUBERNETES_CLUSTER_NAME", "prod-eu")
	root.SetArgs([]string{"serve", "--node-name", "node-7", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadServeConfig(serve, g, "../../../deploy/config.example.yaml")
	if err != nil {
		t.Fatalf("deploy/config.example.yaml: %v", err)
	}
	if c.Kubernetes.ClusterName != "prod-eu" || c.Kubernetes.NodeName != "node-7" || c.Kubernetes.Disabled {
		t.Fatalf("kubernetes = %+v, want the cluster name from the environment and the node name from the flag", c.Kubernetes)
	}
}

// The upload limit and the upstream section: the example's values are the
// defaults, the upstream's address and key come from BASELINE_UPSTREAM_*
// too, and an upstream without a key or with a bad address is refused
// naming the section.
func TestUpstreamConfiguration(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out}
	serve, _, err := newRoot(g).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadServeConfig(serve, g, "../../../deploy/config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.API.MaxUploadBytes != 64<<20 || c.Upstream.Server != "" || c.Upstream.Backoff != 10*time.Second ||
		c.Upstream.MaxBackoff != 10*time.Minute || c.Upstream.OutboxSize != 1000 {
		t.Errorf("example: max_upload_bytes %d, upstream %+v; want 64 MiB and no upstream, waits from 10s to 10m, an outbox of 1000", c.API.MaxUploadBytes, c.Upstream)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, []byte("log_level: info\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = loadServeConfig(serve, g, empty); err != nil || c.API.MaxUploadBytes != 64<<20 || c.Upstream.Backoff != 10*time.Second ||
		c.Upstream.MaxBackoff != 10*time.Minute || c.Upstream.OutboxSize != 1000 {
		t.Errorf("defaults: %v, max_upload_bytes %d, upstream %+v", err, c.API.MaxUploadBytes, c.Upstream)
	}
	t.Setenv("BASELINE_UPSTREAM_SERVER", "http://baseline-api.baseline.svc:8443")
	t.Setenv("BASELINE_UPSTREAM_SECRET_ID", "AKIDnode")
	t.Setenv("BASELINE_UPSTREAM_SECRET_KEY", "node-secret")
	t.Setenv("BASELINE_UPSTREAM_BACKOFF", "250ms")
	t.Setenv("BASELINE_UPSTREAM_OUTBOX_SIZE", "5")
	c, err = loadServeConfig(serve, g, empty)
	if err != nil {
		t.Fatal(err)
	}
	if u := c.Upstream; u.Server != "http://baseline-api.baseline.svc:8443" || u.SecretID != "AKIDnode" || u.SecretKey != "node-secret" || u.Backoff != 250*time.Millisecond ||
		u.OutboxSize != 5 {
		t.Errorf("upstream from the environment = %+v", u)
	}
	t.Setenv("BASELINE_UPSTREAM_OUTBOX_SIZE", "0")
	if _, err := loadServeConfig(serve, g, empty); err == nil || !strings.Contains(err.Error(), "outbox_size") {
		t.Errorf("an outbox of no task: %v", err)
	}
	t.Setenv("BASELINE_UPSTREAM_OUTBOX_SIZE", "5")
	t.Setenv("BASELINE_UPSTREAM_SECRET_KEY", "")
	if _, err := loadServeConfig(serve, g, empty); err == nil || !strings.Contains(err.Error(), "upstream") || !strings.Contains(err.Error(), "BASELINE_UPSTREAM_SECRET_KEY") {
		t.Errorf("an upstream without its secret key: %v", err)
	}
	t.Setenv("BASELINE_UPSTREAM_SECRET_KEY", "node-secret")
	t.Setenv("BASELINE_UPSTREAM_SERVER", "baseline-api:8443")
	if _, err := loadServeConfig(serve, g, empty); err == nil || !strings.Contains(err.Error(), "upstream") || !strings.Contains(err.Error(), "baseline-api:8443") {
		t.Errorf("an upstream address without a scheme: %v", err)
	}
}

// A key's upload scope: nodes (a list) or upload_any_node, from the file,
// and for the key of the environment from BASELINE_API_NODES and
// BASELINE_API_UPLOAD_ANY_NODE.
func TestKeyUploadScopeConfiguration(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out}
	serve, _, err := newRoot(g).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(cfg, []byte(`api:
  keys:
    - {secret_id: AKIDnode1, secret_key: s1, nodes: [node-1]}
    - {secret_id: AKIDcentral, secret_key: s2, upload_any_node: true}
    - {secret_id: AKIDfirst, secret_key: s3}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BASELINE_API_SECRET_ID", "AKIDenv")
	t.Setenv("BASELINE_API_SECRET_KEY", "s4")
	t.Setenv("BASELINE_API_NODES", "node-2, node-3")
	c, err := loadServeConfig(serve, g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := c.API.Keys
	if len(keys) != 4 || strings.Join(keys[0].Nodes, ",") != "node-1" || keys[0].UploadAnyNode || !keys[1].UploadAnyNode || len(keys[1].Nodes) != 0 ||
		len(keys[2].Nodes) != 0 || keys[2].UploadAnyNode || strings.Join(keys[3].Nodes, ",") != "node-2,node-3" {
		t.Errorf("keys = %+v", keys)
	}
	t.Setenv("BASELINE_API_NODES", "")
	t.Setenv("BASELINE_API_UPLOAD_ANY_NODE", "true")
	if c, err = loadServeConfig(serve, g, cfg); err != nil || !c.API.Keys[3].UploadAnyNode {
		t.Errorf("the environment's key with BASELINE_API_UPLOAD_ANY_NODE: %+v, %v", c.API.Keys, err)
	}
}

// The authentication settings: the example's values are the defaults, and
// each comes from its BASELINE_API_* variable too.
func TestAPIAuthConfiguration(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out}
	serve, _, err := newRoot(g).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, []byte("log_level: info\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"../../../deploy/config.example.yaml", empty} {
		c, err := loadServeConfig(serve, g, file)
		if err != nil {
			t.Fatal(err)
		}
		if a := c.API; a.AuthFailuresPerSecond != 1 || a.AuthFailureBurst != 20 || a.RequireSignedAction || a.MaxSpooledBodies != server.DefaultMaxSpooledBodies {
			t.Errorf("%s: auth_failures_per_second %v, auth_failure_burst %d, require_signed_action %v, max_spooled_bodies %d; want 1, 20, false, %d",
				file, a.AuthFailuresPerSecond, a.AuthFailureBurst, a.RequireSignedAction, a.MaxSpooledBodies, server.DefaultMaxSpooledBodies)
		}
	}
	t.Setenv("BASELINE_API_REQUIRE_SIGNED_ACTION", "true")
	t.Setenv("BASELINE_API_AUTH_FAILURES_PER_SECOND", "0.5")
	t.Setenv("BASELINE_API_AUTH_FAILURE_BURST", "5")
	t.Setenv("BASELINE_API_MAX_SPOOLED_BODIES", "2")
	c, err := loadServeConfig(serve, g, empty)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.API; !a.RequireSignedAction || a.AuthFailuresPerSecond != 0.5 || a.AuthFailureBurst != 5 || a.MaxSpooledBodies != 2 {
		t.Errorf("from the environment: %+v", a)
	}
}

// console.listen is off in the example and comes from
// BASELINE_CONSOLE_LISTEN too.
func TestConsoleListenConfiguration(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out}
	serve, _, err := newRoot(g).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadServeConfig(serve, g, "../../../deploy/config.example.yaml")
	if err != nil || c.Console.Listen != "" {
		t.Fatalf("example: console.listen %q, %v; want none", c.Console.Listen, err)
	}
	t.Setenv("BASELINE_CONSOLE_LISTEN", "127.0.0.1:9443")
	if c, err = loadServeConfig(serve, g, "../../../deploy/config.example.yaml"); err != nil || c.Console.Listen != "127.0.0.1:9443" {
		t.Errorf("with BASELINE_CONSOLE_LISTEN: console.listen %q, %v", c.Console.Listen, err)
	}
}
