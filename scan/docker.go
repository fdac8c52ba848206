package scan

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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

// engineAssets lists and inspects containers and images, once each.
func (d *discovery) engineAssets(ctx context.Context, host assets.Asset, wantContainers, wantImages bool) []target {
	hc := d.hc
	cs, ims, err := hc.lists(ctx)
	if err != nil {
		d.failure = "could not list containers and images: " + err.Error()
		d.suggestion = "check that the Docker engine runs and that baseline can reach its socket (DOCKER_HOST, --docker-host)"
		return nil
	}
	var refs []func() target
	if wantContainers {
		for _, c := range cs {
			refs = append(refs, func() target { return d.container(ctx, host, c) })
		}
	}
	if wantImages {
		for _, im := range ims {
			refs = append(refs, func() target { return d.image(ctx, host, im) })
		}
	}
	out := make([]target, len(refs))
	sem := make(chan struct{}, d.workers)
	var wg sync.WaitGroup
	for i, f := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = f()
		}()
	}
	wg.Wait()
	return out
}

func (d *discovery) container(ctx context.Context, host assets.Asset, c docker.ContainerRef) target {
	name := strings.TrimPrefix(firstOr(c.Names, c.ID[:12]), "/")
	a := assets.Asset{
		ID: assets.StableID(assets.Container, host.Ref, c.ID), Type: assets.Container, Name: name, Ref: c.ID, NodeName: host.Name,
		Container: &assets.ContainerDetails{ContainerID: c.ID, Name: name, ImageName: c.Image, State: runState(c.State)},
	}
	doc, err := d.hc.engine.InspectContainer(ctx, c.ID)
	if err != nil {
		return target{asset: a, failure: err.Error(), suggestion: "the container may have been removed during the scan; rescan it"}
	}
	if s, ok := dig(doc, "State", "Status").(string); ok {
		a.Container.State = runState(s)
	}
	if created, ok := doc["Created"].(string); ok {
		a.Container.CreateTime, _ = time.Parse(time.RFC3339Nano, created)
	}
	if labels, ok := dig(doc, "Config", "Labels").(map[string]any); ok {
		a.Container.PodName, _ = labels["io.kubernetes.pod.name"].(string)
	}
	env := maskEnv(doc)
	return target{asset: a, facts: &assetFacts{host: d.hc, ref: c.ID, doc: doc, env: env}, version: d.hc.daemon.Version}
}

func (d *discovery) image(ctx context.Context, host assets.Asset, im docker.ImageRef) target {
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
	doc, err := d.hc.engine.InspectImage(ctx, im.ID)
	if err != nil {
		return target{asset: a, failure: err.Error(), suggestion: "the image may have been removed during the scan; rescan it"}
	}
	env := maskEnv(doc)
	return target{asset: a, facts: &assetFacts{host: d.hc, ref: im.ID, doc: doc, env: env}, version: d.hc.daemon.Version}
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
