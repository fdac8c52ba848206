package hostfs

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
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
		if (len(got) > 0 || len(want) > 0) && !reflect.DeepEqual(got, want) {
			t.Errorf("Glob(%s) = %v, want %v", pattern, got, want)
		}
	}
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// assertConfined checks reads through a process's root: its own file is
// read, and the host's decoy is never reached, whether named directly,
// through "..", or through an absolute or a climbing symbolic link.
func assertConfined(t *testing.T, pr *Root, decoy string) {
	t.Helper()
	if data, err := pr.ReadFile("/etc/app.yaml"); err != nil || string(data) != "own: true\n" {
		t.Errorf("/etc/app.yaml = %q, %v; want the process's own file", data, err)
	}
	for _, p := range []string{decoy, "/../../../../.." + decoy, "/etc/abs-link", "/etc/up-link"} {
		if data, err := pr.ReadFile(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(%s) = %q, %v; want not found inside the process's root", p, data, err)
		}
		if fi, err := pr.Stat(p); err != nil || fi.Exists {
			t.Errorf("Stat(%s) = %+v, %v; want not found inside the process's root", p, fi, err)
		}
	}
	got, err := pr.Glob("/etc/*")
	if err != nil || !reflect.DeepEqual(got, []string{"/etc/abs-link", "/etc/app.yaml", "/etc/passwd", "/etc/up-link"}) {
		t.Errorf("Glob(/etc/*) = %v, %v; want the process's own /etc", got, err)
	}
	// Owners are named by the host's tables, not the process's /etc/passwd.
	if fi, err := pr.Stat("/etc/app.yaml"); err != nil || fi.Owner == "evil" {
		t.Errorf("owner = %+v, %v; want the host's name for the uid", fi, err)
	}
}

// TestProcessRootOfAFixture: in a host tree, a process's root is the
// directory its /proc/PID/root link names; reads through it stay inside.
func TestProcessRootOfAFixture(t *testing.T) {
	dir := t.TempDir()
	decoy := "/root/host-only.conf"
	writeTree(t, dir, map[string]string{decoy: "host-secret\n", "/etc/passwd": "root:x:0:0::/root:/bin/sh\n",
		"/ctr/etc/app.yaml": "own: true\n", "/ctr/etc/passwd": "evil:x:0:0::/:/bin/sh\n", "/proc/100/cmdline": "app\x00"})
	symlink(t, decoy, filepath.Join(dir, "ctr/etc/abs-link"))
	symlink(t, "../../../.."+decoy, filepath.Join(dir, "ctr/etc/up-link"))
	symlink(t, "/ctr", filepath.Join(dir, "proc/100/root"))
	symlink(t, "/", filepath.Join(dir, "proc/200/root"))
	root := New(dir)
	defer root.Close()
	pr, err := root.ProcessRoot(100)
	if err != nil || pr == root || pr.PID() != 100 {
		t.Fatalf("ProcessRoot(100) = %+v, %v; want the container's root", pr, err)
	}
	assertConfined(t, pr, decoy)
	if same, err := root.ProcessRoot(200); err != nil || same != root {
		t.Errorf("ProcessRoot(200) = %+v, %v; want the host root itself (its root is /)", same, err)
	}
	if _, err := root.ProcessRoot(300); err == nil {
		t.Error("ProcessRoot(300) of a process without a root directory succeeded")
	}
}

// TestProcessRootOfAChrootedProcess: on a live /proc, a process chrooted
// into a directory has that directory as its root: /proc/PID/root is the
// kernel's link there, and a plain read through it follows the process's
// absolute links to this machine's files. Reads through ProcessRoot stay
// inside the process's root.
func TestProcessRootOfAChrootedProcess(t *testing.T) {
	testhost.RequireRoot(t, "chroot")
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		testhost.Missing(t, "no busybox to run in a chroot", "install busybox-static")
	}
	decoyDir := t.TempDir()
	decoy := filepath.Join(decoyDir, "host-only.conf")
	writeTree(t, decoyDir, map[string]string{"host-only.conf": "host-secret\n"})
	ctr := t.TempDir()
	writeTree(t, ctr, map[string]string{"/etc/app.yaml": "own: true\n", "/etc/passwd": "evil:x:0:0::/:/bin/sh\n"})
	symlink(t, decoy, filepath.Join(ctr, "etc/abs-link"))
	symlink(t, "../../../../../../../.."+decoy, filepath.Join(ctr, "etc/up-link"))
	bin, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, ctr, map[string]string{"/bin/busybox": string(bin)})
	if err := os.Chmod(filepath.Join(ctr, "bin/busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: "/bin/busybox", Args: []string{"sleep", "300"}, SysProcAttr: &syscall.SysProcAttr{Chroot: ctr}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	// The danger: the kernel's own path walk through the link follows the
	// process's absolute link to this machine's file.
	if data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "root/etc/abs-link")); err != nil || string(data) != "host-secret\n" {
		t.Fatalf("plain read through /proc/%d/root = %q, %v; the test expects it to reach the decoy", pid, data, err)
	}
	root := New("/")
	defer root.Close()
	pr, err := root.ProcessRoot(pid)
	if err != nil || pr == root || pr.PID() != pid {
		t.Fatalf("ProcessRoot(%d) = %+v, %v; want the chroot", pid, pr, err)
	}
	assertConfined(t, pr, decoy)
	if self, err := root.ProcessRoot(os.Getpid()); err != nil || self != root {
		t.Errorf("ProcessRoot(self) = %+v, %v; want the host root itself", self, err)
	}
}
