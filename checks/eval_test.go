package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// fakeFacts serves fixed observations by source kind (a unit-test double
// for the evaluator's logic; collectors are tested against real parts).
type fakeFacts map[SourceKind]Observation

func (f fakeFacts) Observe(_ context.Context, src *Source) (Observation, error) {
	obs, ok := f[src.Kind]
	if !ok {
		return Observation{}, errors.New("engine went away")
	}
	return obs, nil
}

// compileOne loads one item given as YAML (indented as a list element).
func compileOne(t *testing.T, assetType, body string) *Item {
	t.Helper()
	header := strings.Replace(stdHeader, "[host, container]", "[host, container, image]", 1)
	fsys := fstest.MapFS{
		"s/standard.yaml": {Data: []byte(header)},
		"s/i.yaml":        {Data: []byte("category: C\nasset_type: " + assetType + "\nitems:\n  - id: 1\n    number: \"1\"\n    title: t\n    risk: high\n" + body)},
	}
	cat, err := Load(Tree{FS: fsys, Origin: "t"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	it, _ := cat.Item(1)
	return it
}

func doc(s string) Observation {
	return Observation{Subjects: []Subject{{Name: "doc", Doc: mustDoc(s)}}}
}

func mustDoc(s string) any {
	d, err := parseDocument(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestEvaluate(t *testing.T) {
	cases := []struct {
		name      string
		assetType string
		item      string
		facts     fakeFacts
		status    CheckStatus
		result    CheckResult
		reason    string
	}{
		{"path eq passes", "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.HostConfig.Privileged}", compare: {op: eq, value: "false"}}]}`,
			fakeFacts{SourceContainer: doc(`{"HostConfig":{"Privileged":false}}`)}, CheckFinished, ResultPassed, ""},
		{"path eq fails", "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.HostConfig.Privileged}", compare: {op: eq, value: "false"}}]}`,
			fakeFacts{SourceContainer: doc(`{"HostConfig":{"Privileged":true}}`)}, CheckFinished, ResultFailed, ""},
		{"absent value fails a compare", "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.HostConfig.Memory}", compare: {op: gt, value: "0"}}]}`,
			fakeFacts{SourceContainer: doc(`{"HostConfig":{}}`)}, CheckFinished, ResultFailed, ""},
		{"empty list counts as not set", "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.HostConfig.CapAdd}", set: false}]}`,
			fakeFacts{SourceContainer: doc(`{"HostConfig":{"CapAdd":[]}}`)}, CheckFinished, ResultPassed, ""},
		{"every value must match by default", "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.Mounts[*].Propagation}", compare: {op: noteq, value: shared}}]}`,
			fakeFacts{SourceContainer: doc(`{"Mounts":[{"Propagation":"rprivate"},{"Propagation":"shared"}]}`)}, CheckFinished, ResultFailed, ""},
		{"match any", "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.HostConfig.SecurityOpt[*]}", compare: {op: regex, value: "^no-new-privileges", match: any}}]}`,
			fakeFacts{SourceContainer: doc(`{"HostConfig":{"SecurityOpt":["label=x","no-new-privileges"]}}`)}, CheckFinished, ResultPassed, ""},
		{"bin_op or", "host", `
    assessment: automated
    source: {kind: daemon_config}
    tests:
      bin_op: or
      test_items:
        - {path: "{.log-level}", set: false}
        - {path: "{.log-level}", compare: {op: eq, value: info}}`,
			fakeFacts{SourceDaemonConfig: doc(`{"log-level":"debug"}`)}, CheckFinished, ResultFailed, ""},
		{"flags by whole name", "host", `
    assessment: automated
    source: {kind: process, name: dockerd}
    tests: {test_items: [{flag: --tls, set: false}]}`,
			fakeFacts{SourceProcess: Observation{Subjects: []Subject{{Text: "dockerd --tlsverify --tlscacert=/x"}}}}, CheckFinished, ResultPassed, ""},
		{"flag value", "host", `
    assessment: automated
    source: {kind: process, name: dockerd}
    tests: {test_items: [{flag: --icc, compare: {op: eq, value: "false"}}]}`,
			fakeFacts{SourceProcess: Observation{Subjects: []Subject{{Flags: map[string][]string{"--icc": {"false"}}}}}}, CheckFinished, ResultPassed, ""},
		{"multiple lines all must pass", "host", `
    assessment: automated
    audit: "stat -c %a /etc/x /etc/y"
    tests: {test_items: [{compare: {op: bitmask, value: "644"}, use_multiple_values: true}]}`,
			fakeFacts{SourceShell: Observation{Subjects: []Subject{{Text: "644\n664\n"}}}}, CheckFinished, ResultFailed, ""},
		{"every subject must pass", "host", `
    assessment: automated
    source: {kind: file, glob: [/etc/docker/certs.d/*/*]}
    tests: {test_items: [{path: "{.mode}", compare: {op: bitmask, value: "444"}}]}`,
			fakeFacts{SourceFile: Observation{Subjects: []Subject{{Doc: mustDoc(`{"mode":"0444"}`)}, {Doc: mustDoc(`{"mode":"0644"}`)}}}}, CheckFinished, ResultFailed, ""},
		{"a partial observation's pass is a review", "image", `
    assessment: automated
    source: {kind: image_updates}
    tests: {test_items: [{path: "{.updates_alone[*]}", set: false}]}`,
			fakeFacts{SourceImageUpdates: Observation{Subjects: []Subject{{Doc: mustDoc(`{"updates_alone":[]}`)}}, Partial: "no build step recorded"}},
			CheckFinished, ResultManual, "review required: no build step recorded"},
		{"a partial observation's failure stands", "image", `
    assessment: automated
    source: {kind: image_secrets}
    tests: {test_items: [{path: "{.env[*]}", set: false}]}`,
			fakeFacts{SourceImageSecrets: Observation{Subjects: []Subject{{Doc: mustDoc(`{"env":["A_TOKEN=<masked>"]}`)}}, Partial: "no build step recorded"}},
			CheckFinished, ResultFailed, ""},
		{"nothing matched is not applicable", "host", `
    assessment: automated
    source: {kind: file, glob: [/etc/docker/certs.d/*/*]}
    tests: {test_items: [{path: "{.mode}", compare: {op: bitmask, value: "444"}}]}`,
			fakeFacts{SourceFile: Observation{Empty: "no file matches /etc/docker/certs.d/*/*"}}, CheckFinished, ResultNotApplicable, "no file matches"},
		{"only_if false is not applicable", "host", `
    assessment: automated
    source: {kind: daemon_info}
    only_if:
      - reason: swarm mode is not active
        tests: {test_items: [{path: "{.Swarm.LocalNodeState}", compare: {op: eq, value: active}}]}
    tests: {test_items: [{path: "{.Swarm.Managers}", compare: {op: gte, value: "3"}}]}`,
			fakeFacts{SourceDaemonInfo: doc(`{"Swarm":{"LocalNodeState":"inactive"}}`)}, CheckFinished, ResultNotApplicable, "swarm mode is not active"},
		{"only_if true evaluates", "host", `
    assessment: automated
    source: {kind: daemon_info}
    only_if:
      - reason: swarm mode is not active
        tests: {test_items: [{path: "{.Swarm.LocalNodeState}", compare: {op: eq, value: active}}]}
    tests: {test_items: [{path: "{.Swarm.Managers}", compare: {op: gte, value: "3"}}]}`,
			fakeFacts{SourceDaemonInfo: doc(`{"Swarm":{"LocalNodeState":"active","Managers":1}}`)}, CheckFinished, ResultFailed, ""},
		{"unreadable source is a failed check", "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.HostConfig.Privileged}", compare: {op: eq, value: "false"}}]}`,
			fakeFacts{}, CheckFailed, "", "engine went away"},
		{"malformed value is a failed check", "host", `
    assessment: automated
    source: {kind: file, path: /etc/x}
    tests: {test_items: [{path: "{.mode}", compare: {op: bitmask, value: "644"}}]}`,
			fakeFacts{SourceFile: doc(`{"mode":"rw-r--r--"}`)}, CheckFailed, "", "not an octal mode"},
		{"manual with passing evidence stays manual", "container", `
    assessment: manual
    source: {kind: container}
    tests: {test_items: [{path: "{.HostConfig.Devices}", set: false}]}`,
			fakeFacts{SourceContainer: doc(`{"HostConfig":{}}`)}, CheckFinished, ResultManual, ""},
		{"manual without source", "host", `
    assessment: manual`, fakeFacts{}, CheckFinished, ResultManual, "manual review"},
		{"unparseable output is a failed check", "host", `
    assessment: automated
    audit: "cat /etc/x"
    tests: {test_items: [{path: "{.a}", set: true}]}`,
			fakeFacts{SourceShell: Observation{Subjects: []Subject{{Text: "a: [unclosed"}}}}, CheckFailed, "", "neither JSON nor YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			it := compileOne(t, c.assetType, c.item)
			v := it.Evaluate(context.Background(), c.facts)
			if v.Status != c.status || v.Result != c.result {
				t.Fatalf("verdict = %s/%s (%s), want %s/%s; evidence %+v", v.Status, v.Result, v.Reason, c.status, c.result, v.Evidence)
			}
			if c.reason != "" && !strings.Contains(v.Reason, c.reason) {
				t.Errorf("reason = %q, want it to contain %q", v.Reason, c.reason)
			}
		})
	}
}

// ReviewOnFail: failing tests are a review, with the failing test as
// evidence; passing tests pass; an audit that could not run is still a
// failed check.
func TestReviewOnFail(t *testing.T) {
	it := compileOne(t, "host", `
    assessment: automated
    audit: "cat /etc/x"
    tests: {test_items: [{flag: --x, compare: {op: eq, value: "1"}}]}`)
	it.ReviewOnFail = true
	text := func(s string) fakeFacts { return fakeFacts{SourceShell: Observation{Subjects: []Subject{{Text: s}}}} }
	v := it.Evaluate(context.Background(), text("--x=2"))
	if v.Status != CheckFinished || v.Result != ResultManual || v.Reason != ReviewReason {
		t.Fatalf("failing tests: %+v, want a review", v)
	}
	if len(v.Evidence) != 1 || v.Evidence[0].Passed || v.Evidence[0].Actual != "2" {
		t.Errorf("evidence %+v, want the failing test with the value found", v.Evidence)
	}
	if v := it.Evaluate(context.Background(), text("--x=1")); v.Result != ResultPassed {
		t.Errorf("passing tests: %+v, want passed", v)
	}
	if v := it.Evaluate(context.Background(), fakeFacts{}); v.Status != CheckFailed {
		t.Errorf("no audit output: %+v, want a failed check", v)
	}
	it.ReviewOnFail = false
	if v := it.Evaluate(context.Background(), text("--x=2")); v.Result != ResultFailed {
		t.Errorf("without ReviewOnFail: %+v, want failed", v)
	}
}

func TestEvidenceMasksEnvironmentValues(t *testing.T) {
	it := compileOne(t, "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{env: DB_PASSWORD, set: false}]}`)
	v := it.Evaluate(context.Background(), fakeFacts{SourceContainer: Observation{Subjects: []Subject{{Env: map[string]string{"DB_PASSWORD": "hunter2"}, Masked: true}}}})
	if v.Result != ResultFailed {
		t.Fatalf("result = %s, want failed", v.Result)
	}
	for _, e := range v.Evidence {
		if strings.Contains(e.Actual, "hunter2") {
			t.Fatalf("evidence leaks the value: %+v", e)
		}
	}
}

