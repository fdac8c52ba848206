package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/baselinehq/baseline/assets/docker"
	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/cmdline"
	"github.com/baselinehq/baseline/internal/jsondoc"
)

// commandTimeout bounds one audit command.
const commandTimeout = 30 * time.Second

// errNoEngine marks sources that need a Docker engine when none answered.
var errNoEngine = errors.New("docker engine unavailable")

// hostContext holds what every asset of one host shares: the host root, the
// engine, and caches so that each source is read once per scan.
type hostContext struct {
	root      *hostfs.Root
	engine    *docker.Engine
	daemon    *docker.Daemon
	engineErr error

	dcOnce sync.Once
	dc     *docker.DaemonConfig
	dcErr  error

	listOnce   sync.Once
	containers []docker.ContainerRef
	images     []docker.ImageRef
	listErr    error

	netOnce  sync.Once
	networks []map[string]any
	netErr   error

	cache sync.Map // source key → *cachedObs

	// audit is the environment of shell audits (KUBECONFIG).
	audit *auditEnv
}

type cachedObs struct {
	once sync.Once
	obs  checks.Observation
	err  error
}

// memo computes an observation once per key.
func (h *hostContext) memo(key string, f func() (checks.Observation, error)) (checks.Observation, error) {
	v, _ := h.cache.LoadOrStore(key, &cachedObs{})
	c := v.(*cachedObs)
	c.once.Do(func() { c.obs, c.err = f() })
	return c.obs, c.err
}

func (h *hostContext) engineAvailable() error {
	if h.engine == nil || h.daemon == nil {
		if h.engineErr != nil {
			return fmt.Errorf("%w: %v", errNoEngine, h.engineErr)
		}
		return errNoEngine
	}
	return nil
}

func (h *hostContext) daemonConfig() (*docker.DaemonConfig, error) {
	h.dcOnce.Do(func() { h.dc, h.dcErr = docker.ReadDaemonConfig(h.root) })
	return h.dc, h.dcErr
}

// lists lists containers and images once (for host items about sprawl,
// and for discovery).
func (h *hostContext) lists(ctx context.Context) ([]docker.ContainerRef, []docker.ImageRef, error) {
	h.listOnce.Do(func() {
		if h.listErr = h.engineAvailable(); h.listErr != nil {
			return
		}
		if h.containers, h.listErr = h.engine.ListContainers(ctx); h.listErr != nil {
			return
		}
		h.images, h.listErr = h.engine.ListImages(ctx)
	})
	return h.containers, h.images, h.listErr
}

// assetFacts serves the sources of one asset.
type assetFacts struct {
	host *hostContext
	// ref is the container or image id; doc its inspect document (env
	// values masked) and env its environment.
	ref string
	doc map[string]any
	env map[string]string
}

var _ checks.Facts = (*assetFacts)(nil)

