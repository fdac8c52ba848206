package testhost

import (
	"os/exec"
	"testing"
)

// Chromium finds Debian's chromium for a browser test: a unit run skips
// without looking; a missing browser fails in CI and skips elsewhere.
func Chromium(t testing.TB) string {
	t.Helper()
	Needs(t, "a browser (chromium)")
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	Missing(t, "chromium is not installed", "scripts/test-env.sh installs it; as root: apt-get install chromium")
	return ""
}
