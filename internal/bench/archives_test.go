package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/scan"
)

// The images of the archive benchmark: a base layer shared by all (many
// small files, a few setuid ones, one large binary) and a layer of each
// image's own, written as `docker save` writes them (uncompressed layers).
const (
	benchArchives  = 50
	baseSmallFiles = 2000
	baseBinary     = 4 << 20
)

func layerTar(b *testing.B, files map[string][]byte, modes map[string]int64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		mode := int64(0o644)
		if m, ok := modes[name]; ok {
			mode = m
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// writeArchives writes n docker save tarballs into dir.
func writeArchives(b *testing.B, dir string, n int) []string {
	files := map[string][]byte{"bin/busybox": bytes.Repeat([]byte{0x7f, 'E', 'L', 'F'}, baseBinary/4)}
	for i := 0; i < baseSmallFiles; i++ {
		files[fmt.Sprintf("usr/share/doc/pkg%03d/file%d.txt", i/20, i)] = bytes.Repeat([]byte("x"), 512)
	}
	files["usr/bin/passwd"], files["usr/bin/su"] = []byte("suid"), []byte("suid")
	base := layerTar(b, files, map[string]int64{"usr/bin/passwd": 0o4755, "usr/bin/su": 0o4755})
	var out []string
	for i := 0; i < n; i++ {
		own := layerTar(b, map[string][]byte{"app/id.txt": []byte(fmt.Sprintf("image %d\n", i)), "app/run.sh": []byte("#!/bin/sh\n")}, nil)
		cfg, _ := json.Marshal(map[string]any{
			"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
			"config": map[string]any{"User": "1000", "Env": []string{"PATH=/usr/bin:/bin", fmt.Sprintf("APP_ID=%d", i)},
				"Healthcheck": map[string]any{"Test": []string{"CMD", "/bin/true"}}, "Cmd": []string{"/app/run.sh"}},
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest(base), digest(own)}},
			"history": []map[string]any{
				{"created_by": "/bin/sh -c #(nop) ADD file:base in / "},
				{"created_by": "/bin/sh -c apt-get update && apt-get install -y app"},
				{"created_by": "/bin/sh -c #(nop)  USER 1000", "empty_layer": true},
			},
		})
		cfgName := digest(cfg)[len("sha256:"):] + ".json"
		manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{fmt.Sprintf("bench/app:%d", i)},
			"Layers": []string{"base/layer.tar", "own/layer.tar"}}})
		archive := layerTar(b, map[string][]byte{"manifest.json": manifest, cfgName: cfg, "base/layer.tar": base, "own/layer.tar": own}, nil)
		p := filepath.Join(dir, fmt.Sprintf("app-%02d.tar", i))
		if err := os.WriteFile(p, archive, 0o600); err != nil {
			b.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// BenchmarkImageArchives scans 50 docker save tarballs without a daemon
// (every image item, the files of every layer read and checked against
// their digests): in this process for wall time and allocations, and with
// the binary for CPU time and peak RSS.
func BenchmarkImageArchives(b *testing.B) {
	dir := b.TempDir()
	if keep := os.Getenv("BENCH_ARCHIVES_DIR"); keep != "" {
		dir = keep
	}
	archives := writeArchives(b, dir, benchArchives)
	b.Run("in-process", func(b *testing.B) {
		cat := testhost.Builtin(b)
		b.ReportAllocs()
		var assets int
		for i := 0; i < b.N; i++ {
			rep, err := scan.Run(context.Background(), cat, scan.Options{ImageArchives: archives})
			if err != nil {
				b.Fatal(err)
			}
			if len(rep.Failures) > 0 {
				b.Fatalf("failures: %+v", rep.Failures)
			}
			assets = len(rep.Assets)
		}
		b.ReportMetric(float64(assets), "images")
	})
	b.Run("binary", func(b *testing.B) {
		bin := testbin.Path(b)
		args := []string{"scan", "--no-store", "--format", "json", "--progress", "never"}
		for _, a := range archives {
			args = append(args, "--image-archive", a)
		}
		var fig runFigures
		for i := 0; i < b.N; i++ {
			out := filepath.Join(b.TempDir(), "report.json")
			cmd := exec.Command(bin, append(args, "--output", out)...)
			cmd.Stderr = os.Stderr
			ru, wall, err := measuredRun(b, cmd, nil)
			if err != nil {
				b.Fatalf("scan: %v", err)
			}
			fig.add(ru, wall)
		}
		fig.report(b, nil)
	})
}
