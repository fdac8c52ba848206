package checks

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// endlessFS serves one standard whose item file never ends (a comment
// repeated forever), counting what is read from it. After a far larger
// amount than any limit it fails, so that an unbounded reader fails the
// test rather than exhausting memory.
type endlessFS struct {
	files fstest.MapFS
	read  *int64
}

const endlessCap = 64 << 20

func (f endlessFS) Open(name string) (fs.File, error) {
	if name == "std/endless.yaml" {
		return &endlessFile{read: f.read}, nil
	}
	return f.files.Open(name)
}

func (f endlessFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return fs.ReadDir(f.files, name)
}

type endlessFile struct{ read *int64 }

func (e *endlessFile) Stat() (fs.FileInfo, error) { return endlessInfo{}, nil }
func (e *endlessFile) Close() error               { return nil }
func (e *endlessFile) Read(p []byte) (int, error) {
	if *e.read >= endlessCap {
		return 0, errors.New("read far past any limit")
	}
	for i := range p {
		p[i] = "# x\n"[i%4]
	}
	*e.read += int64(len(p))
	return len(p), nil
}

type endlessInfo struct{}

func (endlessInfo) Name() string       { return "endless.yaml" }
func (endlessInfo) Size() int64        { return 0 }
func (endlessInfo) Mode() fs.FileMode  { return 0o444 }
func (endlessInfo) ModTime() time.Time { return time.Time{} }
func (endlessInfo) IsDir() bool        { return false }
func (endlessInfo) Sys() any           { return nil }

// A definition file larger than MaxFileSize is refused with its name and
// the limit, and it is read no further than the limit.
func TestLoadBoundsFileSize(t *testing.T) {
	var read int64
	fsys := endlessFS{files: fstest.MapFS{
		"std/standard.yaml": {Data: []byte(stdHeader)},
		"std/endless.yaml":  {Data: []byte("placeholder")},
	}, read: &read}
	_, err := Load(Tree{FS: fsys, Origin: "fx"})
	if err == nil || !strings.Contains(err.Error(), "fx/std/endless.yaml") || !strings.Contains(err.Error(), fmt.Sprint(MaxFileSize)) {
		t.Fatalf("err = %v, want the file named with the limit of %d bytes", err, MaxFileSize)
	}
	if read > MaxFileSize+64<<10 {
		t.Errorf("read %d bytes of the file, want at most the limit (%d) and one buffer", read, MaxFileSize)
	}
}

// A definition file of more than MaxNodes YAML values is refused with its
// name and the limit, before it is decoded into items.
func TestLoadBoundsYAMLNodes(t *testing.T) {
	many := "category: C\nasset_type: container\nitems: []\nx: [" + strings.Repeat("0,", MaxNodes) + "0]\n"
	if len(many) > MaxFileSize {
		t.Fatalf("test file of %d bytes is over the size limit", len(many))
	}
	_, err := load(t, map[string]string{"std/standard.yaml": stdHeader, "std/many.yaml": many})
	if err == nil || !strings.Contains(err.Error(), "fx/std/many.yaml") || !strings.Contains(err.Error(), fmt.Sprint(MaxNodes)) {
		t.Fatalf("err = %v, want the file named with the limit of %d values", err, MaxNodes)
	}
	// Within the limits, loading works as before.
	if _, err := load(t, map[string]string{"std/standard.yaml": stdHeader, "std/5.yaml": "category: C\nasset_type: container\nitems:\n" + item("7001", "5.5")}); err != nil {
		t.Fatal(err)
	}
}
