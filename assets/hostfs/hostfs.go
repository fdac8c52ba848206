// Package hostfs reads a host's files and process table under a host root:
// "/" on the host itself, a read-only mount of the host's root when baseline
// runs in a container, or a fixture tree in tests. It only ever reads.
package hostfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// MaxFileSize bounds how much of one file is read as content.
const MaxFileSize = 4 << 20

// FileInfo is what a file check needs to know about one path.
type FileInfo struct {
	Path       string // the path on the host (not joined with the root)
	Exists     bool
	Type       string // file, dir, socket, symlink, device, fifo
	Mode       fs.FileMode
	UID, GID   int
	Owner      string // user name from the host's /etc/passwd, or the uid
	Group      string // group name from the host's /etc/group, or the gid
	MountPoint bool
}

// ModeString is the permission bits in octal, with setuid, setgid and
// sticky as a leading digit: "0644", "4755".
func (fi FileInfo) ModeString() string {
	m := uint32(fi.Mode.Perm())
	if fi.Mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if fi.Mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if fi.Mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return fmt.Sprintf("%04o", m)
}

// Process is one entry of the process table.
type Process struct {
	PID  int
	Exe  string   // argv[0]
	Args []string // argv[1:]
	// Comm is the kernel's command name (at most 15 characters).
	Comm string
}

// Name is the base name of the executable.
func (p Process) Name() string { return filepath.Base(p.Exe) }

// Root reads under one host root. It caches the user and group tables, the
// mount table and the process table: one read per scan.
//
// A Root may also be the file system one process sees (ProcessRoot): its
// root directory, every path resolved inside it.
type Root struct {
	dir string
	// proc, for a process's root, is that directory, opened once; every
	// path resolves inside it. pid is the process and host the root it was
	// found under. All are zero for a host root.
	proc *os.File
	pid  int
	host *Root

	rootsMu sync.Mutex
	roots   map[int]processRoot // process roots by pid, for a host root

	once   sync.Once
	users  map[int]string
	groups map[int]string
	mounts map[string]bool
	mntErr error

	procOnce sync.Once
	procs    []Process
	procErr  error
}

// New returns a reader rooted at dir.
func New(dir string) *Root {
	if dir == "" {
		dir = "/"
	}
	return &Root{dir: filepath.Clean(dir)}
}

// Dir is the host root directory (for a process's root, its /proc/PID/root
// under the host root).
func (r *Root) Dir() string { return r.dir }

// Resolve maps a host path to a path on this machine, following symlinks
// inside the root so that a link never escapes it. A process's root has no
// such path: it is only read through its open directory.
func (r *Root) Resolve(path string) (string, error) {
	if r.proc != nil {
		return "", fmt.Errorf("%s: the root of pid %d is read through its directory, not by path", path, r.pid)
	}
	if r.dir == "/" {
		return filepath.Clean(path), nil
	}
	return securejoin.SecureJoin(r.dir, path)
}

// Stat describes a path; a missing path gives Exists false and no error.
func (r *Root) Stat(path string) (FileInfo, error) {
	fi := FileInfo{Path: path}
	st, err := r.stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fi, nil
	}
	if err != nil {
		return fi, err
	}
	fi.Exists = true
	fi.Mode = st.Mode()
	fi.Type = fileType(st.Mode())
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fi.UID, fi.GID = int(sys.Uid), int(sys.Gid)
	}
	r.loadTables()
	fi.Owner = nameOr(r.users, fi.UID)
	fi.Group = nameOr(r.groups, fi.GID)
	fi.MountPoint = r.mounts[filepath.Clean(path)]
	return fi, nil
}

// MountsKnown reports whether the mount table could be read.
func (r *Root) MountsKnown() error {
	r.loadTables()
	return r.mntErr
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	}
	return "file"
}

func nameOr(names map[int]string, id int) string {
	if n, ok := names[id]; ok {
		return n
	}
	return strconv.Itoa(id)
}

func (r *Root) stat(path string) (fs.FileInfo, error) {
	if r.proc != nil {
		return r.procStat(path)
	}
	real, err := r.Resolve(path)
	if err != nil {
		return nil, err
	}
	return os.Stat(real)
}

// ReadFile reads at most MaxFileSize bytes of a host file. In a process's
// root it reads regular files only.
func (r *Root) ReadFile(path string) ([]byte, error) {
	f, err := r.open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileSize+1)); err != nil {
		return nil, err
	}
	if buf.Len() > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxFileSize)
	}
	return buf.Bytes(), nil
}

