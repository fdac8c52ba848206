package imagearchive

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/baselinehq/baseline/assets/imagefs"
)

// saveEntry is one image of a `docker save` archive's manifest.json.
type saveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// dockerArchive reads the images of a `docker save` archive with
// go-containerregistry's tarball reader, after checking the sizes of what
// it reads whole (manifest.json, the configurations).
func dockerArchive(ctx context.Context, file string, f *os.File, size int64, idx tarIndex) ([]Image, error) {
	sec, err := idx.section(f, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	raw, err := readBounded(sec, maxManifest, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var entries []saveEntry
	if err := decodeJSON(raw, &entries, "manifest.json"); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: manifest.json lists no image", file)
	}
	if len(entries) > maxImages {
		return nil, fmt.Errorf("%s: manifest.json lists more than %d images", file, maxImages)
	}
	opener := func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(f, 0, size)), nil }
	out := make([]Image, 0, len(entries))
	for i, e := range entries {
		im := Image{Source: fmt.Sprintf("%s (image %d of %d)", file, i+1, len(entries)), Tags: e.RepoTags}
		if len(entries) == 1 {
			im.Source = file
		}
		im.ID, im.Config, im.Files, im.Err = dockerImage(ctx, f, idx, entries, e, opener)
		out = append(out, im)
	}
	return out, nil
}

func dockerImage(ctx context.Context, f *os.File, idx tarIndex, all []saveEntry, e saveEntry, opener tarball.Opener) (string, map[string]any, imagefs.Files, error) {
	cfg, err := idx.resolve(e.Config)
	if err != nil {
		return "", nil, imagefs.Files{}, fmt.Errorf("configuration: %w", err)
	}
	if cfg.size > maxConfig {
		return "", nil, imagefs.Files{}, fmt.Errorf("configuration %s is larger than %d bytes, the limit", e.Config, maxConfig)
	}
	var tag *name.Tag
	if len(all) > 1 {
		if len(e.RepoTags) == 0 {
			return "", nil, imagefs.Files{}, fmt.Errorf("the archive holds %d images and this one has no tag to find it by: save it in an archive of its own", len(all))
		}
		t, err := name.NewTag(e.RepoTags[0])
		if err != nil {
			return "", nil, imagefs.Files{}, fmt.Errorf("tag %q: %w", e.RepoTags[0], err)
		}
		tag = &t
	}
	img, err := tarball.Image(opener, tag)
	if err != nil {
		return "", nil, imagefs.Files{}, err
	}
	return readImage(ctx, img)
}
