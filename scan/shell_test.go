package scan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	_, err := runShell(ctx, "echo $$ > "+pidfile+"; sleep 60 | cat", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	data, rerr := os.ReadFile(pidfile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	// The group's processes are gone once reaped; a surviving sleep would
	// stay for a minute.
	for i := 0; ; i++ {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if i == 100 {
			t.Fatalf("process group %d still has processes", pgid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
