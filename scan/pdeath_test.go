package scan

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baselinehq/baseline/checks"
)

// auditHelper, set in the environment, makes the test binary a stand-in
// for the daemon: TestAuditHelperProcess runs one audit that sleeps, the
// way a scan runs it ("shell" or "command"), and never returns.
const auditHelper = "BASELINE_TEST_AUDIT_HELPER"

func TestAuditHelperProcess(t *testing.T) {
	switch os.Getenv(auditHelper) {
	case "shell":
		_, _ = runShell(context.Background(), "sleep 300; echo done", nil)
	case "command":
		_, _ = runCommand(context.Background(), []string{"sleep", "300"}, checks.FormatText, "sleep 300")
	default:
		t.Skip("a helper process of TestAuditDiesWithTheDaemon")
	}
	os.Exit(0)
}

// procStat reads a process's parent, state, process group and start time
// from /proc/PID/stat.
func procStat(pid int) (ppid int, state string, pgrp int, start string, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, "", 0, "", false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", 0, "", false
	}
	f := strings.Fields(s[i+1:]) // from field 3, the state
	if len(f) < 20 {
		return 0, "", 0, "", false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgrp, _ = strconv.Atoi(f[2])
	return ppid, f[0], pgrp, f[19], true
}

// descendantNamed finds a process named comm below pid.
func descendantNamed(pid int, comm string) (int, string, bool) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(name)) != comm {
			continue
		}
		for anc, depth := p, 0; anc > 1 && depth < 10; depth++ {
			ppid, _, _, _, ok := procStat(anc)
			if !ok {
				break
			}
			if ppid == pid {
				_, _, _, start, _ := procStat(p)
				return p, start, true
			}
			anc = ppid
		}
	}
	return 0, "", false
}

// alive reports whether the process that started at start still runs (a
// zombie waiting to be reaped does not).
func alive(pid int, start string) bool {
	_, state, _, s, ok := procStat(pid)
	return ok && s == start && state != "Z" && state != "X"
}

// TestAuditDiesWithTheDaemon: a daemon killed by SIGKILL (no chance to
// clean up) takes its running audits with it, a shell audit's own child
// processes too: no audit outlives it.
func TestAuditDiesWithTheDaemon(t *testing.T) {
	for _, mode := range []string{"shell", "command"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestAuditHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), auditHelper+"="+mode)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			daemon := cmd.Process.Pid
			var pid int
			var start string
			for i := 0; ; i++ {
				var ok bool
				if pid, start, ok = descendantNamed(daemon, "sleep"); ok {
					break
				}
				if i == 300 {
					_ = cmd.Process.Kill()
					t.Fatalf("the helper %d started no audit", daemon)
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Cleanup(func() {
				if alive(pid, start) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			for i := 0; alive(pid, start); i++ {
				if i == 300 {
					t.Fatalf("the audit (pid %d) still runs 30s after its daemon was killed", pid)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