// Glob returns the host paths matching a pattern, sorted. The pattern is
// read as a path inside the root: ".." at the root stays at the root, and
// each directory it lists is resolved inside the root (a symbolic link to a
// directory outside it lists that name inside the root, as every other
// read does), so no name outside the root is ever returned.
func (r *Root) Glob(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	clean := path.Clean("/" + filepath.ToSlash(pattern))
	cands := []string{"/"}
	for _, comp := range strings.Split(strings.TrimPrefix(clean, "/"), "/") {
		if comp == "" {
			continue
		}
		var next []string
		for _, dir := range cands {
			if !hasMeta(comp) {
				next = append(next, path.Join(dir, comp))
				continue
			}
			names, err := r.readDirNames(dir)
			if err != nil {
				continue // not a directory, or gone: no match below it
			}
			for _, n := range names {
				if ok, _ := path.Match(comp, n); ok {
					next = append(next, path.Join(dir, n))
				}
			}
		}
		cands = next
	}
	out := make([]string, 0, len(cands))
	for _, c := range cands {
		if r.lexists(c) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

func (r *Root) open(path string) (*os.File, error) {
	if r.proc != nil {
		return r.procOpen(path)
	}
	real, err := r.Resolve(path)
	if err != nil {
		return nil, err
	}
	return os.Open(real)
}

// readDirNames lists a directory of the root, resolved inside the root.
func (r *Root) readDirNames(dir string) ([]string, error) {
	if r.proc != nil {
		return r.procReadDirNames(dir)
	}
	real, err := r.Resolve(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// lexists reports whether a path of the root exists, its last element
// not followed when it is a symbolic link (as filepath.Glob matches).
func (r *Root) lexists(p string) bool {
	if r.proc != nil {
		return r.procLexists(p)
	}
	parent, err := r.Resolve(path.Dir(p))
	if err != nil {
		return false
	}
	_, err = os.Lstat(filepath.Join(parent, path.Base(p)))
	return err == nil
}

// loadTables reads the user and group tables and the mount table. A
// process's root names owners with its host's tables (a container's own
// /etc/passwd could call any uid root), and its mount points are those of
// the process's own mount table.
func (r *Root) loadTables() {
	r.once.Do(func() {
		if r.host != nil {
			r.host.loadTables()
			r.users, r.groups = r.host.users, r.host.groups
		} else {
			r.users = r.readIDTable("/etc/passwd")
			r.groups = r.readIDTable("/etc/group")
		}
		r.mounts, r.mntErr = r.readMounts()
	})
}

// readIDTable reads name:x:id:... lines.
func (r *Root) readIDTable(path string) map[int]string {
	out := map[int]string{}
	data, err := r.ReadFile(path)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		if id, err := strconv.Atoi(f[2]); err == nil {
			if _, dup := out[id]; !dup {
				out[id] = f[0]
			}
		}
	}
	return out
}

// readMounts reads the host's mount table: /proc/1/mountinfo under the
// host root (the host's init), or this process's own table on "/". For a
// process's root, it is that process's table, whose mount points are
// paths as the process sees them.
func (r *Root) readMounts() (map[string]bool, error) {
	path := filepath.Join(r.dir, "proc/1/mountinfo")
	switch {
	case r.host != nil:
		path = filepath.Join(r.host.dir, "proc", strconv.Itoa(r.pid), "mountinfo")
	case r.dir == "/":
		path = "/proc/self/mountinfo"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return map[string]bool{}, fmt.Errorf("mount table: %w", err)
	}
	mounts := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 4 {
			mounts[unescapeMount(f[4])] = true
		}
	}
	return mounts, nil
}

// unescapeMount undoes the octal escapes of mountinfo (\040 for space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Processes returns the process table, read once (a process's root gives
// its host's).
func (r *Root) Processes() ([]Process, error) {
	if r.host != nil {
		return r.host.Processes()
	}
	r.procOnce.Do(func() { r.procs, r.procErr = r.readProcesses() })
	return r.procs, r.procErr
}

func (r *Root) readProcesses() ([]Process, error) {
	procDir := filepath.Join(r.dir, "proc")
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("process table: %w", err)
	}
	var procs []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cmdline"))
		if err != nil || len(data) == 0 {
			continue // exited, or a kernel thread
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		comm, _ := os.ReadFile(filepath.Join(procDir, e.Name(), "comm"))
		procs = append(procs, Process{PID: pid, Exe: argv[0], Args: argv[1:], Comm: strings.TrimRight(string(comm), "\n")})
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	return procs, nil
}

// FindProcesses returns the processes whose executable base name is name.
func (r *Root) FindProcesses(name string) ([]Process, error) {
	procs, err := r.Processes()
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, p := range procs {
		if p.Name() == name {
			out = append(out, p)
		}
	}
	return out, nil
}

// ProcessCgroup returns a process's control groups as /proc/PID/cgroup
// lists them (one "ID:CONTROLLERS:PATH" line each): the processes of one
// container share them.
func (r *Root) ProcessCgroup(pid int) (string, error) {
	if r.host != nil {
		return r.host.ProcessCgroup(pid)
	}
	data, err := os.ReadFile(filepath.Join(r.dir, "proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", fmt.Errorf("control groups of pid %d: %w", pid, err)
	}
	return string(data), nil
}
