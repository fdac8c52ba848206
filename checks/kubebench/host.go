package kubebench

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Process is one entry of the process table, as kube-bench sees it: the
// command name (the kernel's, at most 15 characters) and the arguments.
type Process struct {
	PID  int
	Comm string
	Args []string
}

// Host is what the variable substitution reads: the process table, to
// find which component binaries run, and the file system, to find which
// configuration files exist.
type Host interface {
	Processes() ([]Process, error)
	// Exists reports whether a path exists; an error other than "does not
	// exist" is returned.
	Exists(path string) (bool, error)
}

// LocalHost reads the host whose root file system is mounted at Root ("/"
// when empty).
type LocalHost struct{ Root string }

func (h LocalHost) root() string {
	if h.Root == "" {
		return "/"
	}
	return h.Root
}

// Processes reads /proc: each process's comm and command line. Kernel
// threads (no command line) and processes that end while being read are
// left out.
func (h LocalHost) Processes() ([]Process, error) {
	dir := filepath.Join(h.root(), "proc")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(dir, e.Name(), "comm"))
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(dir, e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		out = append(out, Process{PID: pid, Comm: strings.TrimRight(string(comm), "\n"), Args: args})
	}
	return out, nil
}

// Exists stats the path under the root.
func (h LocalHost) Exists(p string) (bool, error) {
	_, err := os.Stat(filepath.Join(h.root(), p))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist), strings.HasSuffix(err.Error(), "not a directory"):
		return false, nil
	}
	return false, err
}

// commLen is the length of a process's command name in the kernel.
const commLen = 15

// running reports whether bin (one of a component's `bins`, possibly of
// several words) runs, as kube-bench decides it: a process whose command
// name is the first word's (compared on 15 characters) and whose command
// line starts with bin, after an optional directory.
func running(procs []Process, bin string) bool {
	bin = strings.Trim(bin, `'"`)
	words := strings.Fields(bin)
	if len(words) == 0 {
		return false
	}
	name := words[0]
	if len(name) > commLen {
		name = name[:commLen]
	}
	re, err := regexp.Compile(`^(\S*\/)*` + bin)
	if err != nil {
		return false
	}
	for _, p := range procs {
		if p.Comm != name {
			continue
		}
		if re.MatchString(strings.Join(p.Args, " ")) {
			return true
		}
	}
	return false
}
