package scan

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/checks"
)

// Build history lines, as the classic builder and BuildKit write them,
// keep their names and commands and lose every value of an environment
// variable or a build argument.
func TestMaskBuildStep(t *testing.T) {
	for in, want := range map[string]string{
		// classic builder
		"/bin/sh -c #(nop)  ENV SECRET_TOKEN=hunter2-value":          "/bin/sh -c #(nop)  ENV SECRET_TOKEN=<masked>",
		"/bin/sh -c #(nop)  ENV A=1 B=two words C=3":                 "/bin/sh -c #(nop)  ENV A=<masked> B=<masked> C=<masked>",
		"/bin/sh -c #(nop)  ENV LEGACY value with spaces":            "/bin/sh -c #(nop)  ENV LEGACY <masked>",
		"/bin/sh -c #(nop)  ARG TOKEN=argsecret":                     "/bin/sh -c #(nop)  ARG TOKEN=<masked>",
		"/bin/sh -c #(nop)  ARG TOKEN":                               "/bin/sh -c #(nop)  ARG TOKEN",
		"/bin/sh -c #(nop)  ONBUILD ENV X=onbuild-secret":            "/bin/sh -c #(nop)  ONBUILD ENV X=<masked>",
		"|1 TOKEN=argsecret /bin/sh -c echo hi":                      "|1 TOKEN=<masked> /bin/sh -c echo hi",
		"|2 A=x y B=z /bin/sh -c make":                               "|2 A=<masked> B=<masked> /bin/sh -c make",
		"|1 A=x /y /bin/sh -c make":                                  "|1 A=<masked> /y /bin/sh -c make",
		"|1 TOKEN=no command after it":                               "|1 TOKEN=<masked>",
		"|2 A=1":                                                     "|2 A=<masked>",
		"cmd /S /C #(nop)  ENV PASSWORD=windows-secret":              "cmd /S /C #(nop)  ENV PASSWORD=<masked>",
		"/bin/sh -c #(nop)  ENV QUOTED=\"a secret with spaces\" X=1": "/bin/sh -c #(nop)  ENV QUOTED=<masked> X=<masked>",
		// BuildKit
		"ENV SECRET=buildkit-secret":                     "ENV SECRET=<masked>",
		"ARG TOKEN=buildkit-arg":                         "ARG TOKEN=<masked>",
		"RUN |2 A=one B=two /bin/sh -c echo $A":          "RUN |2 A=<masked> B=<masked> /bin/sh -c echo $A",
		"RUN |1 TOKEN=tok /bin/sh -c curl -H x https://": "RUN |1 TOKEN=<masked> /bin/sh -c curl -H x https://",
		// not secrets, unchanged
		"/bin/sh -c #(nop)  LABEL api.password=label-value": "/bin/sh -c #(nop)  LABEL api.password=label-value",
		"/bin/sh -c #(nop) ADD file:abc in / ":              "/bin/sh -c #(nop) ADD file:abc in / ",
		"RUN /bin/sh -c env FOO=bar make":                   "RUN /bin/sh -c env FOO=bar make",
		"/bin/sh -c echo ENV=1":                             "/bin/sh -c echo ENV=1",
		"":                                                  "",
	} {
		if got := maskBuildStep(in); got != want {
			t.Errorf("maskBuildStep(%q) = %q, want %q", in, got, want)
		}
	}
}

// An image inspect document loses the values of its environments, of its
// build step's arguments and of ONBUILD triggers; env tests still read
// Config.Env.
func TestMaskImageInspect(t *testing.T) {
	doc := map[string]any{
		"Config": map[string]any{"Env": []any{"PATH=/bin", "SECRET=s1"}, "Cmd": []any{"/bin/sh"},
			"OnBuild": []any{"ENV ONB=s2", "RUN make"}},
		"ContainerConfig": map[string]any{"Env": []any{"PATH=/bin", "SECRET=s1", "BUILD_ONLY=s3"},
			"Cmd": []any{"|2", "TOKEN=s4", "OTHER=s5", "/bin/sh", "-c", "echo hi"}},
	}
	env := maskEnv(doc)
	if !reflect.DeepEqual(env, map[string]string{"PATH": "/bin", "SECRET": "s1"}) {
		t.Errorf("env = %v, want Config.Env", env)
	}
	want := map[string]any{
		"Config": map[string]any{"Env": []any{"PATH=<masked>", "SECRET=<masked>"}, "Cmd": []any{"/bin/sh"},
			"OnBuild": []any{"ENV ONB=<masked>", "RUN make"}},
		"ContainerConfig": map[string]any{"Env": []any{"PATH=<masked>", "SECRET=<masked>", "BUILD_ONLY=<masked>"},
			"Cmd": []any{"|2", "TOKEN=<masked>", "OTHER=<masked>", "/bin/sh", "-c", "echo hi"}},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("doc = %v\nwant %v", doc, want)
	}
	step := map[string]any{"ContainerConfig": map[string]any{"Cmd": []any{"/bin/sh", "-c", "#(nop) ", "ENV K=s6"}}}
	maskEnv(step)
	if got := step["ContainerConfig"].(map[string]any)["Cmd"].([]any); strings.Contains(got[3].(string), "s6") {
		t.Errorf("ENV step = %v, want the value masked", got)
	}
}

// An environment audit that fails does not show its output (an
// environment) in the reason.
func TestFailedEnvironmentAuditHidesItsOutput(t *testing.T) {
	src := &checks.Source{Kind: checks.SourceShell, Shell: "echo ok", EnvShell: "echo DB_PASSWORD=hunter$((1+1))-env; exit 3"}
	_, err := observeShell(context.Background(), src, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2-env") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("err = %v, want the exit status without the output", err)
	}
}
