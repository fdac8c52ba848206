// Package imagearchive reads images without a Docker engine: `docker save`
// tarballs, OCI image archives (a tar of an OCI image layout) and OCI image
// layout directories, through go-containerregistry. Each image's
// configuration, history and file system (setuid and setgid files with
// whiteouts applied, secret-looking files) are read from its blobs as
// streams; nothing is extracted to disk, every layer is checked against
// its digest, and the sizes of the documents read whole are bounded.
package imagearchive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/baselinehq/baseline/assets/imagefs"
	"github.com/baselinehq/baseline/internal/jsondoc"
)

// Bounds on what is read whole: manifests and indexes, image
// configurations, the entries of an archive, the images of one source and
// the depth of nested indexes.
const (
	maxManifest = 4 << 20
	maxConfig   = 8 << 20
	maxOuter    = 100_000
	maxImages   = 1_000
	maxDepth    = 4
	maxLinks    = 8
)

// Image is one image read from an archive or a layout. Err, when set, says
// why the image could not be read (a layer that does not match its
// digest, a missing blob); the other images of the source are unaffected.
type Image struct {
	// Source names the file or directory, and the image within it.
	Source string
	// ID is the image's id: the digest of its configuration (sha256:…),
	// as the engine names the same image.
	ID string
	// Tags are the image's names (repository:tag) recorded in the source.
	Tags []string
	// Config is the image's configuration document (the OCI/Docker image
	// config: config, history, rootfs…), numbers kept exact.
	Config map[string]any
	// Files are the file system's setuid, setgid and secret-looking files.
	Files imagefs.Files
	Err   error
}

// ReadArchive reads every image of a `docker save` tarball or an OCI image
// archive. An error means the file itself could not be read as either.
func ReadArchive(ctx context.Context, file string) ([]Image, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", file)
	}
	idx, err := indexTar(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	switch {
	case idx.has("manifest.json"):
		return dockerArchive(ctx, file, f, st.Size(), idx)
	case idx.has("index.json"):
		return ociImages(ctx, file, &tarBlobs{f: f, idx: idx})
	}
	return nil, fmt.Errorf("%s: neither a docker save archive (manifest.json) nor an OCI image archive (index.json)", file)
}

// ReadLayout reads every image of an OCI image layout directory.
func ReadLayout(ctx context.Context, dir string) ([]Image, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	return ociImages(ctx, dir, dirBlobs(dir))
}

// entry is a member of an archive: where its data starts and its size.
type entry struct {
	offset, size int64
	link         string // a symbolic or hard link's target, resolved in the archive
}

type tarIndex map[string]entry

func (t tarIndex) has(name string) bool { _, ok := t[name]; return ok }

// resolve follows links within the archive (at most maxLinks).
func (t tarIndex) resolve(name string) (entry, error) {
	name = path.Clean(name)
	for range maxLinks {
		e, ok := t[name]
		if !ok {
			return entry{}, fmt.Errorf("%s is not in the archive", name)
		}
		if e.link == "" {
			return e, nil
		}
		name = e.link
	}
	return entry{}, fmt.Errorf("%s: more than %d links", name, maxLinks)
}

// section is a member's data.
func (t tarIndex) section(f io.ReaderAt, name string) (*io.SectionReader, error) {
	e, err := t.resolve(name)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(f, e.offset, e.size), nil
}

// offsetReader tells the tar reader where it is, and lets it seek over
// members' data instead of reading it.
type offsetReader struct {
	f   io.ReadSeeker
	pos int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.f.Read(p)
	o.pos += int64(n)
	return n, err
}

func (o *offsetReader) Seek(off int64, whence int) (int64, error) {
	p, err := o.f.Seek(off, whence)
	if err == nil {
		o.pos = p
	}
	return p, err
}

