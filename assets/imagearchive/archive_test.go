package imagearchive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/internal/dockertest"
)

// byTag indexes images by their first tag.
func byTag(t *testing.T, images []Image) map[string]Image {
	t.Helper()
	out := map[string]Image{}
	for _, im := range images {
		if im.Err != nil {
			t.Errorf("%s: %v", im.Source, im.Err)
		}
		if len(im.Tags) == 0 {
			t.Errorf("%s: no tag", im.Source)
			continue
		}
		out[im.Tags[0]] = im
	}
	return out
}

// A docker save tarball of two test images, an OCI layout made from it
// with go-containerregistry and an OCI archive of that layout all give
// each image's engine id, its configuration, its setuid files and its
// secret-looking files.
func TestArchivesAndLayoutsOfTestImages(t *testing.T) {
	cli := dockertest.Engine(t)
	tags := []string{"baseline-test/setuid:1", "baseline-test/private-key:1"}
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.tar")
	dockertest.Save(t, cli, saved, tags...)
	lay := filepath.Join(dir, "layout")
	dockertest.OCILayout(t, saved, lay, tags...)
	ociTar := filepath.Join(dir, "oci.tar")
	dockertest.TarDir(t, lay, ociTar)

	fromSave, err := ReadArchive(context.Background(), saved)
	if err != nil {
		t.Fatal(err)
	}
	fromLayout, err := ReadLayout(context.Background(), lay)
	if err != nil {
		t.Fatal(err)
	}
	fromOCITar, err := ReadArchive(context.Background(), ociTar)
	if err != nil {
		t.Fatal(err)
	}
	for what, images := range map[string][]Image{"docker save": fromSave, "OCI layout": fromLayout, "OCI archive": fromOCITar} {
		got := byTag(t, images)
		if len(got) != len(tags) {
			t.Errorf("%s: %d images, want %d", what, len(got), len(tags))
		}
		for _, tag := range tags {
			im := got[tag]
			engine, err := cli.ImageInspect(context.Background(), tag)
			if err != nil {
				t.Fatal(err)
			}
			if im.ID != engine.ID {
				t.Errorf("%s %s: id %s, the engine says %s", what, tag, im.ID, engine.ID)
			}
			cfg, _ := im.Config["config"].(map[string]any)
			if cfg["User"] != "1000" {
				t.Errorf("%s %s: config user %v, want 1000", what, tag, cfg["User"])
			}
		}
		if want := []string{"/usr/local/bin/helper"}; !reflect.DeepEqual(got[tags[0]].Files.Setuid, want) {
			t.Errorf("%s setuid: %v, want %v", what, got[tags[0]].Files.Setuid, want)
		}
		want := []string{"/home/app/.ssh/id_ed25519 (an SSH private key (by its name))", "/opt/app/signing.txt (a private key (PEM header))"}
		if !reflect.DeepEqual(got[tags[1]].Files.Secrets, want) {
			t.Errorf("%s secrets: %v, want %v", what, got[tags[1]].Files.Secrets, want)
		}
		if len(got[tags[0]].Files.Secrets) != 0 {
			t.Errorf("%s: secrets in %s: %v", what, tags[0], got[tags[0]].Files.Secrets)
		}
	}
}

