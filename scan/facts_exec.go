package scan

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/cmdline"
)

// commandTimeout bounds one audit command.
const commandTimeout = 30 * time.Second

func (h *hostContext) observeProcess(src *checks.Source) (checks.Observation, error) {
	name := src.Name
	procs, err := h.root.FindProcesses(name)
	if err != nil {
		return checks.Observation{}, err
	}
	if len(procs) == 0 {
		return one(checks.Subject{Name: "process " + name, Doc: map[string]any{"running": false}, Flags: map[string][]string{},
			Missing: "no " + name + " process is running"}), nil
	}
	var obs checks.Observation
	for _, p := range procs {
		flags := cmdline.ParseFlags(p.Args)
		fdoc := map[string]any{}
		for k, v := range flags {
			fdoc[k] = anyList(v)
		}
		doc := map[string]any{"running": true, "pid": p.PID, "exe": p.Exe, "cmdline": strings.Join(append([]string{p.Exe}, p.Args...), " "), "flags": fdoc}
		subj := checks.Subject{Name: fmt.Sprintf("process %s (pid %d)", name, p.PID), Doc: doc, Flags: flags}
		if src.ConfigFlag != "" {
			notVisible, err := h.processConfig(&subj, src, p.PID, flags)
			if err != nil {
				return checks.Observation{}, err
			}
			if notVisible != "" {
				// Its values could come from a file we cannot read: judge
				// nothing rather than judge the flags alone.
				return checks.Observation{Empty: notVisible}, nil
			}
		}
		obs.Subjects = append(obs.Subjects, subj)
	}
	return obs, nil
}

// processConfig reads the configuration file that the process's
// ConfigFlag names (the file it was started with, never a default path)
// into the subject's document under "config", with the file's metadata
// under "config_file". The file is read as the process sees it, in its own
// root: a component in a container has its file read there, and no
// process can make the scanner read a host file it cannot see itself.
// It returns why the file cannot be judged when the process's root has no
// such file.
func (h *hostContext) processConfig(subj *checks.Subject, src *checks.Source, pid int, flags map[string][]string) (string, error) {
	doc := subj.Doc.(map[string]any)
	vals := flags[src.ConfigFlag]
	if len(vals) == 0 || vals[len(vals)-1] == "" {
		subj.Name += " (no " + src.ConfigFlag + ")"
		return "", nil
	}
	p := vals[len(vals)-1]
	fsys, err := h.root.ProcessRoot(pid)
	if err != nil {
		return "", fmt.Errorf("%s (pid %d) names %s with %s: %w", src.Name, pid, p, src.ConfigFlag, err)
	}
	fs, err := fileSubject(located{fsys, p}, src.Format)
	if err != nil {
		return "", err
	}
	if fs.Missing != "" {
		return fmt.Sprintf("%s's %s file %s is not visible to it (%s)", src.Name, src.ConfigFlag, p, fs.Missing), nil
	}
	fdoc := fs.Doc.(map[string]any)
	if c, ok := fdoc["content"]; ok {
		doc["config"] = c
		delete(fdoc, "content")
	}
	doc["config_file"] = fdoc
	subj.Name += " with " + src.ConfigFlag + " " + p + seenBy(fsys)
	return "", nil
}

// observeShell runs a shell audit with kube-bench's semantics: standard
// output and error are judged together, and a command that exits non-zero
// could not be carried out (the check fails with its output as the
// reason). The audit_env command's output becomes the subject's
// environment, the audit_config command's its document; a configuration
// command that finds no file is ignored when the audit printed something.
func observeShell(ctx context.Context, src *checks.Source, environ []string) (checks.Observation, error) {
	var env string
	if src.EnvShell != "" {
		out, err := runShell(ctx, src.EnvShell, environ)
		var ae *auditError
		if errors.As(err, &ae) {
			// Its output is an environment: never shown.
			return checks.Observation{}, fmt.Errorf("audit_env %q: %w (its output is an environment, not shown)", src.EnvShell, ae.err)
		}
		if err != nil {
			return checks.Observation{}, err
		}
		env = out
	}
	out, err := runShell(ctx, src.Shell, environ)
	if err != nil {
		return checks.Observation{}, err
	}
	subj := checks.Subject{Name: src.Shell, Text: out}
	if env != "" {
		subj.Env, subj.Masked = checks.ParseEnv(env), true
	}
	if src.ConfigShell != "" {
		cfg, err := runShell(ctx, src.ConfigShell, environ)
		var ae *auditError
		switch {
		case errors.As(err, &ae) && ae.notFound() && (out != "" || env != ""):
		case err != nil:
			return checks.Observation{}, err
		case strings.TrimSpace(cfg) != "":
			if doc, perr := parseContent([]byte(cfg), checks.FormatYAML); perr == nil {
				subj.Doc = doc
			}
		}
	}
	return one(subj), nil
}

