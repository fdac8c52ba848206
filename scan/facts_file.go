package scan

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/cmdline"
	"github.com/baselinehq/baseline/internal/jsondoc"
	"gopkg.in/yaml.v2"
)

var varRef = regexp.MustCompile(`\$\{(daemon_config|daemon_info|process)\.([^}]+)\}`)

// located is a path and the file system it is read in: the host's root,
// or the root of the process whose flag named it.
type located struct {
	fsys *hostfs.Root
	path string
}

// expand replaces ${daemon_config.KEY}, ${daemon_info.Key} and
// ${process.NAME.FLAG} (the value of a flag of the running process NAME,
// e.g. ${process.kubelet.--config}) in a path. missing names the first
// variable that is not set.
//
// A path that a process named (its flag, or dockerd's configuration) is
// read as that process sees it, in its own root: fsys is that root, else
// the host's. A process in a container thus never makes the scanner read a
// host file the container cannot see.
func (h *hostContext) expand(p string) (out located, missing string, err error) {
	out.fsys = h.root
	named := func(fsys *hostfs.Root) {
		if fsys == h.root || err != nil {
			return
		}
		if out.fsys != h.root && out.fsys != fsys {
			err = fmt.Errorf("%s names files of two processes (pids %d and %d)", p, out.fsys.PID(), fsys.PID())
			return
		}
		out.fsys = fsys
	}
	out.path = varRef.ReplaceAllStringFunc(p, func(m string) string {
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
			if v, _ := doc[sm[2]].(string); v != "" {
				named(dc.Root)
			}
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
				if vals := cmdline.ParseFlags(procs[0].Args)[flag]; len(vals) > 0 && vals[len(vals)-1] != "" {
					doc[sm[2]] = vals[len(vals)-1]
					fsys, rerr := h.root.ProcessRoot(procs[0].PID)
					if rerr != nil {
						err = fmt.Errorf("%s (pid %d) names %s: %w", name, procs[0].PID, vals[len(vals)-1], rerr)
						return ""
					}
					named(fsys)
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
		var paths []located
		var unset []string
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
				matches, err := exp.fsys.Glob(exp.path)
				if err != nil {
					return checks.Observation{}, fmt.Errorf("glob %s: %w", exp.path, err)
				}
				for _, m := range matches {
					paths = append(paths, located{exp.fsys, m})
				}
				continue
			}
			paths = append(paths, exp)
		}
		switch src.Combine {
		case checks.CombineEach:
			var obs checks.Observation
			for _, p := range paths {
				s, err := fileSubject(p, src.Format)
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
			names := make([]string, len(paths))
			for i, p := range paths {
				fi, err := p.fsys.Stat(p.path)
				if err != nil {
					return checks.Observation{}, err
				}
				if fi.Exists {
					s, err := fileSubject(p, src.Format)
					if err != nil {
						return checks.Observation{}, err
					}
					return one(s), nil
				}
				names[i] = p.path + seenBy(p.fsys)
			}
			return one(checks.Subject{Name: "file " + names[0], Doc: map[string]any{"path": paths[0].path, "exists": false},
				Missing: "no such file: " + strings.Join(names, ", ")}), nil
		}
	})
}

// seenBy says in whose root a path was read: nothing for the host's, else
// the process's.
func seenBy(fsys *hostfs.Root) string {
	if fsys.PID() == 0 {
		return ""
	}
	return fmt.Sprintf(" (as pid %d sees it)", fsys.PID())
}

// fileSubject describes one file: its metadata and, per format, content.
func fileSubject(l located, format checks.Format) (checks.Subject, error) {
	p, fsys := l.path, l.fsys
	fi, err := fsys.Stat(p)
	if err != nil {
		return checks.Subject{}, err
	}
	doc := map[string]any{"path": p, "exists": fi.Exists}
	s := checks.Subject{Name: "file " + p + seenBy(fsys), Doc: doc}
	if !fi.Exists {
		s.Missing = "no such file: " + p + seenBy(fsys)
		return s, nil
	}
	doc["type"] = fi.Type
	doc["mode"] = fi.ModeString()
	doc["owner"], doc["group"] = fi.Owner, fi.Group
	doc["uid"], doc["gid"] = fi.UID, fi.GID
	if fsys.MountsKnown() == nil {
		doc["mountpoint"] = fi.MountPoint
	}
	if format == checks.FormatNone || format == "" || fi.Type != "file" {
		return s, nil
	}
	data, err := fsys.ReadFile(p)
	if err != nil {
		return s, err
	}
	content, err := parseContent(data, format)
	if err != nil {
		return s, fmt.Errorf("file %s%s: %w", p, seenBy(fsys), err)
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
