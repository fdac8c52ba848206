package testhost

import (
	"os"
	"testing"
)

// UnitEnv names the environment variable that selects a unit run (make
// test-unit sets it): the tests that need Docker, a browser or a
// Kubernetes API server skip, even in CI, so that a unit run needs none
// of them and never starts or uses one; the tests that need root run only
// as root. make test clears it.
const UnitEnv = "BASELINE_UNIT"

// InCI reports whether the tests run in CI (CI=true), where a missing
// component is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") != "" && os.Getenv("CI") != "false" }

// UnitRun reports whether this is a unit run: $BASELINE_UNIT set, and not
// "0" or "false".
func UnitRun() bool {
	v := os.Getenv(UnitEnv)
	return v != "" && v != "0" && v != "false"
}

// Needs skips the test in a unit run. A helper that provides a component
// calls it first, before looking for the component.
func Needs(t testing.TB, component string) {
	t.Helper()
	if UnitRun() {
		t.Skipf("unit run (%s=1): skipping a test that needs %s", UnitEnv, component)
	}
}

// Missing ends a test whose component is missing: it fails in CI, which
// must provide every component, and skips elsewhere. what says what is
// missing and why; remedy how to provide it.
func Missing(t testing.TB, what, remedy string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s; CI must provide it (%s)", what, remedy)
	}
	t.Skipf("%s; skipping (%s to run this test)", what, remedy)
}

// RequireRoot lets the test go on only as root: otherwise it fails in CI
// and skips elsewhere, and in a unit run it skips even in CI.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if UnitRun() {
		t.Skipf("%s: unit run (%s=1) as a user other than root", why, UnitEnv)
	}
	if InCI() {
		t.Fatalf("%s: tests must run as root in CI", why)
	}
	t.Skipf("%s: run as root to include this test", why)
}