// Observe implements checks.Facts.
func (f *assetFacts) Observe(ctx context.Context, src *checks.Source) (checks.Observation, error) {
	h := f.host
	switch src.Kind {
	case checks.SourceFile:
		return f.observeFile(src)
	case checks.SourceProcess:
		return h.memo("process\x00"+src.Name+"\x00"+src.ConfigFlag, func() (checks.Observation, error) { return h.observeProcess(src) })
	case checks.SourceDaemonInfo:
		if err := h.engineAvailable(); err != nil {
			return checks.Observation{}, err
		}
		return one(checks.Subject{Name: "docker info", Doc: h.daemon.Info}), nil
	case checks.SourceDaemonConfig:
		dc, err := h.daemonConfig()
		if err != nil {
			return checks.Observation{}, err
		}
		flags := dc.Flags
		if flags == nil {
			flags = map[string][]string{}
		}
		name := "daemon configuration " + dc.File
		switch {
		case dc.ProcessErr != nil:
			name += " (dockerd's flags unknown: " + dc.ProcessErr.Error() + ")"
		case !dc.Running:
			name += " (no dockerd process visible: flags unknown)"
		}
		return one(checks.Subject{Name: name, Doc: dc.Doc, Flags: flags}), nil
	case checks.SourceContainers, checks.SourceImages:
		return h.observeLists(ctx, src.Kind)
	case checks.SourceNetworks:
		h.netOnce.Do(func() {
			if h.netErr = h.engineAvailable(); h.netErr == nil {
				h.networks, h.netErr = h.engine.Networks(ctx)
			}
		})
		if h.netErr != nil {
			return checks.Observation{}, h.netErr
		}
		return one(checks.Subject{Name: "docker networks", Doc: map[string]any{"networks": anyList(h.networks)}}), nil
	case checks.SourceContainer:
		return one(checks.Subject{Name: "container inspect", Doc: f.doc, Env: f.env, Masked: true}), nil
	case checks.SourceImage:
		return one(checks.Subject{Name: "image inspect", Doc: f.doc, Env: f.env, Masked: true}), nil
	case checks.SourceImageHistory:
		return h.memo("history\x00"+f.ref, func() (checks.Observation, error) { return f.observeHistory(ctx) })
	case checks.SourceImageFiles:
		return h.memo("files\x00"+f.ref, func() (checks.Observation, error) { return f.observeImageFiles(ctx) })
	case checks.SourceCommand:
		return h.memo("command\x00"+strings.Join(src.Argv, "\x00"), func() (checks.Observation, error) {
			return runCommand(ctx, src.Argv, src.Format, strings.Join(src.Argv, " "))
		})
	case checks.SourceShell:
		return h.memo("shell\x00"+src.Shell+"\x00"+src.ConfigShell+"\x00"+src.EnvShell, func() (checks.Observation, error) {
			env, err := h.audit.environ()
			if err != nil {
				return checks.Observation{}, err
			}
			return observeShell(ctx, src, env)
		})
	}
	return checks.Observation{}, fmt.Errorf("source kind %s is not supported here", src.Kind)
}

func one(s checks.Subject) checks.Observation {
	return checks.Observation{Subjects: []checks.Subject{s}}
}

