package docker

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/baselinehq/baseline/assets/imagefs"
)

// SpecialFiles are the setuid and setgid files of an image's final file
// system (after every layer, whiteouts applied) and its secret-looking
// files.
type SpecialFiles = imagefs.Files

// ImageSpecialFiles exports the image (GET /images/get?names={id}, a read-only
// stream) and lists its setuid and setgid files. Only file headers are
// read; contents are skipped.
func (e *Engine) ImageSpecialFiles(ctx context.Context, id string) (SpecialFiles, error) {
	rc, err := e.cli.ImageSave(ctx, []string{id})
	if err != nil {
		return SpecialFiles{}, fmt.Errorf("export image %s: %w", shortID(id), err)
	}
	defer rc.Close()
	sf, err := specialFiles(rc)
	if err != nil {
		return SpecialFiles{}, fmt.Errorf("export image %s: %w", shortID(id), err)
	}
	return sf, nil
}

// specialFiles reads a `docker save` archive (legacy or OCI layout) as a
// stream: layers are indexed as they come, then applied in the manifest's
// order.
func specialFiles(r io.Reader) (SpecialFiles, error) {
	outer := tar.NewReader(r)
	layers := map[string]*imagefs.Layer{}
	var rd imagefs.Reader
	var manifest []struct{ Layers []string }
	for {
		hdr, err := outer.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return SpecialFiles{}, err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(hdr.Name)
		switch {
		case name == "manifest.json":
			if err := json.NewDecoder(io.LimitReader(outer, maxManifest)).Decode(&manifest); err != nil {
				return SpecialFiles{}, fmt.Errorf("manifest.json: %w", err)
			}
		case strings.HasSuffix(name, ".json"), name == "repositories", name == "oci-layout":
		default:
			// A layer, or in the OCI layout possibly a config blob: only a
			// tar stream is indexed.
			li, err := rd.Index(outer)
			if errors.Is(err, imagefs.ErrTooManyEntries) {
				return SpecialFiles{}, err
			}
			if err == nil {
				layers[name] = li
			}
		}
	}
	if len(manifest) == 0 {
		return SpecialFiles{}, errors.New("archive has no manifest.json")
	}
	ordered := make([]*imagefs.Layer, 0, len(manifest[0].Layers))
	for _, lp := range manifest[0].Layers {
		li, ok := layers[path.Clean(lp)]
		if !ok {
			return SpecialFiles{}, fmt.Errorf("layer %s missing from archive", lp)
		}
		ordered = append(ordered, li)
	}
	return imagefs.Flatten(ordered), nil
}

// maxManifest bounds the manifest.json read from an export.
const maxManifest = 4 << 20
