package scan

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/docker"
)

// connectEngine connects to the Docker engine when a selected item needs
// it (needed), and records in hc why there is none otherwise.
func (hc *hostContext) connectEngine(ctx context.Context, opts Options, needed bool, log *slog.Logger) {
	if !opts.NoDocker && needed {
		hc.engine, hc.engineErr = docker.Connect(opts.DockerHost)
		if hc.engineErr == nil {
			hc.daemon, hc.engineErr = hc.engine.Daemon(ctx)
		}
		if hc.engineErr != nil {
			log.Warn("docker engine unavailable", "err", hc.engineErr)
		}
	} else if opts.NoDocker {
		hc.engineErr = fmt.Errorf("disabled by --no-docker")
	} else {
		hc.engineErr = fmt.Errorf("not needed: no selected item reads the Docker engine")
	}
}

// engineAssets lists containers and images once. Each is a target whose
// inspect is left to its evaluation (read), so that a scan holds an
// inspect document only while the asset is being judged.
func (d *discovery) engineAssets(ctx context.Context, host assets.Asset, wantContainers, wantImages bool) []target {
	hc := d.hc
	cs, ims, err := hc.lists(ctx)
	if err != nil {
		d.failure = "could not list containers and images: " + err.Error()
		d.suggestion = "check that the Docker engine runs and that baseline can reach its socket (DOCKER_HOST, --docker-host)"
		return nil
	}
	var out []target
	if wantContainers {
		for _, c := range cs {
			out = append(out, d.container(host, c))
		}
	}
	if wantImages {
		for _, im := range ims {
			out = append(out, d.image(host, im))
		}
	}
	return out
}

// container is a listed container, inspected when it is judged.
func (d *discovery) container(host assets.Asset, c docker.ContainerRef) target {
	name := strings.TrimPrefix(firstOr(c.Names, c.ID[:12]), "/")
	a := assets.Asset{
		ID: assets.StableID(assets.Container, host.Ref, c.ID), Type: assets.Container, Name: name, Ref: c.ID, NodeName: host.Name,
		Container: &assets.ContainerDetails{ContainerID: c.ID, Name: name, ImageName: c.Image, State: runState(c.State)},
	}
	return target{asset: a, read: func(ctx context.Context) target { return d.inspectContainer(ctx, a) }}
}

func (d *discovery) inspectContainer(ctx context.Context, a assets.Asset) target {
	doc, err := d.hc.engine.InspectContainer(ctx, a.Ref)
	if err != nil {
		return target{asset: a, failure: err.Error(), suggestion: "the container may have been removed during the scan; rescan it"}
	}
	det := *a.Container
	a.Container = &det
	if s, ok := dig(doc, "State", "Status").(string); ok {
		det.State = runState(s)
	}
	if created, ok := doc["Created"].(string); ok {
		det.CreateTime, _ = time.Parse(time.RFC3339Nano, created)
	}
	if labels, ok := dig(doc, "Config", "Labels").(map[string]any); ok {
		det.PodName, _ = labels["io.kubernetes.pod.name"].(string)
	}
	env := maskEnv(doc)
	return target{asset: a, facts: &assetFacts{host: d.hc, ref: a.Ref, doc: doc, env: env}, version: d.hc.daemon.Version}
}

// image is a listed image, inspected when it is judged.
func (d *discovery) image(host assets.Asset, im docker.ImageRef) target {
	name := "<none>"
	repo, tag := "<none>", "<none>"
	for _, t := range im.RepoTags {
		if t != "<none>:<none>" {
			name = t
			if i := strings.LastIndex(t, ":"); i > 0 && !strings.Contains(t[i:], "/") {
				repo, tag = t[:i], t[i+1:]
			} else {
				repo = t
			}
			break
		}
	}
	if name == "<none>" {
		name = strings.TrimPrefix(im.ID, "sha256:")[:12]
	}
	a := assets.Asset{
		ID: assets.StableID(assets.Image, host.Ref, im.ID), Type: assets.Image, Name: name, Ref: im.ID, NodeName: host.Name,
		Image: &assets.ImageDetails{ImageID: im.ID, Name: name, Tag: tag, Repository: repo},
	}
	return target{asset: a, read: func(ctx context.Context) target { return d.inspectImage(ctx, a) }}
}

func (d *discovery) inspectImage(ctx context.Context, a assets.Asset) target {
	doc, err := d.hc.engine.InspectImage(ctx, a.Ref)
	if err != nil {
		return target{asset: a, failure: err.Error(), suggestion: "the image may have been removed during the scan; rescan it"}
	}
	env := maskEnv(doc)
	return target{asset: a, facts: &assetFacts{host: d.hc, ref: a.Ref, doc: doc, env: env}, version: d.hc.daemon.Version}
}

func runState(s string) assets.RunState {
	switch s {
	case "running":
		return assets.StateNormal
	case "paused":
		return assets.StatePaused
	case "exited", "created":
		return assets.StateStopped
	}
	return assets.StateAbnormal
}

func dig(doc map[string]any, keys ...string) any {
	var cur any = doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}