// A value found in an environment is masked in evidence wherever the
// environment came from: a shell audit printing a process's environment
// (its text read as KEY=value lines) as much as a container's.
func TestEvidenceMasksEnvironmentReadFromText(t *testing.T) {
	for _, c := range []struct {
		op    string
		multi bool
		want  CheckStatus
	}{{"eq", false, CheckFinished}, {"eq", true, CheckFinished}, {"gt", false, CheckFailed}} {
		it := compileOne(t, "host", fmt.Sprintf(`
    assessment: automated
    audit: "cat /proc/1/environ | tr '\\0' '\\n'"
    tests: {test_items: [{env: DB_PASSWORD, compare: {op: %s, value: "1"}, use_multiple_values: %v}]}`, c.op, c.multi))
		v := it.Evaluate(context.Background(), fakeFacts{SourceShell: Observation{Subjects: []Subject{{Text: "PATH=/bin\nDB_PASSWORD=hunter2\n"}}}})
		if v.Status != c.want || c.want == CheckFinished && v.Result != ResultFailed {
			t.Fatalf("%s multi %v: %+v, want %s (failed)", c.op, c.multi, v, c.want)
		}
		if strings.Contains(v.Reason, "hunter2") {
			t.Errorf("%s multi %v: reason leaks the value: %q", c.op, c.multi, v.Reason)
		}
		for _, e := range v.Evidence {
			if strings.Contains(e.Actual, "hunter2") || strings.Contains(e.Actual, "/bin") {
				t.Errorf("%s multi %v: evidence leaks the value: %+v", c.op, c.multi, e)
			}
		}
	}
}

