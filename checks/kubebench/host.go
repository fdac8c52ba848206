package kubebench

import (
	"regexp"
	"strings"

	"github.com/baselinehq/baseline/assets/hostfs"
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

// LocalHost reads the host whose root file system is mounted at a
// directory ("/" for the zero value), through the scanner's own reader of host roots (symbolic
// links resolved inside the root).
type LocalHost struct{ root *hostfs.Root }

// NewLocalHost reads the host under root; its process table and user
// tables are read once.
func NewLocalHost(root string) LocalHost { return LocalHost{root: hostfs.New(root)} }

func (h LocalHost) fs() *hostfs.Root {
	if h.root == nil {
		return hostfs.New("/")
	}
	return h.root
}

// Processes reads the process table: each process's command name and
// command line.
func (h LocalHost) Processes() ([]Process, error) {
	procs, err := h.fs().Processes()
	if err != nil {
		return nil, err
	}
	out := make([]Process, 0, len(procs))
	for _, p := range procs {
		out = append(out, Process{PID: p.PID, Comm: p.Comm, Args: append([]string{p.Exe}, p.Args...)})
	}
	return out, nil
}

// Exists stats the path under the root.
func (h LocalHost) Exists(p string) (bool, error) {
	fi, err := h.fs().Stat(p)
	if err != nil {
		return false, err
	}
	return fi.Exists, nil
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
