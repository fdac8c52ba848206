package testhost

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where a missing
// component is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") != "" && os.Getenv("CI") != "false" }

// RequireRoot fails in CI and skips elsewhere when not running as root.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		t.Fatalf("%s: tests must run as root in CI", why)
	}
	t.Skipf("%s: run as root to include this test", why)
}