func TestEvidenceNamesActualAndExpected(t *testing.T) {
	it := compileOne(t, "container", `
    assessment: automated
    source: {kind: container}
    tests: {test_items: [{path: "{.HostConfig.PidsLimit}", compare: {op: gt, value: "0"}}]}`)
	v := it.Evaluate(context.Background(), fakeFacts{SourceContainer: doc(`{"HostConfig":{"PidsLimit":0}}`)})
	if len(v.Evidence) != 1 {
		t.Fatalf("evidence = %+v", v.Evidence)
	}
	e := v.Evidence[0]
	if e.Actual != "0" || e.Subject != "{.HostConfig.PidsLimit}" || !strings.Contains(e.Expected, "greater than 0") || e.Passed {
		t.Errorf("evidence = %+v", e)
	}
}

// Locators given together are tried in order (flag, path, env), and a
// flag without dashes is a whole word with the value after = or :.
func TestFindOrderAndWords(t *testing.T) {
	mk := func(flag, path, env string) *Test {
		d := &testItemDef{Flag: flag, Path: path, Env: env, Set: new(bool)}
		*d.Set = true
		tt, _, err := compileTest(d)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	cases := []struct {
		name  string
		test  *Test
		subj  Subject
		found bool
		want  string
	}{
		{"flag wins", mk("--x", "{.x}", "X"), Subject{Text: "--x=flag", Doc: map[string]any{"x": "doc"}, Env: map[string]string{"X": "env"}}, true, "flag"},
		{"path next", mk("--x", "{.x}", "X"), Subject{Text: "--y=1", Doc: map[string]any{"x": "doc"}, Env: map[string]string{"X": "env"}}, true, "doc"},
		{"env last", mk("--x", "{.x}", "X"), Subject{Text: "--y=1", Doc: map[string]any{"y": "doc"}, Env: map[string]string{"X": "env"}}, true, "env"},
		{"none", mk("--x", "{.x}", "X"), Subject{Text: "--y=1", Env: map[string]string{"Y": "env"}}, false, ""},
		{"flag else env", mk("--x", "", "X"), Subject{Text: "--y=1", Env: map[string]string{"X": "env"}}, true, "env"},
		{"word with value", mk("permissions", "", ""), Subject{Text: "file /a\npermissions=600\n"}, true, "600"},
		{"word with colon", mk("ownership", "", ""), Subject{Text: "ownership: root:root"}, true, "root:root"},
		{"gate inside a flag", mk("RotateKubeletServerCertificate", "", ""), Subject{Text: "kubelet --feature-gates=A=true,RotateKubeletServerCertificate=false,B=true"}, true, "false"},
		{"word alone", mk("root:root", "", ""), Subject{Text: "root:root\n"}, true, "root:root"},
		{"not inside a longer word", mk("permissions", "", ""), Subject{Text: "xpermissions=600 permissionsx=7"}, false, ""},
		{"dashed flag is whole-name only", mk("--config", "", ""), Subject{Text: "kubelet --config-dir=/etc/k"}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vals, found, err := c.test.find(&c.subj)
			if err != nil || found != c.found || (found && (len(vals) != 1 || vals[0] != c.want)) {
				t.Fatalf("find = %v %v %v, want %v %q", vals, found, err, c.found, c.want)
			}
		})
	}
}
