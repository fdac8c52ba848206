package scan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/testhost"
)

const shellStandard = `standard: {id: sh, name: Shell audits, version: "1", asset_types: [host]}
category: Shell
asset_type: host
items:
  - {id: 9200001, number: "1", title: stderr is judged, risk: low, assessment: automated, audit: "echo --x=1 >&2", tests: {test_items: [{flag: --x, compare: {op: eq, value: "1"}}]}}
  - {id: 9200002, number: "2", title: non-zero exit, risk: low, assessment: automated, audit: "echo --x=1; exit 3", tests: {test_items: [{flag: --x, compare: {op: eq, value: "1"}}]}}
  - {id: 9200003, number: "3", title: a word and its value, risk: low, assessment: automated, audit: "echo permissions=644", tests: {test_items: [{flag: permissions, compare: {op: bitmask, value: "600"}}]}}
`

// Shell audits are read as kube-bench reads them: standard output and
// error together, a non-zero exit is an audit that could not run, and a
// word in the output carries its value.
func TestShellAuditSemantics(t *testing.T) {
	cat, err := checks.Load(checks.Tree{FS: fstest.MapFS{"sh/standard.yaml": {Data: []byte(shellStandard)}}, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cat, Options{HostRoot: t.TempDir(), NoDocker: true, NoKube: true, Types: []assets.Type{assets.Host}})
	if err != nil {
		t.Fatal(err)
	}
	host := rep.Host.ID
	if v := testhost.Result(t, rep, 9200001, host); v.Result != checks.ResultPassed {
		t.Errorf("stderr: %+v, want passed", v)
	}
	if v := testhost.Result(t, rep, 9200002, host); v.Status != checks.CheckFailed || !strings.Contains(v.Reason, "exit status 3") || !strings.Contains(v.Reason, "--x=1") {
		t.Errorf("non-zero exit: %+v, want check failed with the status and the output", v)
	}
	if v := testhost.Result(t, rep, 9200003, host); v.Result != checks.ResultFailed || v.Evidence[0].Actual != "644" {
		t.Errorf("word: %+v, want failed on 644", v)
	}
}

// An audit stopped by its deadline takes its whole pipeline with it: no
// child keeps running (or keeps the scan waiting for its output).
func TestShellAuditStoppedWithItsChildren(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "pgid")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// The audit's process group: field 5 of the shell's /proc/PID/stat.
	_, err := runShell(ctx, "cut -d' ' -f5 /proc/$$/stat > "+pidfile+"; sleep 60 | cat", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	data, rerr := os.ReadFile(pidfile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pgid <= 1 || pgid == os.Getpid() {
		t.Fatalf("process group %q: not the audit's own", data)
	}
	// No process of the group runs on (a killed one may wait a while as a
	// zombie for its new parent to reap it); a surviving sleep would stay
	// for a minute.
	for i := 0; groupRuns(pgid); i++ {
		if i == 200 {
			t.Fatalf("process group %d still has running processes", pgid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupRuns reports whether a process of the group runs (not a zombie).
func groupRuns(pgid int) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, state, pgrp, _, ok := procStat(pid); ok && pgrp == pgid && state != "Z" && state != "X" {
			return true
		}
	}
	return false
}

const floodStandard = `standard: {id: flood, name: Audit output, version: "1", asset_types: [host]}
category: Shell
asset_type: host
items:
  - {id: 9200010, number: "1", title: a shell audit that floods then hangs, risk: low, assessment: automated,
     audit: "head -c 8388608 /dev/zero | tr '\\0' x; sleep 300", tests: {test_items: [{flag: --x, set: true}]}}
  - {id: 9200011, number: "2", title: a command that floods, risk: low, assessment: automated,
     source: {kind: command, argv: [head, -c, "3145728", /dev/zero]}, tests: {test_items: [{compare: {op: has, value: "y"}}]}}
  - {id: 9200012, number: "3", title: a small output, risk: low, assessment: automated,
     audit: "echo --x=1", tests: {test_items: [{flag: --x, compare: {op: eq, value: "1"}}]}}
`

// An audit's output is read up to maxAuditOutput: past it the audit is
// stopped (it does not run on to its deadline) and the check fails with
// the limit in its reason, never with the output itself.
func TestAuditOutputBounded(t *testing.T) {
	cat, err := checks.Load(checks.Tree{FS: fstest.MapFS{"flood/standard.yaml": {Data: []byte(floodStandard)}}, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cat, Options{HostRoot: t.TempDir(), NoDocker: true, NoKube: true, Types: []assets.Type{assets.Host}})
	if err != nil {
		t.Fatal(err)
	}
	host := rep.Host.ID
	limit := strconv.Itoa(maxAuditOutput)
	for _, id := range []uint64{9200010, 9200011} {
		v := testhost.Result(t, rep, id, host)
		if v.Status != checks.CheckFailed || !strings.Contains(v.Reason, limit) || strings.Contains(v.Reason, "stopped (limit") {
			t.Errorf("item %d: %s %q, want CHECK_FAILED naming the %s-byte limit (not the deadline)", id, v.Status, trunc(v.Reason), limit)
		}
		if len(v.Reason) > 4096 {
			t.Errorf("item %d: a reason of %d bytes", id, len(v.Reason))
		}
		for _, e := range v.Evidence {
			if len(e.Actual) > 4096 {
				t.Errorf("item %d: evidence of %d bytes", id, len(e.Actual))
			}
		}
	}
	if v := testhost.Result(t, rep, 9200012, host); v.Result != checks.ResultPassed {
		t.Errorf("small output: %+v, want passed", v)
	}
}

func trunc(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// The output buffer keeps the first maxAuditOutput bytes, drops the rest
// and stops the audit once, the first time it is exceeded.
func TestBoundedOutput(t *testing.T) {
	stops := 0
	b := &boundedOutput{max: 1000, stop: func() { stops++ }}
	chunk := []byte(strings.Repeat("x", 300))
	for i := 0; i < 10; i++ {
		if n, err := b.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if b.buf.Len() != 1000 || !b.over || stops != 1 {
		t.Errorf("kept %d bytes, over %v, stopped %d times; want 1000, true, 1", b.buf.Len(), b.over, stops)
	}
}