// indexTar reads an archive's headers only: each member's offset and size.
func indexTar(f *os.File, size int64) (tarIndex, error) {
	var magic [2]byte
	if _, err := f.ReadAt(magic[:], 0); err == nil && magic == [2]byte{0x1f, 0x8b} {
		return nil, errors.New("a compressed archive: decompress it first (gunzip), the reader needs a plain tar")
	}
	or := &offsetReader{f: f}
	tr := tar.NewReader(or)
	idx := tarIndex{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a tar archive: %w", err)
		}
		if len(idx) >= maxOuter {
			return nil, fmt.Errorf("more than %d members", maxOuter)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		switch hdr.Typeflag {
		case tar.TypeReg:
			if hdr.Size > size {
				return nil, fmt.Errorf("%s: its size is larger than the archive", name)
			}
			idx[name] = entry{offset: or.pos, size: hdr.Size}
		case tar.TypeSymlink:
			idx[name] = entry{link: path.Join(path.Dir(name), hdr.Linkname)}
		case tar.TypeLink:
			idx[name] = entry{link: path.Clean(hdr.Linkname)}
		}
	}
	return idx, nil
}

// readBounded reads r whole, refusing more than max bytes.
func readBounded(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes, the limit", what, max)
	}
	return b, nil
}

// readLayers reads each layer's uncompressed stream to its end, checking
// it against the layer's diff id, and flattens the file system.
func readLayers(ctx context.Context, img v1.Image) (imagefs.Files, error) {
	layers, err := img.Layers()
	if err != nil {
		return imagefs.Files{}, fmt.Errorf("layers: %w", err)
	}
	var rd imagefs.Reader
	indexed := make([]*imagefs.Layer, 0, len(layers))
	for i, l := range layers {
		li, err := readLayer(ctx, &rd, l)
		if err != nil {
			return imagefs.Files{}, fmt.Errorf("layer %d of %d: %w", i+1, len(layers), err)
		}
		indexed = append(indexed, li)
	}
	return imagefs.Flatten(indexed), nil
}

func readLayer(ctx context.Context, rd *imagefs.Reader, l v1.Layer) (*imagefs.Layer, error) {
	want, err := l.DiffID()
	if err != nil {
		return nil, err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	tee := io.TeeReader(ctxReader{ctx, rc}, h)
	li, err := rd.Index(tee)
	if err == nil {
		_, err = io.Copy(io.Discard, tee) // the padding after the end marker
	}
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); want.String() != got {
		return nil, fmt.Errorf("its content (%s) does not match its digest %s: the archive is corrupted or was altered", short(got), short(want.String()))
	}
	return li, nil
}

// ctxReader stops reading when the scan is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// verifying checks a blob against its digest and size as it is read; the
// mismatch is the error of the read that reaches the end, or of Close
// when the reader stopped before it.
type verifying struct {
	r      io.ReadCloser
	h      hash.Hash
	want   v1.Hash
	size   int64
	n      int64
	done   bool
	closed bool
}

func newVerifying(r io.ReadCloser, want v1.Hash, size int64) *verifying {
	return &verifying{r: r, h: sha256.New(), want: want, size: size}
}

func (v *verifying) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if errors.Is(err, io.EOF) {
		v.done = true
		if verr := v.check(); verr != nil {
			return n, verr
		}
	}
	return n, err
}

func (v *verifying) check() error {
	got := "sha256:" + hex.EncodeToString(v.h.Sum(nil))
	if got != v.want.String() || (v.size > 0 && v.n != v.size) {
		return fmt.Errorf("blob %s does not match its digest (read %d bytes, %s): the archive is corrupted or was altered", short(v.want.String()), v.n, short(got))
	}
	return nil
}

func (v *verifying) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	var err error
	if !v.done {
		if _, err = io.Copy(io.Discard, v); errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if cerr := v.r.Close(); err == nil {
		err = cerr
	}
	return err
}

// configDoc decodes an image configuration, numbers kept exact.
func configDoc(raw []byte) (map[string]any, error) {
	v, err := jsondoc.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("image configuration: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("image configuration: not an object")
	}
	return doc, nil
}

func short(digest string) string {
	d := strings.TrimPrefix(digest, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

// decodeJSON decodes a bounded document.
func decodeJSON(raw []byte, v any, what string) error {
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
