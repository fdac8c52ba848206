// Package bench measures whole scans of a real engine by running the
// baseline binary: wall time, CPU time, peak RSS and Engine API calls.
// Run with `make bench`.
package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testbin"
)

const benchLabel = "io.baselinehq.bench"

func BenchmarkScan(b *testing.B) {
	cli := dockertest.Engine(b)
	bin := testbin.Path(b)
	ctx := context.Background()
	cleanup(ctx, cli)
	b.Cleanup(func() { cleanup(ctx, cli) })
	importImages(b, cli, 50)
	have := 0
	for _, n := range []int{0, 50, 200} {
		for ; have < n; have++ {
			cfg := &container.Config{Image: "baseline-test/base:1", Cmd: []string{"sleep", "1"}, Labels: map[string]string{benchLabel: "1"}}
			if _, err := cli.ContainerCreate(ctx, cfg, &container.HostConfig{}, nil, nil, fmt.Sprintf("blbench-%03d", have)); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			var cpu, rss, calls, assets float64
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), "report.json")
				cmd := exec.Command(bin, "scan", "--format", "json", "--output", out, "--progress", "never")
				cmd.Stderr = os.Stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("scan: %v", err)
				}
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				cpu += float64(time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Milliseconds())
				if m := float64(ru.Maxrss) / 1024; m > rss {
					rss = m
				}
				var doc struct {
					EngineApiCalls int
					Assets         []json.RawMessage
				}
				data, err := os.ReadFile(out)
				if err != nil {
					b.Fatal(err)
				}
				if err := json.Unmarshal(data, &doc); err != nil {
					b.Fatal(err)
				}
				calls += float64(doc.EngineApiCalls)
				assets = float64(len(doc.Assets))
			}
			b.ReportMetric(cpu/float64(b.N), "cpu-ms/op")
			b.ReportMetric(rss, "peak-rss-MB")
			b.ReportMetric(calls/float64(b.N), "api-calls/op")
			b.ReportMetric(assets, "assets")
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// importImages imports n small distinct images (one file each).
func importImages(b *testing.B, cli *client.Client, n int) {
	ctx := context.Background()
	for i := 0; i < n; i++ {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		body := []byte(fmt.Sprintf("bench image %d\n", i))
		_ = tw.WriteHeader(&tar.Header{Name: "id.txt", Mode: 0o644, Size: int64(len(body))})
		_, _ = tw.Write(body)
		_ = tw.Close()
		rc, err := cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, fmt.Sprintf("baseline-bench/img:%d", i),
			image.ImportOptions{Changes: []string{"LABEL " + benchLabel + "=1"}})
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, rc)
		rc.Close()
	}
}

func cleanup(ctx context.Context, cli *client.Client) {
	list, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", benchLabel))})
	for _, c := range list {
		_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	imgs, _ := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", benchLabel))})
	for _, im := range imgs {
		_, _ = cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	}
}
