package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Save writes `docker save` of the images to file (the engine's own
// export).
func Save(t testing.TB, cli *client.Client, file string, refs ...string) {
	t.Helper()
	rc, err := cli.ImageSave(context.Background(), refs)
	if err != nil {
		t.Fatalf("docker save %v: %v", refs, err)
	}
	defer rc.Close()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatalf("docker save %v: %v", refs, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// OCILayout writes an OCI image layout at dir holding the tagged images of
// a `docker save` archive, made with go-containerregistry (its layers
// gzip-compressed), each named by its tag (org.opencontainers.image.ref.name);
// a layout already at dir gets the images added.
func OCILayout(t testing.TB, archive, dir string, tags ...string) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		p, err = layout.Write(dir, empty.Index)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range tags {
		tag, err := name.NewTag(tg)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(archive, &tag)
		if err != nil {
			t.Fatalf("%s in %s: %v", tg, archive, err)
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tg})); err != nil {
			t.Fatalf("OCI layout of %s: %v", tg, err)
		}
	}
}

// TarDir writes dir's files as a tar archive (an OCI image archive when dir
// is a layout).
func TarDir(t testing.TB, dir, file string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = os.WriteFile(file, buf.Bytes(), 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Corrupt copies a tar archive, changing the first occurrence of old to
// new (the same length) inside a member's data: a layer whose content no
// longer matches its digest.
func Corrupt(t testing.TB, src, dst string, old, new []byte) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, old)
	if i < 0 || len(old) != len(new) {
		t.Fatalf("corrupt %s: %q not found (or not the length of %q)", src, old, new)
	}
	copy(data[i:], new)
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
