package docker

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/internal/testhost"
)

// The daemon's configuration comes from the file its --config-file flag
// names, not from the default path beside it.
func TestDaemonConfigFollowsConfigFileFlag(t *testing.T) {
	dc, err := ReadDaemonConfig(hostfs.New(testhost.Tree(t, "hardened")))
	if err != nil {
		t.Fatal(err)
	}
	if !dc.Running || dc.PID != 4242 || dc.File != "/etc/docker/hardened.json" || !dc.FileFound {
		t.Fatalf("config = %+v", dc)
	}
	if dc.Doc["icc"] != false || dc.Doc["log-level"] != "info" || dc.Doc["_config_file"] != "/etc/docker/hardened.json" {
		t.Errorf("doc = %v; want hardened.json's values, not the decoy daemon.json", dc.Doc)
	}
	if !reflect.DeepEqual(dc.Doc["hosts"], []any{"fd://"}) {
		t.Errorf("hosts = %#v, want the -H flag as a list", dc.Doc["hosts"])
	}
}

// Flags are laid over daemon.json, under daemon.json's key names.
func TestDaemonConfigMergesFlags(t *testing.T) {
	dc, err := ReadDaemonConfig(hostfs.New(testhost.Tree(t, "loose")))
	if err != nil {
		t.Fatal(err)
	}
	if dc.File != DefaultConfigFile || !dc.FileFound {
		t.Fatalf("file = %s (found %v), want the default", dc.File, dc.FileFound)
	}
	if dc.Doc["iptables"] != false {
		t.Errorf("iptables = %#v, want false from --iptables=false", dc.Doc["iptables"])
	}
	if !reflect.DeepEqual(dc.Doc["hosts"], []any{"tcp://0.0.0.0:2375"}) {
		t.Errorf("hosts = %#v", dc.Doc["hosts"])
	}
	if !reflect.DeepEqual(dc.Doc["insecure-registries"], []any{"10.1.2.3:5000"}) || dc.Doc["icc"] != true {
		t.Errorf("file values lost: %v", dc.Doc)
	}
}

func TestDaemonConfigWithoutDockerd(t *testing.T) {
	dc, err := ReadDaemonConfig(hostfs.New(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if dc.Running || dc.Flags != nil || dc.FileFound || dc.Doc["_config_file"] != DefaultConfigFile || dc.ProcessErr == nil {
		t.Errorf("config = %+v", dc)
	}
}

func TestPathShape(t *testing.T) {
	for in, want := range map[string]string{
		"/v1.41/containers/abc/json":  "/containers/{id}/json",
		"/v1.41/images/sha256:x/json": "/images/{id}/json",
		"/v1.41/containers/json":      "/containers/json",
		"/_ping":                      "/_ping",
	} {
		if got := pathShape(in); got != want {
			t.Errorf("pathShape(%s) = %s, want %s", in, got, want)
		}
	}
}

// A dockerd in a container has its configuration read in its own root: a
// --config-file flag naming a host file reads the container's file of that
// name, never the host's.
func TestDaemonConfigReadAsDockerdSeesIt(t *testing.T) {
	dir := testhost.Tree(t, "hardened")
	for p, content := range map[string]string{
		"etc/docker/hardened.json":     `{"icc": true, "log-level": "host-decoy"}`,
		"ctr/etc/docker/hardened.json": `{"icc": false, "log-level": "warn"}`,
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "proc/4242/root")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/ctr", link); err != nil {
		t.Fatal(err)
	}
	root := hostfs.New(dir)
	defer root.Close()
	dc, err := ReadDaemonConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Doc["log-level"] != "warn" || dc.Doc["icc"] != false || dc.Root == root || dc.Root.PID() != 4242 {
		t.Errorf("doc = %v (root of pid %d); want the container's hardened.json", dc.Doc, dc.Root.PID())
	}
}
