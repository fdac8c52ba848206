package imagearchive

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/baselinehq/baseline/assets/imagefs"
)

// blobs opens an OCI image layout's files: index.json and its blobs.
type blobs interface {
	open(name string) (io.ReadCloser, int64, error)
}

// blobName is where a digest's blob lives in a layout. A digest parsed by
// go-containerregistry is an algorithm and hex digits only: it cannot
// name another path.
func blobName(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// tarBlobs reads a layout from an archive's members.
type tarBlobs struct {
	f   *os.File
	idx tarIndex
}

func (t *tarBlobs) open(name string) (io.ReadCloser, int64, error) {
	sec, err := t.idx.section(t.f, name)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(sec), sec.Size(), nil
}

// dirBlobs reads a layout directory; a blob must be a regular file (a
// symbolic link could name a file outside the layout).
type dirBlobs string

func (d dirBlobs) open(name string) (io.ReadCloser, int64, error) {
	p := filepath.Join(string(d), filepath.FromSlash(name))
	st, err := os.Lstat(p)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file", name)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// readBlob reads a small blob whole, checked against its digest.
func readBlob(b blobs, h v1.Hash, max int64, what string) ([]byte, error) {
	rc, _, err := b.open(blobName(h))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	raw, err := readBounded(newVerifying(rc, h, 0), max, what+" "+short(h.String()))
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return raw, err
}

// ociImages reads every image an OCI layout's index.json leads to,
// through nested indexes.
func ociImages(ctx context.Context, source string, b blobs) ([]Image, error) {
	rc, _, err := b.open("index.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	raw, err := readBounded(rc, maxManifest, "index.json")
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	w := &ociWalk{ctx: ctx, source: source, b: b}
	if err := w.index(raw, "", 0); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(w.out) == 0 {
		return nil, fmt.Errorf("%s: index.json leads to no image", source)
	}
	return w.out, nil
}

type ociWalk struct {
	ctx    context.Context
	source string
	b      blobs
	out    []Image
}

// index walks an index's manifests; name is the reference an outer index
// gave this one.
func (w *ociWalk) index(raw []byte, name string, depth int) error {
	var im v1.IndexManifest
	if err := decodeJSON(raw, &im, "index"); err != nil {
		return err
	}
	for _, d := range im.Manifests {
		ref := name
		if n := d.Annotations["org.opencontainers.image.ref.name"]; n != "" {
			ref = n
		} else if n := d.Annotations["io.containerd.image.name"]; n != "" {
			ref = n
		}
		switch {
		case d.MediaType.IsIndex():
			if depth >= maxDepth {
				return fmt.Errorf("indexes nested deeper than %d", maxDepth)
			}
			sub, err := readBlob(w.b, d.Digest, maxManifest, "index")
			if err != nil {
				return err
			}
			if err := w.index(sub, ref, depth+1); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			if len(w.out) >= maxImages {
				return fmt.Errorf("more than %d images", maxImages)
			}
			w.out = append(w.out, w.image(d, ref))
		}
	}
	return nil
}

func (w *ociWalk) image(d v1.Descriptor, ref string) Image {
	im := Image{Source: w.source + " (manifest " + short(d.Digest.String())}
	if d.Platform != nil && d.Platform.OS != "" {
		im.Source += ", " + d.Platform.String()
	}
	im.Source += ")"
	if ref != "" {
		im.Tags = []string{ref}
	}
	core, err := w.core(d)
	if err != nil {
		im.Err = err
		return im
	}
	img, err := partial.CompressedToImage(core)
	if err != nil {
		im.Err = err
		return im
	}
	im.ID, im.Config, im.Files, im.Err = readImage(w.ctx, img)
	return im
}

func (w *ociWalk) core(d v1.Descriptor) (*ociImage, error) {
	raw, err := readBlob(w.b, d.Digest, maxManifest, "manifest")
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := decodeJSON(raw, &m, "manifest "+short(d.Digest.String())); err != nil {
		return nil, err
	}
	cfg, err := readBlob(w.b, m.Config.Digest, maxConfig, "configuration")
	if err != nil {
		return nil, err
	}
	mt := m.MediaType
	if mt == "" {
		mt = d.MediaType
	}
	return &ociImage{b: w.b, manifest: raw, config: cfg, mediaType: mt, layers: m.Layers}, nil
}

// ociImage is an image of a layout, for go-containerregistry's
// partial.CompressedToImage: its manifest and configuration (read and
// checked) and its layers' blobs.
type ociImage struct {
	b         blobs
	manifest  []byte
	config    []byte
	mediaType types.MediaType
	layers    []v1.Descriptor
}

func (o *ociImage) RawConfigFile() ([]byte, error)      { return o.config, nil }
func (o *ociImage) MediaType() (types.MediaType, error) { return o.mediaType, nil }
func (o *ociImage) RawManifest() ([]byte, error)        { return o.manifest, nil }

func (o *ociImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range o.layers {
		if l.Digest == h {
			return &ociLayer{b: o.b, d: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s is not in the manifest", short(h.String()))
}

// ociLayer is a layer blob, checked against its digest and size as it is
// read.
type ociLayer struct {
	b blobs
	d v1.Descriptor
}

func (l *ociLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l *ociLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l *ociLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }

func (l *ociLayer) Compressed() (io.ReadCloser, error) {
	rc, _, err := l.b.open(blobName(l.d.Digest))
	if err != nil {
		return nil, err
	}
	return newVerifying(rc, l.d.Digest, l.d.Size), nil
}

// readImage reads an image's id, configuration and file system.
func readImage(ctx context.Context, img v1.Image) (string, map[string]any, imagefs.Files, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return "", nil, imagefs.Files{}, fmt.Errorf("configuration: %w", err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", nil, imagefs.Files{}, err
	}
	doc, err := configDoc(raw)
	if err != nil {
		return id.String(), nil, imagefs.Files{}, err
	}
	files, err := readLayers(ctx, img)
	if err != nil {
		return id.String(), doc, imagefs.Files{}, err
	}
	if !strings.HasPrefix(id.String(), "sha256:") {
		return id.String(), doc, files, fmt.Errorf("configuration digest %s: only sha256 is read", id)
	}
	return id.String(), doc, files, nil
}
