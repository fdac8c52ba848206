package kubebench

import (
	"fmt"
	"sort"
	"strings"

	"github.com/baselinehq/baseline/checks"
)

// resolve finds, for one node type's section of the configuration, which
// binary of each component runs and which of its files exist, as
// kube-bench does: the first running binary (else, for an optional
// component, the component's name), the first existing file (else the
// default, else the component's name).
func resolve(comps []component, host Host, procs []Process) (map[string]string, map[string]map[string]string, []string, []checks.Problem) {
	bins := map[string]string{}
	files := map[string]map[string]string{}
	var missing []string
	var problems []checks.Problem
	for _, c := range comps {
		if len(c.bins) > 0 {
			bin := ""
			for _, b := range c.bins {
				if running(procs, b) {
					bin = b
					break
				}
			}
			if bin == "" && !c.optional {
				missing = append(missing, c.name)
			}
			if bin == "" {
				bin = c.name
			}
			bins[c.name] = bin
		}
		for kind, spec := range c.files {
			if files[kind] == nil {
				files[kind] = map[string]string{}
			}
			file := ""
			for _, cand := range spec.candidates {
				ok, err := host.Exists(cand)
				if err != nil {
					problems = append(problems, checks.Problem{Pos: c.pos, Msg: fmt.Sprintf("component %s: looking for %s: %v", c.name, cand, err)})
					break
				}
				if ok {
					file = cand
					break
				}
			}
			switch {
			case file != "":
			case spec.hasDef:
				file = spec.def
			default:
				file = c.name
			}
			files[kind][c.name] = file
		}
	}
	return bins, files, missing, problems
}

// apply substitutes the variables in a target file's text, in kube-bench's
// order: binaries, configuration files, service files, kubeconfigs, CA
// files, data directories. A value of several words is quoted. As in
// kube-bench, no binary is substituted when a mandatory component runs
// none of its binaries.
func apply(text string, bins map[string]string, files map[string]map[string]string, missing []string) string {
	if len(missing) == 0 {
		text = replaceAll(text, "bin", bins)
	}
	for _, fk := range fileKinds {
		text = replaceAll(text, fk.suffix, files[fk.kind])
	}
	return text
}

// replaceAll replaces $NAMEext by each value; longer names go first, so
// that a name that begins another never replaces a part of it.
func replaceAll(text, ext string, values map[string]string) string {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		v := values[n]
		if v == "" {
			continue
		}
		if len(strings.Fields(v)) > 1 {
			v = "'" + v + "'"
		}
		text = strings.ReplaceAll(text, "$"+n+ext, v)
	}
	return text
}
