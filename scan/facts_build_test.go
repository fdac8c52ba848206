package scan

import (
	"context"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/assets/imagearchive"
	"github.com/baselinehq/baseline/assets/imagefs"
	"github.com/baselinehq/baseline/checks"
)

func history(steps ...string) []map[string]any {
	out := make([]map[string]any, 0, len(steps))
	for i := len(steps) - 1; i >= 0; i-- { // newest first, as the engine lists it
		out = append(out, map[string]any{"CreatedBy": steps[i]})
	}
	return out
}

// An update alone in a RUN step is found in every builder's form; joined
// with an install (or an upgrade) it is not; other instructions never are.
func TestUpdatesAlone(t *testing.T) {
	cases := []struct {
		step  string
		alone bool
	}{
		{"/bin/sh -c apt-get update", true},
		{"RUN /bin/sh -c apt-get -q update # buildkit", true},
		{"sh -c apk update", true},
		{"/bin/sh -c yum makecache", true},
		{"/bin/sh -c dnf -y update", true},
		{"/bin/sh -c zypper --non-interactive refresh", true},
		{"|1 HTTP_PROXY=x /bin/sh -c apt update", true},
		{"/bin/sh -c apt-get update && apt-get install -y curl", false},
		{"/bin/sh -c apt-get update && apt-get -y dist-upgrade", false},
		{"/bin/sh -c apk update && apk add curl", false},
		{"/bin/sh -c apk add --update curl", false},
		{"/bin/sh -c yum update -y && yum install -y x", false},
		{"/bin/sh -c #(nop)  LABEL note=apt-get update", false},
		{"LABEL note=apt-get update # buildkit", false},
		{"/bin/sh -c echo update", false},
	}
	for _, c := range cases {
		obs := updatesObservation(history("", c.step))
		doc := obs.Subjects[0].Doc.(map[string]any)
		got := len(doc["updates_alone"].([]any)) > 0
		if got != c.alone {
			t.Errorf("%q: alone %v, want %v", c.step, got, c.alone)
		}
		if obs.Partial != "" {
			t.Errorf("%q: partial %q with a recorded step", c.step, obs.Partial)
		}
	}
	if obs := updatesObservation(history("")); obs.Partial == "" {
		t.Error("a history without steps is not partial")
	}
}

// Secrets: credential-like names with values, values in the shape of a
// credential, in the environment and the history; values never shown.
func TestSecretsFound(t *testing.T) {
	env := map[string]string{
		"DB_PASSWORD": "hunter2", "POSTGRES_PASSWORD_FILE": "/run/secrets/pw", "API_TOKEN": "",
		"PATH": "/usr/bin", "GPG_KEY": "ABCDEF", "AWS_SECRET_ACCESS_KEY": "abc", "UPSTREAM": "https://bob:pw1234@example.com/",
		"GITHUB": "ghp_" + strings.Repeat("a", 36),
	}
	steps := []string{
		"",
		"/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2",
		"/bin/sh -c #(nop)  ARG TOKEN",
		"|1 NPM_TOKEN=abc123 /bin/sh -c npm ci",
		"/bin/sh -c mysql --password=hunter2 -e 'select 1'",
		"/bin/sh -c curl -u x https://bob:pw1234@example.com/x",
		"/bin/sh -c echo $PASSWORD > /x",
		"/bin/sh -c apt-get install -y pass",
	}
	obs := secretsObservation(env, history(steps...), imagefs.Files{Secrets: []string{"/k (x)"}}, "layers")
	doc := obs.Subjects[0].Doc.(map[string]any)
	wantEnv := []string{"AWS_SECRET_ACCESS_KEY=<masked> (a credential-like name)", "DB_PASSWORD=<masked> (a credential-like name)",
		"GITHUB=<masked> (a credential-like value)", "UPSTREAM=<masked> (a credential-like value)"}
	if got := strs(doc["env"]); strings.Join(got, "|") != strings.Join(wantEnv, "|") {
		t.Errorf("env: %q\nwant %q", got, wantEnv)
	}
	wantHist := []string{
		"/bin/sh -c #(nop)  ENV DB_PASSWORD=<masked>",
		"|1 NPM_TOKEN=<masked> /bin/sh -c npm ci",
		"/bin/sh -c mysql --password=<masked> -e 'select 1'",
		"/bin/sh -c curl -u x https://bob:<masked>@example.com/x",
	}
	if got := strs(doc["history"]); strings.Join(got, "|") != strings.Join(wantHist, "|") {
		t.Errorf("history: %q\nwant %q", got, wantHist)
	}
	for _, s := range append(strs(doc["env"]), strs(doc["history"])...) {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "pw1234") || strings.Contains(s, "abc123") {
			t.Errorf("a secret is shown: %q", s)
		}
	}
	if len(strs(doc["files"])) != 1 {
		t.Errorf("files: %v", doc["files"])
	}
}

func strs(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

// sshd is recognised as a program, as a script an interpreter runs and as
// sshd's per-connection process, not as an argument of another program.
func TestIsSSHD(t *testing.T) {
	for cmd, want := range map[string]bool{
		"/usr/sbin/sshd -D":         true,
		"sshd: alice@pts/0":         true,
		"/bin/sh /usr/sbin/sshd -D": true,
		"sh -c /usr/sbin/sshd -D":   true,
		"grep sshd":                 false,
		"sleep 3600":                false,
		"/usr/sbin/sshd-keygen":     false,
		"":                          false,
	} {
		if got := isSSHD(cmd); got != want {
			t.Errorf("%q: %v, want %v", cmd, got, want)
		}
	}
}

// An archived image has no engine: its engine sources are empty, saying
// so, so that an automated item reading them is not applicable.
func TestArchivedImageHasNoEngine(t *testing.T) {
	f := &archiveFacts{image: imagearchive.Image{Source: "app.tar"}}
	obs, err := f.Observe(context.Background(), &checks.Source{Kind: checks.SourceDaemonInfo})
	if err != nil || len(obs.Subjects) != 0 || !strings.Contains(obs.Empty, "without a Docker engine") || !strings.Contains(obs.Empty, "app.tar") {
		t.Errorf("daemon_info of an archived image: %+v, %v", obs, err)
	}
	if _, err := f.Observe(context.Background(), &checks.Source{Kind: checks.SourceContainer}); err == nil {
		t.Error("a container source was served for an archived image")
	}
}
