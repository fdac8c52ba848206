package testbin

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// CleanEnv is the environment without BASELINE_* variables, so that the
// configuration a test writes is the whole configuration.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BASELINE_") {
			env = append(env, kv)
		}
	}
	return env
}

// Run runs a baseline command (bin) to completion in CleanEnv and returns
// its stdout; a failure ends the test with the command's stderr.
func Run(t testing.TB, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = CleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("baseline %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}
