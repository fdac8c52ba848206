// Package testhost is the shared test harness: fixture host trees
// (this file), the verdicts of a scan indexed by item number with the
// assertions a case states (verdicts.go), and the rule for a test whose
// component (Docker, a browser, a Kubernetes API server, root) is missing,
// and unit runs that skip them all (components.go).
//
// Tree copies testdata/hosts/NAME to a temporary directory and applies the
// file modes and owners listed in its _modes file, which git cannot store.
// A _modes line is `PATH MODE [UID:GID]`, PATH relative to the tree root,
// MODE in octal; `#` starts a comment.
package testhost

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Dir returns the repository's testdata/hosts directory.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "hosts")
}

// Tree materializes the fixture host NAME and returns its root.
func Tree(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(Dir(), name)
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "_modes" {
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		return copyFile(p, target)
	})
	if err != nil {
		t.Fatalf("fixture host %s: %v", name, err)
	}
	applyModes(t, filepath.Join(src, "_modes"), dst)
	return dst
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func applyModes(t testing.TB, modesFile, root string) {
	t.Helper()
	f, err := os.Open(modesFile)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			t.Fatalf("%s:%d: want PATH MODE [UID:GID]", modesFile, n)
		}
		p := filepath.Join(root, fields[0])
		mode, err := strconv.ParseUint(fields[1], 8, 32)
		if err != nil {
			t.Fatalf("%s:%d: mode %q: %v", modesFile, n, fields[1], err)
		}
		if err := os.Chmod(p, os.FileMode(mode&0o777)|specialBits(mode)); err != nil {
			t.Fatalf("%s:%d: %v", modesFile, n, err)
		}
		if len(fields) > 2 {
			uid, gid, ok := strings.Cut(fields[2], ":")
			u, err1 := strconv.Atoi(uid)
			g, err2 := strconv.Atoi(gid)
			if !ok || err1 != nil || err2 != nil {
				t.Fatalf("%s:%d: owner %q is not UID:GID", modesFile, n, fields[2])
			}
			RequireRoot(t, "fixture "+fields[0]+" needs chown")
			if err := os.Lchown(p, u, g); err != nil {
				t.Fatalf("%s:%d: %v", modesFile, n, err)
			}
		}
	}
}

func specialBits(mode uint64) os.FileMode {
	var m os.FileMode
	if mode&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// FakeProcess builds testdata/fakeproc, a static program that ignores its
// arguments and runs until stopped, and returns its path. Copied or
// started under any name (kubelet, etcd), it is a process of that name in
// the process table.
func FakeProcess(t testing.TB) string {
	t.Helper()
	src := filepath.Join(Dir(), "..", "fakeproc", "main.go")
	out := filepath.Join(t.TempDir(), "fakeproc")
	cmd := exec.Command("go", "build", "-o", out, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", src, err, b)
	}
	return out
}