func anyList[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

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
			notVisible, err := h.processConfig(&subj, src, flags)
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
// under "config_file".
// It returns why the file cannot be read when the flag names one that is
// not on the node (a file inside the component's container).
func (h *hostContext) processConfig(subj *checks.Subject, src *checks.Source, flags map[string][]string) (string, error) {
	doc := subj.Doc.(map[string]any)
	vals := flags[src.ConfigFlag]
	if len(vals) == 0 || vals[len(vals)-1] == "" {
		subj.Name += " (no " + src.ConfigFlag + ")"
		return "", nil
	}
	p := vals[len(vals)-1]
	fs, err := h.fileSubject(p, src.Format)
	if err != nil {
		return "", err
	}
	if fs.Missing != "" {
		return fmt.Sprintf("%s's %s file %s is not visible on this node (%s)", src.Name, src.ConfigFlag, p, fs.Missing), nil
	}
	fdoc := fs.Doc.(map[string]any)
	if c, ok := fdoc["content"]; ok {
		doc["config"] = c
		delete(fdoc, "content")
	}
	doc["config_file"] = fdoc
	subj.Name += " with " + src.ConfigFlag + " " + p
	return "", nil
}

func (h *hostContext) observeLists(ctx context.Context, kind checks.SourceKind) (checks.Observation, error) {
	cs, ims, err := h.lists(ctx)
	if err != nil {
		return checks.Observation{}, err
	}
	if kind == checks.SourceContainers {
		running := 0
		list := make([]any, len(cs))
		for i, c := range cs {
			if c.State == "running" {
				running++
			}
			list[i] = map[string]any{"Id": c.ID, "Names": anyList(c.Names), "Image": c.Image, "State": c.State}
		}
		return one(checks.Subject{Name: "docker containers", Doc: map[string]any{"count": len(cs), "running": running, "containers": list}}), nil
	}
	dangling := 0
	list := make([]any, len(ims))
	for i, im := range ims {
		if len(im.RepoTags) == 0 || (len(im.RepoTags) == 1 && im.RepoTags[0] == "<none>:<none>") {
			dangling++
		}
		list[i] = map[string]any{"Id": im.ID, "RepoTags": anyList(im.RepoTags)}
	}
	return one(checks.Subject{Name: "docker images", Doc: map[string]any{"count": len(ims), "dangling": dangling, "images": list}}), nil
}

func (f *assetFacts) observeHistory(ctx context.Context) (checks.Observation, error) {
	if err := f.host.engineAvailable(); err != nil {
		return checks.Observation{}, err
	}
	hist, err := f.host.engine.ImageHistory(ctx, f.ref)
	if err != nil {
		return checks.Observation{}, err
	}
	lines := make([]string, 0, len(hist))
	for _, h := range hist {
		lines = append(lines, fmt.Sprint(h["CreatedBy"]))
	}
	return one(checks.Subject{Name: "image history", Doc: map[string]any{"history": anyList(hist)}, Text: strings.Join(lines, "\n")}), nil
}

func (f *assetFacts) observeImageFiles(ctx context.Context) (checks.Observation, error) {
	if err := f.host.engineAvailable(); err != nil {
		return checks.Observation{}, err
	}
	sf, err := f.host.engine.ImageSpecialFiles(ctx, f.ref)
	if err != nil {
		return checks.Observation{}, err
	}
	return one(checks.Subject{Name: "image file system", Doc: map[string]any{"setuid": anyList(sf.Setuid), "setgid": anyList(sf.Setgid)}}), nil
}

var varRef = regexp.MustCompile(`\$\{(daemon_config|daemon_info|process)\.([^}]+)\}`)

// expand replaces ${daemon_config.KEY}, ${daemon_info.Key} and
// ${process.NAME.FLAG} (the value of a flag of the running process NAME,
// e.g. ${process.kubelet.--config}) in a path. missing names the first
// variable that is not set.
func (h *hostContext) expand(p string) (out string, missing string, err error) {
	out = varRef.ReplaceAllStringFunc(p, func(m string) string {
		sm := varRef.FindStringSubmatch(m)
		var doc map[string]any
		switch sm[1] {
		case "daemon_config":
			dc, derr := h.daemonConfig()
			if derr != nil {
				err = derr
				return ""
			}
			doc = dc.Doc
		case "daemon_info":
			if aerr := h.engineAvailable(); aerr != nil {
				err = aerr
				return ""
			}
			doc = h.daemon.Info
		case "process":
			name, flag, _ := strings.Cut(sm[2], ".")
			procs, perr := h.root.FindProcesses(name)
			if perr != nil {
				err = perr
				return ""
			}
			doc = map[string]any{}
			if len(procs) > 0 {
				if vals := cmdline.ParseFlags(procs[0].Args)[flag]; len(vals) > 0 {
					doc[sm[2]] = vals[len(vals)-1]
				}
			}
		}
		v, _ := doc[sm[2]].(string)
		if v == "" && missing == "" {
			missing = sm[1] + "." + sm[2]
		}
		return v
	})
	return out, missing, err
}

func (f *assetFacts) observeFile(src *checks.Source) (checks.Observation, error) {
	h := f.host
	key := fmt.Sprintf("file\x00%s\x00%v\x00%s", strings.Join(src.Paths, "\x00"), src.Glob, src.Format)
	return h.memo(key, func() (checks.Observation, error) {
		var paths, unset []string
		for _, p := range src.Paths {
			exp, missing, err := h.expand(p)
			if err != nil {
				return checks.Observation{}, err
			}
			if missing != "" && src.Combine == checks.CombineFirst && len(src.Paths) > 1 {
				// Candidates: one naming an unset value gives way to the
				// next (a process's flag, else the default path).
				unset = append(unset, missing)
				continue
			}
			if missing != "" {
				return checks.Observation{Empty: missing + " is not set"}, nil
			}
			if src.Glob {
				matches, err := h.root.Glob(exp)
				if err != nil {
					return checks.Observation{}, fmt.Errorf("glob %s: %w", exp, err)
				}
				paths = append(paths, matches...)
				continue
			}
			paths = append(paths, exp)
		}
		switch src.Combine {
		case checks.CombineEach:
			var obs checks.Observation
			for _, p := range paths {
				s, err := h.fileSubject(p, src.Format)
				if err != nil {
					return checks.Observation{}, err
				}
				obs.Subjects = append(obs.Subjects, s)
			}
			if len(obs.Subjects) == 0 {
				obs.Empty = "no file matches " + strings.Join(src.Paths, ", ")
			}
			return obs, nil
		default: // first
			if len(paths) == 0 {
				return checks.Observation{Empty: strings.Join(unset, ", ") + " is not set"}, nil
			}
			for _, p := range paths {
				fi, err := h.root.Stat(p)
				if err != nil {
					return checks.Observation{}, err
				}
				if fi.Exists {
					s, err := h.fileSubject(p, src.Format)
					if err != nil {
						return checks.Observation{}, err
					}
					return one(s), nil
				}
			}
			return one(checks.Subject{Name: "file " + paths[0], Doc: map[string]any{"path": paths[0], "exists": false},
				Missing: "no such file: " + strings.Join(paths, ", ")}), nil
		}
	})
}

// fileSubject describes one file: its metadata and, per format, content.
func (h *hostContext) fileSubject(p string, format checks.Format) (checks.Subject, error) {
	fi, err := h.root.Stat(p)
	if err != nil {
		return checks.Subject{}, err
	}
	doc := map[string]any{"path": p, "exists": fi.Exists}
	s := checks.Subject{Name: "file " + p, Doc: doc}
	if !fi.Exists {
		s.Missing = "no such file: " + p
		return s, nil
	}
	doc["type"] = fi.Type
	doc["mode"] = fi.ModeString()
	doc["owner"], doc["group"] = fi.Owner, fi.Group
	doc["uid"], doc["gid"] = fi.UID, fi.GID
	if h.root.MountsKnown() == nil {
		doc["mountpoint"] = fi.MountPoint
	}
	if format == checks.FormatNone || format == "" || fi.Type != "file" {
		return s, nil
	}
	data, err := h.root.ReadFile(p)
	if err != nil {
		return s, err
	}
	content, err := parseContent(data, format)
	if err != nil {
		return s, fmt.Errorf("file %s: %w", p, err)
	}
	doc["content"] = content
	s.Text = string(data)
	return s, nil
}

// parseContent reads a file's or an output's content per format.
func parseContent(data []byte, format checks.Format) (any, error) {
	switch format {
	case checks.FormatJSON:
		if len(bytes.TrimSpace(data)) == 0 {
			return map[string]any{}, nil
		}
		doc, err := jsondoc.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return doc, nil
	case checks.FormatYAML:
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
		return jsondoc.Prune(doc), nil
	case checks.FormatKV:
		kv := map[string]any{}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			line = strings.TrimPrefix(line, "export ")
			if k, v, ok := strings.Cut(line, "="); ok {
				kv[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
			}
		}
		return kv, nil
	}
	return string(data), nil
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
	cmd := exec.CommandContext(ctx, "/bin/sh")
	killGroupOnCancel(cmd)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
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
	return fmt.Sprintf("audit %q: %v; output: %q", e.script, e.err, strings.TrimSpace(e.output))
}

func (e *auditError) Unwrap() error { return e.err }

// notFound reports whether a configuration command found no file: exit
// status 127 or "No such file or directory" in its output (kube-bench's
// rule for audit_config).
func (e *auditError) notFound() bool {
	var ee *exec.ExitError
	return errors.As(e.err, &ee) && ee.ExitCode() == 127 || strings.Contains(e.output, "No such file or directory")
}

// killGroupOnCancel runs the command in a process group of its own and,
// when its context ends, kills the whole group (a pipeline's children
// too), then stops waiting for its output shortly after.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
}

// runCommand runs an audit command from a benchmark file. Its argv comes
// only from benchmark text, never from asset data.
func runCommand(ctx context.Context, argv []string, format checks.Format, label string) (checks.Observation, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	killGroupOnCancel(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return checks.Observation{}, fmt.Errorf("%s: stopped (limit %s): %w", label, commandTimeout, ctx.Err())
		}
		var ee *exec.ExitError
		// A non-zero exit with output is still an answer (grep finding
		// nothing, a config printer that warns); no output is a failure.
		if !errors.As(err, &ee) || stdout.Len() == 0 {
			msg := strings.TrimSpace(stderr.String())
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