// runShell runs benchmark text (never asset data) with /bin/sh in the
// environment env (nil: this process's) and returns its standard output
// and error together.
func runShell(ctx context.Context, script string, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := auditCommand(ctx, []string{"/bin/sh"}, true)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(script)
	out := &boundedOutput{max: maxAuditOutput, stop: cancel}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if out.over {
		return "", &auditError{script: script, output: out.String(), err: errOutputLimit}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("stopped (limit %s): %w", commandTimeout, ctx.Err())
		}
		return out.String(), &auditError{script: script, output: out.String(), err: err}
	}
	return out.String(), nil
}

// auditError is a shell audit that could not run: its exit status (or
// why it was stopped) and its output.
type auditError struct {
	script, output string
	err            error
}

func (e *auditError) Error() string {
	return fmt.Sprintf("audit %q: %v; output: %q", e.script, e.err, excerpt(strings.TrimSpace(e.output)))
}

func (e *auditError) Unwrap() error { return e.err }

// notFound reports whether a configuration command found no file: exit
// status 127 or "No such file or directory" in its output (kube-bench's
// rule for audit_config).
func (e *auditError) notFound() bool {
	if errors.Is(e.err, errOutputLimit) {
		return false
	}
	var ee *exec.ExitError
	return errors.As(e.err, &ee) && ee.ExitCode() == 127 || strings.Contains(e.output, "No such file or directory")
}

// auditCommand makes the command that runs an audit's argv (benchmark
// text only, never asset data). The audit runs in a process group of its
// own; when its context ends the whole group is killed (a pipeline's
// children too), and the scan stops waiting for its output shortly after.
//
// The audit also dies with this process, however this process ends (a
// daemon killed with SIGKILL has no chance to clean up), through a
// parent-death signal. That signal only reaches a direct child, and a
// shell audit's own children (a pipeline) would outlive it: a shell runs
// under a small /bin/sh (withGroup) that the kernel sends SIGTERM when this
// process dies and that then kills its whole group. A command (one
// program, its argv never shown to a shell) is the direct child itself,
// killed outright.
//
// The parent-death signal comes when the thread that started the child
// ends; Go ends a thread only when a goroutine locked to it exits, which
// nothing that runs audits does.
func auditCommand(ctx context.Context, argv []string, withGroup bool) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if withGroup {
		// argv (here /bin/sh, the script on its standard input) is an
		// argument of the wrapper, never shell text.
		cmd = exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", dieWithParent, "audit"}, argv...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// dieWithParent runs "$@" in the background, with the shell's standard
// input (an asynchronous command's would be /dev/null), and waits for it,
// exiting with its status; SIGTERM (the parent-death signal) interrupts the
// wait and kills the process group.
const dieWithParent = `trap 'kill -KILL 0' TERM; exec 3<&0; "$@" <&3 3<&- & wait $!`

// runCommand runs an audit command from a benchmark file. Its argv comes
// only from benchmark text, never from asset data.
func runCommand(ctx context.Context, argv []string, format checks.Format, label string) (checks.Observation, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := auditCommand(ctx, argv, false)
	stdout := &boundedOutput{max: maxAuditOutput, stop: cancel}
	stderr := &boundedOutput{max: maxAuditOutput, stop: cancel}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if stdout.over || stderr.over {
		return checks.Observation{}, fmt.Errorf("%s: %w", label, errOutputLimit)
	}
	if err != nil {
		if ctx.Err() != nil {
			return checks.Observation{}, fmt.Errorf("%s: stopped (limit %s): %w", label, commandTimeout, ctx.Err())
		}
		var ee *exec.ExitError
		// A non-zero exit with output is still an answer (grep finding
		// nothing, a config printer that warns); no output is a failure.
		if !errors.As(err, &ee) || stdout.Len() == 0 {
			msg := excerpt(strings.TrimSpace(stderr.String()))
			if msg == "" {
				msg = err.Error()
			}
			if errors.As(err, &ee) && stdout.Len() == 0 && stderr.Len() == 0 {
				return one(checks.Subject{Name: label, Text: ""}), nil
			}
			return checks.Observation{}, fmt.Errorf("%s: %s", label, msg)
		}
	}
	s := checks.Subject{Name: label, Text: stdout.String()}
	if format == checks.FormatJSON || format == checks.FormatYAML || format == checks.FormatKV {
		doc, err := parseContent(stdout.Bytes(), format)
		if err != nil {
			return checks.Observation{}, fmt.Errorf("%s: %w", label, err)
		}
		s.Doc = doc
	}
	return one(s), nil
}
