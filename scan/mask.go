package scan

import (
	"regexp"
	"strconv"
	"strings"
)

// masked stands for a value that evidence never shows.
const masked = "<masked>"

// Secrets reach an image in its environment and its build arguments, and
// the engine shows both in several places: Config.Env and (images built
// by the classic builder) ContainerConfig.Env, the build step in
// ContainerConfig.Cmd, ONBUILD triggers, and the history's CreatedBy text.
// Every value of an environment variable or a build argument is masked
// wherever it appears, as a container's environment is: names stay, so an
// item can still say which variable is set. Labels are not masked: they are
// metadata that items judge (and anyone who can list images reads), not a
// place for secrets; a RUN command's own text is not masked either (only
// its build-argument prefix), as items judge what it runs.

// maskEnv returns the document's Config.Env as a map, for env tests (whose
// evidence never shows a value), and masks the values in the document
// itself: Config.Env, ContainerConfig.Env, ContainerConfig.Cmd's build
// arguments, ONBUILD triggers.
func maskEnv(doc map[string]any) map[string]string {
	env := map[string]string{}
	for _, section := range []string{"Config", "ContainerConfig"} {
		cfg, _ := doc[section].(map[string]any)
		list, _ := cfg["Env"].([]any)
		for i, e := range list {
			s, _ := e.(string)
			k, v, _ := strings.Cut(s, "=")
			if section == "Config" {
				env[k] = v
			}
			list[i] = k + "=" + masked
		}
		if steps, ok := cfg["OnBuild"].([]any); ok {
			maskArgv(steps)
		}
		if cmd, ok := cfg["Cmd"].([]any); ok && section == "ContainerConfig" {
			maskArgv(cmd) // the build step that made the image
		}
	}
	return env
}

// buildArgCount matches the classic builder's and BuildKit's prefix of a
// RUN step that build arguments reach: "|2" (then "K=V K2=V2").
var buildArgCount = regexp.MustCompile(`^\|([0-9]+)$`)

// maskArgv masks a build step given as a list (ContainerConfig.Cmd,
// ONBUILD triggers): the N arguments after "|N", and any element that is
// an ENV or ARG instruction.
func maskArgv(list []any) {
	if len(list) > 0 {
		first, _ := list[0].(string)
		if m := buildArgCount.FindStringSubmatch(first); m != nil {
			n, _ := strconv.Atoi(m[1])
			for i := 1; i <= n && i < len(list); i++ {
				s, _ := list[i].(string)
				if k, _, ok := strings.Cut(s, "="); ok {
					list[i] = k + "=" + masked
				} else {
					list[i] = masked
				}
			}
		}
	}
	for i, e := range list {
		if s, ok := e.(string); ok {
			list[i] = maskBuildStep(s)
		}
	}
}

// instruction finds an ENV or ARG instruction in a step's text: at its
// start (BuildKit: "ENV K=V"), or after the classic builder's "#(nop)"
// ("/bin/sh -c #(nop)  ENV K=V"), possibly as an ONBUILD trigger.
var instruction = regexp.MustCompile(`(?i)^((?:.*#\(nop\))?\s*(?:ONBUILD\s+)?)(ENV|ARG)(\s+)(.*)$`)

// runPrefix finds build arguments before a RUN command: "|1 K=V /bin/sh -c
// ..." (classic builder) or "RUN |1 K=V /bin/sh -c ..." (BuildKit).
var runPrefix = regexp.MustCompile(`^((?:RUN\s+)?)\|([0-9]+) (.*)$`)

// maskBuildStep masks the values of environment variables and build
// arguments in one step's text (a history line's CreatedBy, an element of
// a build command).
func maskBuildStep(s string) string {
	if m := runPrefix.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[2])
		return m[1] + "|" + m[2] + " " + maskBuildArgs(n, m[3])
	}
	if m := instruction.FindStringSubmatch(s); m != nil {
		return m[1] + m[2] + m[3] + maskAssignments(m[4], strings.EqualFold(m[2], "ENV"))
	}
	return s
}

// isAssignment reports whether a word starts an assignment: NAME=...
func isAssignment(w string) bool {
	k, _, ok := strings.Cut(w, "=")
	return ok && k != "" && !strings.ContainsAny(k, `/"'`)
}

// maskAssignments masks the values of "K=V K2=V2" (an ENV or ARG
// instruction's arguments). A word that is no assignment after one is
// part of its value (a value with spaces) and is masked with it; a bare
// name (ARG K) is kept. The legacy form "ENV K V..." masks everything
// after the name.
func maskAssignments(args string, env bool) string {
	words := strings.Fields(args)
	if len(words) == 0 {
		return args
	}
	if env && !strings.Contains(words[0], "=") {
		return words[0] + " " + masked
	}
	var out []string
	inValue := false
	for _, w := range words {
		switch {
		case isAssignment(w):
			k, _, _ := strings.Cut(w, "=")
			out = append(out, k+"="+masked)
			inValue = true
		case inValue:
			// continues the value before it: already masked
		default:
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// maskBuildArgs masks n build arguments at the start of rest and keeps the
// command after them. The text does not quote values, so a value runs up
// to the next assignment, and the last one up to the command, the first
// word that is a path ("/bin/sh -c ..."); without one, everything is
// masked rather than a value shown.
func maskBuildArgs(n int, rest string) string {
	words := strings.Split(rest, " ")
	var out []string
	i := 0
	for a := 0; a < n && i < len(words); a++ {
		k, _, ok := strings.Cut(words[i], "=")
		if !ok {
			return strings.Join(append(out, masked), " ")
		}
		out = append(out, k+"="+masked)
		i++
		for i < len(words) {
			if a < n-1 && isAssignment(words[i]) || a == n-1 && strings.HasPrefix(words[i], "/") {
				break
			}
			i++
		}
	}
	if i >= len(words) {
		return strings.Join(out, " ")
	}
	return strings.Join(append(out, words[i:]...), " ")
}
