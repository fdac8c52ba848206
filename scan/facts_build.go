package scan

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/baselinehq/baseline/assets/imagefs"
	"github.com/baselinehq/baseline/checks"
)

// An image's build, as its history and configuration show it: the update
// instructions run alone (CIS Docker 4.7) and the secrets it carries
// (4.10), judged the way image linters (trivy, dockle) judge them. The
// history is read unmasked to recognise secrets, and shown masked.

// noSteps is why an image's history cannot settle 4.7 or 4.10.
const noSteps = "the image's history records no build step (an imported image, or one built without history): review its Dockerfile by hand"

// buildSteps are the CreatedBy texts of an image's history, oldest first,
// unmasked; empty ones (an imported layer) are left out.
func buildSteps(history []map[string]any) []string {
	var steps []string
	for i := len(history) - 1; i >= 0; i-- {
		if by, _ := history[i]["CreatedBy"].(string); strings.TrimSpace(by) != "" {
			steps = append(steps, by)
		}
	}
	return steps
}

// instructionWord is BuildKit's form of a step: the instruction first.
var instructionWord = regexp.MustCompile(`^(?i)(RUN|ENV|ARG|COPY|ADD|WORKDIR|LABEL|USER|EXPOSE|HEALTHCHECK|CMD|ENTRYPOINT|SHELL|ONBUILD|STOPSIGNAL|VOLUME|MAINTAINER)\s`)

// isRunStep reports whether a step ran a command: BuildKit's "RUN …", the
// classic builder's "/bin/sh -c …" (its other instructions are "#(nop)"),
// or a committed container's command.
func isRunStep(step string) bool {
	if strings.Contains(step, "#(nop)") {
		return false
	}
	if m := instructionWord.FindStringSubmatch(strings.TrimSpace(step)); m != nil {
		return strings.EqualFold(m[1], "RUN")
	}
	return true
}

// opts matches a package manager's options before its subcommand.
const opts = `(?:\s+-\S+)*\s+`

// updateCommand refreshes a package index (or, for yum and dnf, updates
// from it); installCommand installs or upgrades from it.
var (
	updateCommand  = regexp.MustCompile(`\b(?:(?:apt-get|apt|aptitude)` + opts + `update|apk` + opts + `update|(?:yum|dnf|microdnf|tdnf)` + opts + `(?:update|makecache|check-update)|zypper` + opts + `(?:refresh|ref)|pacman\s+-Sy)\b`)
	installCommand = regexp.MustCompile(`\b(?:(?:apt-get|apt|aptitude)` + opts + `(?:install|upgrade|dist-upgrade|full-upgrade|build-dep)|apk` + opts + `(?:add|upgrade)|(?:yum|dnf|microdnf|tdnf)` + opts + `(?:install|upgrade|groupinstall|reinstall|localinstall|distro-sync)|zypper` + opts + `(?:install|in|update|up|dist-upgrade|dup|patch)|pacman\s+-S[a-z]*u)\b`)
)

// updatesObservation lists the RUN steps that update a package index
// without installing in the same step.
func updatesObservation(history []map[string]any) checks.Observation {
	steps := buildSteps(history)
	alone := []any{}
	runs := 0
	for _, s := range steps {
		if !isRunStep(s) {
			continue
		}
		runs++
		if updateCommand.MatchString(s) && !installCommand.MatchString(s) {
			alone = append(alone, maskSecrets(maskBuildStep(s)))
		}
	}
	obs := one(checks.Subject{Name: "image history", Doc: map[string]any{"steps": len(steps), "run_steps": runs, "updates_alone": alone}})
	if len(steps) == 0 {
		obs.Partial = noSteps
	}
	return obs
}

// credentialWords are the words of an environment variable's or a build
// argument's name that say it holds a credential; credentialKey matches
// the names that join two words (API_KEY, ACCESS_KEY).
var (
	credentialWords = map[string]bool{"PASSWORD": true, "PASSWD": true, "PASS": true, "PASSPHRASE": true, "SECRET": true,
		"SECRETS": true, "TOKEN": true, "APIKEY": true, "CREDENTIAL": true, "CREDENTIALS": true, "PRIVATEKEY": true}
	credentialKey = regexp.MustCompile(`(?i)(API|ACCESS|SECRET|PRIVATE|AUTH|ENCRYPTION|SIGNING|MASTER)_?KEY`)
	// referenceWords end a name that holds where a credential is, not the
	// credential (POSTGRES_PASSWORD_FILE).
	referenceWords = map[string]bool{"FILE": true, "PATH": true, "DIR": true, "LENGTH": true, "POLICY": true}
	nameWords      = regexp.MustCompile(`[A-Za-z0-9]+`)
)

