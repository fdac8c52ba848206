package scan

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/imagearchive"
	"github.com/baselinehq/baseline/checks"
)

// Images without a daemon: `docker save` tarballs, OCI archives and OCI
// layouts are judged by the same image items as the engine's images, from
// the same three sources (configuration, history, files), read from the
// archive. Items that need a running engine are not applicable there.

// archiveNoEngine is why an engine source has nothing for an archived image.
const archiveNoEngine = "the image was read from %s, without a Docker engine: there is no running engine to read"

// archiveScan reports whether the scan judges images from archives or
// layouts instead of a host.
func archiveScan(opts Options) bool { return len(opts.ImageArchives)+len(opts.OCILayouts) > 0 }

// archiveTypes checks that an archive scan is asked for images only.
func archiveTypes(opts Options) error {
	for _, t := range opts.Types {
		if t != assets.Image {
			return fmt.Errorf("--type %s: --image-archive and --oci-layout judge images only", t.Short())
		}
	}
	return nil
}

// archiveTargets reads every archive and layout, in the order given: one
// target per image, a scan-failed one for an image (or a whole source)
// that cannot be read, with the reason; the others go on.
func (d *discovery) archiveTargets(ctx context.Context, host assets.Asset, opts Options) []target {
	var out []target
	read := func(src string, images []imagearchive.Image, err error) {
		if err != nil {
			a := archiveAsset(host, src, imagearchive.Image{Source: src})
			out = append(out, target{asset: a, failure: err.Error(), suggestion: "check that the file is a docker save tarball, an OCI image archive or an OCI image layout, and that it is complete"})
			return
		}
		for _, im := range images {
			out = append(out, d.archiveTarget(host, src, im))
		}
	}
	for _, f := range opts.ImageArchives {
		images, err := imagearchive.ReadArchive(ctx, f)
		read(f, images, err)
	}
	for _, dir := range opts.OCILayouts {
		images, err := imagearchive.ReadLayout(ctx, dir)
		read(dir, images, err)
	}
	return out
}

// archiveAsset names an archived image by its first tag, else by its
// source and short id. Its id derives from the image's id when it was
// read (the same image in two archives is one asset), else from its
// source.
func archiveAsset(host assets.Asset, src string, im imagearchive.Image) assets.Asset {
	name, repo, tag := "", "<none>", "<none>"
	if len(im.Tags) > 0 {
		name = im.Tags[0]
		if i := strings.LastIndex(name, ":"); i > 0 && !strings.Contains(name[i:], "/") {
			repo, tag = name[:i], name[i+1:]
		} else {
			repo = name
		}
	}
	if name == "" {
		name = filepath.Base(src)
		if id := strings.TrimPrefix(im.ID, "sha256:"); len(id) >= 12 {
			name += "@" + id[:12]
		}
	}
	key := im.ID
	if key == "" {
		key = im.Source
	}
	return assets.Asset{ID: assets.StableID(assets.Image, "archive", key), Type: assets.Image, Name: name, Ref: im.ID, NodeName: host.Name,
		Image: &assets.ImageDetails{ImageID: im.ID, Name: name, Tag: tag, Repository: repo}}
}

func (d *discovery) archiveTarget(host assets.Asset, src string, im imagearchive.Image) target {
	a := archiveAsset(host, src, im)
	if im.Err != nil {
		return target{asset: a, failure: im.Source + ": " + im.Err.Error(),
			suggestion: "the image's layers or configuration do not match their digests, or are missing: save or copy the image again"}
	}
	doc := inspectDoc(im)
	env := maskEnv(doc)
	return target{asset: a, facts: &archiveFacts{image: im, doc: doc, env: env, history: configHistory(im.Config)}}
}

// inspectDoc lays an image configuration out as the engine's image
// inspect document, so that image items read both alike.
func inspectDoc(im imagearchive.Image) map[string]any {
	cfg := im.Config
	section := func(key string) map[string]any {
		if m, ok := cfg[key].(map[string]any); ok {
			return m
		}
		return map[string]any{}
	}
	rootfs := section("rootfs")
	return map[string]any{
		"Id": im.ID, "RepoTags": anyList(im.Tags), "RepoDigests": []any{},
		"Created": cfg["created"], "Author": cfg["author"], "Architecture": cfg["architecture"], "Os": cfg["os"],
		"Variant": cfg["variant"], "DockerVersion": cfg["docker_version"],
		"Config": section("config"), "ContainerConfig": section("container_config"),
		"RootFS": map[string]any{"Type": rootfs["type"], "Layers": rootfs["diff_ids"]},
	}
}

// configHistory is the configuration's history as the engine shows it:
// newest first, with CreatedBy, Created and Comment.
func configHistory(cfg map[string]any) []map[string]any {
	list, _ := cfg["history"].([]any)
	out := make([]map[string]any, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		h, _ := list[i].(map[string]any)
		by, _ := h["created_by"].(string)
		comment, _ := h["comment"].(string)
		out = append(out, map[string]any{"CreatedBy": by, "Created": h["created"], "Comment": comment})
	}
	return out
}

// archiveFacts serves the image sources of an archived image.
type archiveFacts struct {
	image   imagearchive.Image
	doc     map[string]any
	env     map[string]string
	history []map[string]any
}

var _ checks.Facts = (*archiveFacts)(nil)

// Observe implements checks.Facts.
func (f *archiveFacts) Observe(_ context.Context, src *checks.Source) (checks.Observation, error) {
	switch src.Kind {
	case checks.SourceImage:
		return one(checks.Subject{Name: "image configuration (" + f.image.Source + ")", Doc: f.doc, Env: f.env, Masked: true}), nil
	case checks.SourceImageHistory:
		return historyObservation(f.history), nil
	case checks.SourceImageFiles:
		return imageFilesObservation("image file system ("+f.image.Source+")", f.image.Files), nil
	case checks.SourceImageUpdates:
		return updatesObservation(f.history), nil
	case checks.SourceImageSecrets:
		return secretsObservation(f.env, f.history, f.image.Files, "layers ("+f.image.Source+")"), nil
	case checks.SourceDaemonInfo, checks.SourceDaemonConfig:
		return checks.Observation{Empty: fmt.Sprintf(archiveNoEngine, f.image.Source)}, nil
	}
	return checks.Observation{}, fmt.Errorf("source kind %s is not read from an image archive", src.Kind)
}
