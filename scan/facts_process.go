package scan

import (
	"context"
	"path"
	"strings"

	"github.com/baselinehq/baseline/checks"
)

// observeProcesses lists a running container's processes through the
// engine's top (one call, no exec) and those that are an SSH daemon; a
// container that is not running has none to read ({running: false}).
func (f *assetFacts) observeProcesses(ctx context.Context) (checks.Observation, error) {
	state, _ := dig(f.doc, "State", "Status").(string)
	running, _ := dig(f.doc, "State", "Running").(bool)
	doc := map[string]any{"running": running, "state": state, "processes": []any{}, "sshd": []any{}}
	if !running {
		return one(checks.Subject{Name: "container processes (not running: " + state + ")", Doc: doc}), nil
	}
	if err := f.host.engineAvailable(); err != nil {
		return checks.Observation{}, err
	}
	procs, err := f.host.engine.ContainerTop(ctx, f.ref)
	if err != nil {
		return checks.Observation{}, err
	}
	list := make([]any, 0, len(procs))
	var sshd []any
	for _, p := range procs {
		line := "pid " + p.PID + ": " + maskSecrets(p.Command)
		list = append(list, line)
		if isSSHD(p.Command) {
			sshd = append(sshd, line)
		}
	}
	doc["processes"] = list
	if sshd != nil {
		doc["sshd"] = sshd
	}
	return one(checks.Subject{Name: "container processes (docker top)", Doc: doc}), nil
}

// interpreters run a script named by their first argument.
var interpreters = map[string]bool{"sh": true, "ash": true, "bash": true, "dash": true, "zsh": true,
	"busybox": true, "python": true, "python3": true, "perl": true}

// isSSHD reports whether a command line runs an SSH daemon: its program,
// or the script an interpreter runs, is named sshd, or it is one of
// sshd's own per-connection processes ("sshd: user@pts/0").
func isSSHD(cmd string) bool {
	words := strings.Fields(cmd)
	if len(words) == 0 {
		return false
	}
	name := func(w string) string { return path.Base(w) }
	first := name(words[0])
	if first == "sshd" || strings.HasPrefix(first, "sshd:") {
		return true
	}
	if interpreters[first] {
		for _, w := range words[1:] {
			if strings.HasPrefix(w, "-") {
				continue
			}
			return name(w) == "sshd"
		}
	}
	return false
}
