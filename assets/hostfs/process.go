package hostfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// processRoot is a cached answer of ProcessRoot.
type processRoot struct {
	root *Root
	err  error
}

// ProcessRoot returns the file system that process pid sees: its root
// directory, /proc/PID/root under this root. A file that a process names
// (a flag's value) is read there, so that a process in a container cannot
// make the scanner read a host file the container cannot see, and a
// component's file inside its own container is read where it is.
//
// Every path resolves inside that directory, as the kernel resolves it for
// a process chrooted there: "..", absolute symbolic links and symbolic
// links climbing out all stay inside it, and /proc's magic links are not
// followed (openat2 with RESOLVE_IN_ROOT, or an equivalent checked walk on
// older kernels). Owners are named with this root's user and group tables,
// never the process's own.
//
// When the process sees this root itself (same directory and, where it can
// be told, same mount namespace), the answer is this root. Roots are
// opened once per pid; Close releases them.
func (r *Root) ProcessRoot(pid int) (*Root, error) {
	if r.host != nil {
		return r.host.ProcessRoot(pid)
	}
	r.rootsMu.Lock()
	defer r.rootsMu.Unlock()
	if pr, ok := r.roots[pid]; ok {
		return pr.root, pr.err
	}
	root, err := r.openProcessRoot(pid)
	if r.roots == nil {
		r.roots = map[int]processRoot{}
	}
	r.roots[pid] = processRoot{root, err}
	return root, err
}

// PID is the process whose root this is; 0 for a host root.
func (r *Root) PID() int { return r.pid }

// Close releases the process roots opened under this root.
func (r *Root) Close() {
	if r.host != nil {
		return
	}
	r.rootsMu.Lock()
	defer r.rootsMu.Unlock()
	for pid, pr := range r.roots {
		if pr.root != nil && pr.root.proc != nil {
			pr.root.proc.Close()
		}
		delete(r.roots, pid)
	}
}

func (r *Root) openProcessRoot(pid int) (*Root, error) {
	name := path.Join("/proc", strconv.Itoa(pid), "root")
	var dir *os.File
	var err error
	live := isProcfs(filepath.Join(r.dir, "proc"))
	if live {
		// The kernel's magic link: opening it gives the directory the
		// process sees as "/", in its own mount namespace.
		dir, err = os.OpenFile(filepath.Join(r.dir, name), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	} else {
		// A host tree that is not a live /proc (a fixture): an ordinary
		// symbolic link or directory, resolved inside this root.
		var real string
		if real, err = r.Resolve(name); err == nil {
			dir, err = os.OpenFile(real, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the root directory of pid %d: %w", pid, err)
	}
	if r.sameRoot(dir, pid, live) {
		dir.Close()
		return r, nil
	}
	return &Root{dir: filepath.Join(r.dir, name), proc: dir, pid: pid, host: r}, nil
}

// sameRoot reports whether a process's root directory is this root's
// directory, seen through the same mounts. When that cannot be told on a
// live /proc, it is not: reading through the process's root is always
// right, only slower.
func (r *Root) sameRoot(dir *os.File, pid int, live bool) bool {
	var pst, hst unix.Stat_t
	if unix.Fstat(int(dir.Fd()), &pst) != nil || unix.Stat(r.dir, &hst) != nil {
		return false
	}
	if pst.Dev != hst.Dev || pst.Ino != hst.Ino {
		return false
	}
	// The same directory in another mount namespace may have other
	// mounts below it: compare the namespaces where /proc tells them.
	mine := filepath.Join(r.dir, "proc/1/ns/mnt")
	if r.dir == "/" {
		mine = "/proc/self/ns/mnt"
	}
	theirs, err1 := os.Readlink(filepath.Join(r.dir, "proc", strconv.Itoa(pid), "ns/mnt"))
	ours, err2 := os.Readlink(mine)
	if err1 != nil || err2 != nil {
		return !live // a host tree without namespaces (a fixture)
	}
	return theirs == ours
}

func isProcfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// procHandle opens a path of a process's root as an O_PATH handle,
// resolved inside the root.
func (r *Root) procHandle(p string) (*os.File, error) {
	f, err := pathrs.OpenatInRoot(r.proc, p)
	if err != nil {
		return nil, fmt.Errorf("%s in the root of pid %d: %w", p, r.pid, unwrapPath(err))
	}
	return f, nil
}

// unwrapPath drops the resolver's own *PathError, whose path is not the
// host's, keeping the cause (ENOENT stays fs.ErrNotExist).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (r *Root) procStat(p string) (fs.FileInfo, error) {
	h, err := r.procHandle(p)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.Stat()
}

// procOpen opens a regular file of a process's root for reading: the
// handle that was resolved is the one reopened, so the file read is the
// file checked (never a FIFO or a device swapped in meanwhile).
func (r *Root) procOpen(p string) (*os.File, error) {
	h, err := r.procHandle(p)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	st, err := h.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in the root of pid %d is not a regular file", p, r.pid)
	}
	return pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK)
}

func (r *Root) procReadDirNames(dir string) ([]string, error) {
	h, err := r.procHandle(dir)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func (r *Root) procLexists(p string) bool {
	if path.Clean(p) == "/" {
		return true
	}
	h, err := r.procHandle(path.Dir(p))
	if err != nil {
		return false
	}
	defer h.Close()
	var st unix.Stat_t
	return unix.Fstatat(int(h.Fd()), path.Base(p), &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}