// credentialName reports whether a variable's name says it holds a
// credential.
func credentialName(name string) bool {
	words := nameWords.FindAllString(strings.ToUpper(name), -1)
	if len(words) == 0 || referenceWords[words[len(words)-1]] {
		return false
	}
	for _, w := range words {
		if credentialWords[w] {
			return true
		}
	}
	return credentialKey.MatchString(name)
}

// secretValue matches values in the shape of well-known credentials.
var secretValue = regexp.MustCompile(strings.Join([]string{
	`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,                                  // AWS access key id
	`\bgh[pousr]_[A-Za-z0-9]{36,}`, `\bgithub_pat_[A-Za-z0-9_]{22,}`, // GitHub tokens
	`\bglpat-[A-Za-z0-9_-]{20,}`,                                         // GitLab token
	`\bxox[abposr]-[A-Za-z0-9-]{10,}`,                                    // Slack token
	`\bAIza[0-9A-Za-z_-]{35}`,                                            // Google API key
	`\b[sr]k_live_[0-9A-Za-z]{20,}`,                                      // Stripe key
	`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`, // JWT
	`-----BEGIN[A-Z ]*PRIVATE KEY-----`,                                  // PEM private key
}, "|"))

// urlCredentials matches a password in a URL (scheme://user:password@).
var urlCredentials = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)([^/\s@]+)@`)

// assignment matches NAME=VALUE within a command, and option a
// --name=VALUE or --name VALUE; a value that starts with $ refers to a
// variable.
var (
	assignment = regexp.MustCompile(`(?:^|[\s;&|'"(])([A-Za-z_][A-Za-z0-9_.]*)=([^\s;&|'"$][^\s;&|'"]*)`)
	option     = regexp.MustCompile(`(?:^|[\s;&|'"(])(--?[A-Za-z][A-Za-z0-9_.-]*)(?:=|\s+)([^\s;&|'"$-][^\s;&|'"]*)`)
)

// secretLooking reports whether a text holds a literal credential: a
// value in a known shape, a password in a URL, or a value given to a
// credential-like name (NAME=VALUE, --password VALUE).
func secretLooking(s string) bool {
	if secretValue.MatchString(s) || urlCredentials.MatchString(s) {
		return true
	}
	for _, re := range []*regexp.Regexp{assignment, option} {
		for _, m := range re.FindAllStringSubmatch(s, -1) {
			if credentialName(strings.TrimLeft(m[1], "-")) && m[2] != masked {
				return true
			}
		}
	}
	return false
}

// maskSecrets masks what secretLooking finds.
func maskSecrets(s string) string {
	s = secretValue.ReplaceAllString(s, masked)
	s = urlCredentials.ReplaceAllString(s, "${1}"+masked+"@")
	for _, re := range []*regexp.Regexp{assignment, option} {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			sub := re.FindStringSubmatch(m)
			if credentialName(strings.TrimLeft(sub[1], "-")) {
				return strings.TrimSuffix(m, sub[2]) + masked
			}
			return m
		})
	}
	return s
}

// secretsObservation lists the secrets an image carries: credential-like
// variables of its configured environment (names, values masked), build
// steps with secret-looking arguments (masked), and secret-looking files
// of its layers.
func secretsObservation(env map[string]string, history []map[string]any, files imagefs.Files, filesFrom string) checks.Observation {
	envs := []any{}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v := env[k]
		switch {
		case v == "":
		case credentialName(k):
			envs = append(envs, fmt.Sprintf("%s=%s (a credential-like name)", k, masked))
		case secretLooking(v):
			envs = append(envs, fmt.Sprintf("%s=%s (a credential-like value)", k, masked))
		}
	}
	steps := buildSteps(history)
	hist := []any{}
	for _, s := range steps {
		if secretLooking(s) {
			hist = append(hist, maskSecrets(maskBuildStep(s)))
		}
	}
	obs := one(checks.Subject{Name: "image configuration, history and " + filesFrom,
		Doc: map[string]any{"env": envs, "history": hist, "files": anyList(files.Secrets)}})
	if len(steps) == 0 {
		obs.Partial = noSteps
	}
	return obs
}
