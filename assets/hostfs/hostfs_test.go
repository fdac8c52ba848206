package hostfs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/internal/testhost"
)

func TestStatReadsModesAndHostOwnerNames(t *testing.T) {
	root := New(testhost.Tree(t, "loose"))
	fi, err := root.Stat("/etc/docker/daemon.json")
	if err != nil {
		t.Fatal(err)
	}
	// uid 1000 is "alice" in the fixture's own /etc/passwd, whatever this
	// machine calls it.
	if !fi.Exists || fi.Type != "file" || fi.ModeString() != "0666" || fi.Owner != "alice" || fi.Group != "alice" || fi.UID != 1000 {
		t.Errorf("daemon.json = %+v (mode %s)", fi, fi.ModeString())
	}
	fi, err = root.Stat("/etc/docker")
	if err != nil || fi.Type != "dir" || fi.ModeString() != "0777" || fi.Owner != "root" {
		t.Errorf("/etc/docker = %+v, %v", fi, err)
	}
	fi, err = root.Stat("/etc/nothing")
	if err != nil || fi.Exists {
		t.Errorf("missing file = %+v, %v; want Exists false and no error", fi, err)
	}
}

func TestModeStringShowsSpecialBits(t *testing.T) {
	for _, c := range []struct {
		mode os.FileMode
		want string
	}{
		{0o644, "0644"},
		{0o755 | os.ModeSetuid, "4755"},
		{0o750 | os.ModeSetgid, "2750"},
		{0o777 | os.ModeSticky | os.ModeDir, "1777"},
	} {
		if got := (FileInfo{Mode: c.mode}).ModeString(); got != c.want {
			t.Errorf("ModeString(%v) = %s, want %s", c.mode, got, c.want)
		}
	}
}

func TestMountPointsFromTheHostsMountTable(t *testing.T) {
	root := New(testhost.Tree(t, "hardened"))
	if err := root.MountsKnown(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"/var/lib/docker": true, "/etc/docker": false} {
		fi, err := root.Stat(path)
		if err != nil || fi.MountPoint != want {
			t.Errorf("%s: mountpoint %v (%v), want %v", path, fi.MountPoint, err, want)
		}
	}
}

// An absolute symlink in the host tree resolves inside the host root, never
// to this machine's file of the same name.
func TestSymlinksStayInsideTheRoot(t *testing.T) {
	dir := testhost.Tree(t, "hardened")
	if err := os.Symlink("/etc/docker/hardened.json", filepath.Join(dir, "etc", "link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../etc/hostname", filepath.Join(dir, "etc", "escape")); err != nil {
		t.Fatal(err)
	}
	root := New(dir)
	data, err := root.ReadFile("/etc/link.json")
	if err != nil || len(data) == 0 || data[0] != '{' {
		t.Errorf("link.json = %q, %v; want the fixture's hardened.json", data, err)
	}
	data, err = root.ReadFile("/etc/escape")
	if err != nil || string(data) != "hardened\n" {
		t.Errorf("escape = %q, %v; want the fixture's own /etc/hostname", data, err)
	}
}

func TestProcessesAndTheirArguments(t *testing.T) {
	root := New(testhost.Tree(t, "hardened"))
	procs, err := root.FindProcesses("dockerd")
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || procs[0].PID != 4242 || procs[0].Exe != "/usr/bin/dockerd" {
		t.Fatalf("dockerd = %+v", procs)
	}
	want := []string{"--config-file=/etc/docker/hardened.json", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"}
	if !reflect.DeepEqual(procs[0].Args, want) {
		t.Errorf("args = %q, want %q", procs[0].Args, want)
	}
	if none, _ := root.FindProcesses("containerd"); len(none) != 0 {
		t.Errorf("containerd = %+v, want none", none)
	}
}

func TestGlobReturnsHostPaths(t *testing.T) {
	root := New(testhost.Tree(t, "hardened"))
	got, err := root.Glob("/etc/docker/certs.d/*/*")
	if err != nil || !reflect.DeepEqual(got, []string{"/etc/docker/certs.d/registry.example:5000/ca.crt"}) {
		t.Errorf("Glob = %v, %v", got, err)
	}
}

func TestReadFileBoundsSize(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, MaxFileSize+1)
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(dir).ReadFile("/big"); err == nil {
		t.Error("reading a file over MaxFileSize succeeded")
	}
}

// A glob lists names inside the root only: ".." at the root stays at the
// root, and a symbolic link to a directory resolves inside the root, as
// every other path does; no name of a file outside the root is returned.
func TestGlobStaysInsideTheRoot(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "root")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{filepath.Join(dir, "etc", "app"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "etc", "app", "inside.conf"), filepath.Join(outside, "outside-name.conf")} {
		if err := os.WriteFile(f, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../../outside", filepath.Join(dir, "etc", "rel")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "etc", "abs")); err != nil {
		t.Fatal(err)
	}
	root := New(dir)
	for pattern, want := range map[string][]string{
		"/../outside/*": nil,
		strings.Repeat("/..", 30) + outside + "/*": nil,
		"/etc/rel/*":         nil,
		"/etc/abs/*":         nil,
		"/etc/*/*.conf":      {"/etc/app/inside.conf"},
		"/etc/../etc/app/*":  {"/etc/app/inside.conf"},
		"/../etc/app/in*":    {"/etc/app/inside.conf"},
		"/etc/app/inside.co": nil,
	} {
		got, err := root.Glob(pattern)
		if err != nil {
			t.Errorf("Glob(%s): %v", pattern, err)
			continue
		}
		for _, g := range got {
			if strings.Contains(g, "outside") || strings.Contains(g, "..") {
				t.Errorf("Glob(%s) = %v: a name outside the root", pattern, got)
			}
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("Glob(%s) = %v, want %v", pattern, got, want)
		}
	}
}
