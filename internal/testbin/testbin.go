// Package testbin gives tests the baseline binary: BASELINE_BIN when set,
// otherwise one build per test process, removed by Cleanup (call it from
// TestMain after m.Run).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string
	path string
	err  error
)

// Path returns the binary, building it on first use.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BASELINE_BIN"); p != "" {
		return p
	}
	once.Do(func() {
		if dir, err = os.MkdirTemp("", "baseline-testbin-"); err != nil {
			return
		}
		path = filepath.Join(dir, "baseline")
		if out, berr := exec.Command("go", "build", "-o", path, "github.com/baselinehq/baseline/cmd/baseline").CombinedOutput(); berr != nil {
			err = fmt.Errorf("go build: %v\n%s", berr, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Cleanup removes the build, if there was one.
func Cleanup() {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
