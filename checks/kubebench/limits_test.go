package kubebench

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/checks"
)

// kube-bench files are bounded as definition files are: size and YAML
// values, the values of config.yaml counted with its aliases expanded (as
// they are read), each refusal naming the file and the limit.
func TestLoadBoundsKubeBenchFiles(t *testing.T) {
	host := fakeHost{procs: []Process{proc("kube-apiserver", "/usr/bin/kube-apiserver")}}
	// Ten levels of ten aliases: 10^10 values once expanded, a few
	// hundred bytes as written.
	bomb := "---\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i <= 10; i++ {
		bomb += fmt.Sprintf("l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	bomb += testConfig[len("---\n"):]
	for _, c := range []struct {
		name, file, content string
		limit               int
	}{
		{"config aliases", "config.yaml", bomb, checks.MaxNodes},
		{"target values", "bench-2.0/master.yaml", testMaster + "x: [" + strings.Repeat("0,", checks.MaxNodes) + "0]\n", checks.MaxNodes},
		{"target size", "bench-2.0/master.yaml", testMaster + strings.Repeat("# padding\n", checks.MaxFileSize/10+1), checks.MaxFileSize},
		{"config size", "config.yaml", testConfig + strings.Repeat("# padding\n", checks.MaxFileSize/10+1), checks.MaxFileSize},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"config.yaml": testConfig, "bench-2.0/master.yaml": testMaster}
			files[c.file] = c.content
			dir := writeDir(t, files)
			_, err := Load(Options{Dir: dir, Version: "bench-2.0", Host: host})
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, c.file)) || !strings.Contains(err.Error(), fmt.Sprint(c.limit)) {
				t.Fatalf("err = %v, want %s named with the limit %d", err, c.file, c.limit)
			}
		})
	}
	// The shipped-size files load.
	dir := writeDir(t, map[string]string{"config.yaml": testConfig, "bench-2.0/master.yaml": testMaster})
	if _, err := Load(Options{Dir: dir, Version: "bench-2.0", Host: host}); err != nil {
		t.Fatal(err)
	}
}
