package docker

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// SpecialFiles are the setuid and setgid files of an image's final file
// system (after every layer, whiteouts applied).
type SpecialFiles struct {
	Setuid []string
	Setgid []string
}

const (
	flagSetuid = 1 << iota
	flagSetgid
)

// layerIndex is what one layer adds and removes.
type layerIndex struct {
	files     map[string]uint8 // path → setuid/setgid flags (0 for a plain entry)
	whiteouts []string         // paths deleted from lower layers
	opaques   []string         // directories whose lower content is hidden
}

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

// specialFiles reads a `docker save` archive (legacy or OCI layout).
func specialFiles(r io.Reader) (SpecialFiles, error) {
	outer := tar.NewReader(r)
	layers := map[string]*layerIndex{}
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
			if err := json.NewDecoder(outer).Decode(&manifest); err != nil {
				return SpecialFiles{}, fmt.Errorf("manifest.json: %w", err)
			}
		case strings.HasSuffix(name, ".json"), name == "repositories", name == "oci-layout":
		default:
			// A layer, or in the OCI layout possibly a config blob: only a
			// tar stream is indexed.
			if li, ok := indexLayer(outer); ok {
				layers[name] = li
			}
		}
	}
	if len(manifest) == 0 {
		return SpecialFiles{}, errors.New("archive has no manifest.json")
	}
	state := map[string]uint8{}
	for _, lp := range manifest[0].Layers {
		li, ok := layers[path.Clean(lp)]
		if !ok {
			return SpecialFiles{}, fmt.Errorf("layer %s missing from archive", lp)
		}
		applyLayer(state, li)
	}
	var sf SpecialFiles
	for p, f := range state {
		if f&flagSetuid != 0 {
			sf.Setuid = append(sf.Setuid, p)
		}
		if f&flagSetgid != 0 {
			sf.Setgid = append(sf.Setgid, p)
		}
	}
	sort.Strings(sf.Setuid)
	sort.Strings(sf.Setgid)
	return sf, nil
}

func indexLayer(r io.Reader) (*layerIndex, bool) {
	tr := tar.NewReader(r)
	li := &layerIndex{files: map[string]uint8{}}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return li, true
		}
		if err != nil {
			return nil, false
		}
		p := "/" + strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		dir, base := path.Split(p)
		switch {
		case base == ".wh..wh..opq":
			li.opaques = append(li.opaques, path.Clean(dir))
			continue
		case strings.HasPrefix(base, ".wh."):
			li.whiteouts = append(li.whiteouts, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
			continue
		}
		var f uint8
		if hdr.Typeflag == tar.TypeReg {
			if hdr.Mode&0o4000 != 0 {
				f |= flagSetuid
			}
			if hdr.Mode&0o2000 != 0 {
				f |= flagSetgid
			}
		}
		li.files[p] = f
	}
}

func applyLayer(state map[string]uint8, li *layerIndex) {
	for _, w := range li.whiteouts {
		removeTree(state, w, true)
	}
	for _, o := range li.opaques {
		removeTree(state, o, false)
	}
	for p, f := range li.files {
		state[p] = f
	}
}

// removeTree deletes p's descendants, and p itself when self is true.
func removeTree(state map[string]uint8, p string, self bool) {
	prefix := strings.TrimSuffix(p, "/") + "/"
	for k := range state {
		if (self && k == p) || strings.HasPrefix(k, prefix) {
			delete(state, k)
		}
	}
}