// A layer changed after it was saved is refused with the reason, in a
// docker save tarball and in an OCI layout (there a compressed blob).
func TestCorruptedLayerRefused(t *testing.T) {
	cli := dockertest.Engine(t)
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.tar")
	dockertest.Save(t, cli, saved, "baseline-test/hardened:1")
	bad := filepath.Join(dir, "bad.tar")
	dockertest.Corrupt(t, saved, bad, []byte("hello\n"), []byte("jello\n"))
	images, err := ReadArchive(context.Background(), bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 || images[0].Err == nil || !strings.Contains(images[0].Err.Error(), "does not match its digest") {
		t.Fatalf("corrupted layer: %+v, want an error saying it does not match its digest", images)
	}

	lay := filepath.Join(dir, "layout")
	dockertest.OCILayout(t, saved, lay, "baseline-test/hardened:1")
	blobs, _ := filepath.Glob(filepath.Join(lay, "blobs", "sha256", "*"))
	var flipped bool
	for _, b := range blobs {
		data, _ := os.ReadFile(b)
		if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b { // a gzip layer
			data[len(data)/2] ^= 0xff
			if err := os.WriteFile(b, data, 0o600); err != nil {
				t.Fatal(err)
			}
			flipped = true
			break
		}
	}
	if !flipped {
		t.Fatal("no compressed layer in the layout")
	}
	images, err = ReadLayout(context.Background(), lay)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 || images[0].Err == nil {
		t.Fatalf("corrupted blob in a layout: %+v, want an error", images)
	}
}

// Files that are not archives or layouts, or that a hostile party made,
// are refused with the reason, never followed outside the layout.
func TestHostileInputsRefused(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "image.tar.gz")
	if err := os.WriteFile(gz, []byte{0x1f, 0x8b, 8, 0, 0, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArchive(context.Background(), gz); err == nil || !strings.Contains(err.Error(), "decompress it first") {
		t.Errorf("gzip archive: %v", err)
	}
	junk := filepath.Join(dir, "junk.tar")
	if err := os.WriteFile(junk, []byte(strings.Repeat("x", 2048)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArchive(context.Background(), junk); err == nil {
		t.Error("a file that is no tar archive was read")
	}
	// A layout whose index.json is a symbolic link to a file outside it.
	lay := filepath.Join(dir, "layout")
	if err := os.MkdirAll(lay, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(lay, "index.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLayout(context.Background(), lay); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symlinked index.json: %v", err)
	}
	if _, err := ReadLayout(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing layout was read")
	}
}

type member struct {
	name, link string
	data       []byte
}

func writeTar(t *testing.T, file string, members ...member) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		hdr := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}
		if m.link != "" {
			hdr = &tar.Header{Name: m.name, Linkname: m.link, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// What is read whole is bounded, and links inside an archive are followed
// only within it and only so far: a hostile archive gets a reason, not
// the scanner's memory.
func TestArchiveBounds(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big-manifest.tar")
	writeTar(t, big, member{name: "manifest.json", data: bytes.Repeat([]byte(" "), maxManifest+1)})
	if _, err := ReadArchive(context.Background(), big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("an oversized manifest.json: %v", err)
	}
	manifest := []byte(`[{"Config":"cfg.json","RepoTags":["a/b:1"],"Layers":["l/layer.tar"]}]`)
	bigCfg := filepath.Join(dir, "big-config.tar")
	writeTar(t, bigCfg, member{name: "manifest.json", data: manifest}, member{name: "cfg.json", data: bytes.Repeat([]byte(" "), maxConfig+1)})
	images, err := ReadArchive(context.Background(), bigCfg)
	if err != nil || len(images) != 1 || images[0].Err == nil || !strings.Contains(images[0].Err.Error(), "larger than") {
		t.Errorf("an oversized configuration: %+v, %v", images, err)
	}
	loop := filepath.Join(dir, "loop.tar")
	writeTar(t, loop, member{name: "manifest.json", data: manifest}, member{name: "cfg.json", link: "x.json"}, member{name: "x.json", link: "cfg.json"})
	images, err = ReadArchive(context.Background(), loop)
	if err != nil || len(images) != 1 || images[0].Err == nil || !strings.Contains(images[0].Err.Error(), "links") {
		t.Errorf("a link loop: %+v, %v", images, err)
	}
	none := filepath.Join(dir, "none.tar")
	writeTar(t, none, member{name: "hello.txt", data: []byte("hi")})
	if _, err := ReadArchive(context.Background(), none); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("a tar that is no image archive: %v", err)
	}
}
