package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/baselinehq/baseline/assets/docker"
	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/checks"
)

// errNoEngine marks sources that need a Docker engine when none answered.
var errNoEngine = errors.New("docker engine unavailable")

// hostContext holds what every asset of one host shares: the host root, the
// engine, and caches so that each source is read once per scan.
type hostContext struct {
	root      *hostfs.Root
	engine    *docker.Engine
	daemon    *docker.Daemon
	engineErr error
	// rt is the node's container runtime, reached through the CRI.
	rt *runtimeContext

	dcOnce sync.Once
	dc     *docker.DaemonConfig
	dcErr  error

	listOnce   sync.Once
	containers []docker.ContainerRef
	images     []docker.ImageRef
	listErr    error

	netOnce  sync.Once
	networks []map[string]any
	netErr   error

	cache sync.Map // source key → *cachedObs

	// audit is the environment of shell audits (KUBECONFIG).
	audit *auditEnv

	// imageFiles, when set, keeps images' setuid and setgid files by image
	// id across scans; exportFiles replaces the engine's export in tests.
	imageFiles  ImageFilesCache
	exportFiles func(ctx context.Context, id string) (docker.SpecialFiles, error)
	now         func() time.Time
	log         *slog.Logger
}

// ImageFilesCache keeps the setuid and setgid files of images across scans,
// by the image's full id (sha256:…, a digest of its content: the files of
// an id never change), so that a scan exports only the images it has not
// read before. Get returns when the files were read.
type ImageFilesCache interface {
	Get(ctx context.Context, imageID string) (files docker.SpecialFiles, readAt time.Time, ok bool, err error)
	Put(ctx context.Context, imageID string, files docker.SpecialFiles, readAt time.Time) error
}

type cachedObs struct {
	once sync.Once
	obs  checks.Observation
	err  error
}

// memo computes an observation once per key.
func (h *hostContext) memo(key string, f func() (checks.Observation, error)) (checks.Observation, error) {
	v, _ := h.cache.LoadOrStore(key, &cachedObs{})
	c := v.(*cachedObs)
	c.once.Do(func() { c.obs, c.err = f() })
	return c.obs, c.err
}

func (h *hostContext) engineAvailable() error {
	if h.engine == nil || h.daemon == nil {
		if h.engineErr != nil {
			return fmt.Errorf("%w: %v", errNoEngine, h.engineErr)
		}
		return errNoEngine
	}
	return nil
}

func (h *hostContext) daemonConfig() (*docker.DaemonConfig, error) {
	h.dcOnce.Do(func() { h.dc, h.dcErr = docker.ReadDaemonConfig(h.root) })
	return h.dc, h.dcErr
}

// lists lists containers and images once (for host items about sprawl,
// and for discovery).
func (h *hostContext) lists(ctx context.Context) ([]docker.ContainerRef, []docker.ImageRef, error) {
	h.listOnce.Do(func() {
		if h.listErr = h.engineAvailable(); h.listErr != nil {
			return
		}
		if h.containers, h.listErr = h.engine.ListContainers(ctx); h.listErr != nil {
			return
		}
		h.images, h.listErr = h.engine.ListImages(ctx)
	})
	return h.containers, h.images, h.listErr
}

// assetFacts serves the sources of one asset.
type assetFacts struct {
	host *hostContext
	// ref is the container or image id; doc its inspect document (env
	// values masked) and env its environment.
	ref string
	doc map[string]any
	env map[string]string

	// history is the image's history, unmasked, read once.
	histOnce sync.Once
	history  []map[string]any
	histErr  error

	// files are the image's files, read once.
	filesOnce sync.Once
	files     docker.SpecialFiles
	filesFrom string
	filesErr  error
}

var _ checks.Facts = (*assetFacts)(nil)

// Observe implements checks.Facts.
func (f *assetFacts) Observe(ctx context.Context, src *checks.Source) (checks.Observation, error) {
	h := f.host
	switch src.Kind {
	case checks.SourceFile:
		return f.observeFile(src)
	case checks.SourceProcess:
		return h.memo("process\x00"+src.Name+"\x00"+src.ConfigFlag, func() (checks.Observation, error) { return h.observeProcess(src) })
	case checks.SourceDaemonInfo:
		if err := h.engineAvailable(); err != nil {
			return checks.Observation{}, err
		}
		return one(checks.Subject{Name: "docker info", Doc: h.daemon.Info}), nil
	case checks.SourceDaemonConfig:
		dc, err := h.daemonConfig()
		if err != nil {
			return checks.Observation{}, err
		}
		flags := dc.Flags
		if flags == nil {
			flags = map[string][]string{}
		}
		name := "daemon configuration " + dc.File
		switch {
		case dc.ProcessErr != nil:
			name += " (dockerd's flags unknown: " + dc.ProcessErr.Error() + ")"
		case !dc.Running:
			name += " (no dockerd process visible: flags unknown)"
		}
		return one(checks.Subject{Name: name, Doc: dc.Doc, Flags: flags}), nil
	case checks.SourceContainers, checks.SourceImages:
		return h.observeLists(ctx, src.Kind)
	case checks.SourceNetworks:
		h.netOnce.Do(func() {
			if h.netErr = h.engineAvailable(); h.netErr == nil {
				h.networks, h.netErr = h.engine.Networks(ctx)
			}
		})
		if h.netErr != nil {
			return checks.Observation{}, h.netErr
		}
		return one(checks.Subject{Name: "docker networks", Doc: map[string]any{"networks": anyList(h.networks)}}), nil
	case checks.SourceContainer:
		return one(checks.Subject{Name: "container inspect", Doc: f.doc, Env: f.env, Masked: true}), nil
	case checks.SourceImage:
		return one(checks.Subject{Name: "image inspect", Doc: f.doc, Env: f.env, Masked: true}), nil
	case checks.SourceImageHistory:
		return h.memo("history\x00"+f.ref, func() (checks.Observation, error) { return f.observeHistory(ctx) })
	case checks.SourceImageFiles:
		return h.memo("files\x00"+f.ref, func() (checks.Observation, error) { return f.observeImageFiles(ctx) })
	case checks.SourceImageUpdates:
		hist, err := f.rawHistory(ctx)
		if err != nil {
			return checks.Observation{}, err
		}
		return updatesObservation(hist), nil
	case checks.SourceImageSecrets:
		return f.observeSecrets(ctx)
	case checks.SourceContainerProcesses:
		return h.memo("top\x00"+f.ref, func() (checks.Observation, error) { return f.observeProcesses(ctx) })
	case checks.SourceCommand:
		return h.memo("command\x00"+strings.Join(src.Argv, "\x00"), func() (checks.Observation, error) {
			return runCommand(ctx, src.Argv, src.Format, strings.Join(src.Argv, " "))
		})
	case checks.SourceShell:
		return h.memo("shell\x00"+src.Shell+"\x00"+src.ConfigShell+"\x00"+src.EnvShell, func() (checks.Observation, error) {
			env, err := h.audit.environ()
			if err != nil {
				return checks.Observation{}, err
			}
			return observeShell(ctx, src, env)
		})
	}
	return checks.Observation{}, fmt.Errorf("source kind %s is not supported here", src.Kind)
}

func one(s checks.Subject) checks.Observation {
	return checks.Observation{Subjects: []checks.Subject{s}}
}

func anyList[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

func (h *hostContext) observeLists(ctx context.Context, kind checks.SourceKind) (checks.Observation, error) {
	cs, ims, err := h.lists(ctx)
	if err != nil {
		return checks.Observation{}, err
	}
	if kind == checks.SourceContainers {
		running := 0
		list := make([]any, len(cs))
		for i, c := range cs {
			if c.State == "running" {
				running++
			}
			list[i] = map[string]any{"Id": c.ID, "Names": anyList(c.Names), "Image": c.Image, "State": c.State}
		}
		return one(checks.Subject{Name: "docker containers", Doc: map[string]any{"count": len(cs), "running": running, "containers": list}}), nil
	}
	dangling := 0
	list := make([]any, len(ims))
	for i, im := range ims {
		if len(im.RepoTags) == 0 || (len(im.RepoTags) == 1 && im.RepoTags[0] == "<none>:<none>") {
			dangling++
		}
		list[i] = map[string]any{"Id": im.ID, "RepoTags": anyList(im.RepoTags)}
	}
	return one(checks.Subject{Name: "docker images", Doc: map[string]any{"count": len(ims), "dangling": dangling, "images": list}}), nil
}

// rawHistory reads the image's history once, unmasked: only derived
// facts, masked, leave this file.
func (f *assetFacts) rawHistory(ctx context.Context) ([]map[string]any, error) {
	f.histOnce.Do(func() {
		if f.histErr = f.host.engineAvailable(); f.histErr != nil {
			return
		}
		f.history, f.histErr = f.host.engine.ImageHistory(ctx, f.ref)
	})
	return f.history, f.histErr
}

func (f *assetFacts) observeHistory(ctx context.Context) (checks.Observation, error) {
	hist, err := f.rawHistory(ctx)
	if err != nil {
		return checks.Observation{}, err
	}
	return historyObservation(hist), nil
}

// historyObservation is the history with the values of environment
// variables and build arguments masked, newest first.
func historyObservation(raw []map[string]any) checks.Observation {
	hist := make([]any, 0, len(raw))
	lines := make([]string, 0, len(raw))
	for _, h := range raw {
		c := maps.Clone(h)
		if by, ok := c["CreatedBy"].(string); ok {
			c["CreatedBy"] = maskBuildStep(by)
		}
		hist = append(hist, c)
		lines = append(lines, fmt.Sprint(c["CreatedBy"]))
	}
	return one(checks.Subject{Name: "image history", Doc: map[string]any{"history": hist}, Text: strings.Join(lines, "\n")})
}

// observeSecrets reads the image's history and files (from the files
// cache or an export) for 4.10.
func (f *assetFacts) observeSecrets(ctx context.Context) (checks.Observation, error) {
	hist, err := f.rawHistory(ctx)
	if err != nil {
		return checks.Observation{}, err
	}
	files, from, err := f.imageFiles(ctx)
	if err != nil {
		return checks.Observation{}, err
	}
	return secretsObservation(f.env, hist, files, from), nil
}

// observeImageFiles lists the image's setuid and setgid files: from the
// image files cache when it holds the image's id, else by exporting the
// image (then recorded in the cache). A cache failure is logged and the
// image is exported as without a cache.
func (f *assetFacts) observeImageFiles(ctx context.Context) (checks.Observation, error) {
	sf, name, err := f.imageFiles(ctx)
	if err != nil {
		return checks.Observation{}, err
	}
	return imageFilesObservation(name, sf), nil
}

// imageFiles reads the image's files once per scan, and says from where.
func (f *assetFacts) imageFiles(ctx context.Context) (docker.SpecialFiles, string, error) {
	f.filesOnce.Do(func() { f.files, f.filesFrom, f.filesErr = f.readImageFiles(ctx) })
	return f.files, f.filesFrom, f.filesErr
}

func (f *assetFacts) readImageFiles(ctx context.Context) (docker.SpecialFiles, string, error) {
	h, id := f.host, f.ref
	// Only a full content id names the same content on every scan.
	cached := h.imageFiles != nil && strings.HasPrefix(id, "sha256:")
	if cached {
		sf, at, ok, err := h.imageFiles.Get(ctx, id)
		switch {
		case err != nil:
			h.log.Warn("image files cache unreadable; exporting the image", "image", id, "err", err)
		case ok:
			return sf, "image file system (cached from " + id + " at " + at.UTC().Format(time.RFC3339) + ")", nil
		}
	}
	readAt := h.now()
	sf, err := h.exportImageFiles(ctx, id)
	if err != nil {
		return sf, "", err
	}
	if cached {
		if err := h.imageFiles.Put(ctx, id, sf, readAt); err != nil {
			h.log.Warn("image files cache not updated", "image", id, "err", err)
		}
	}
	return sf, "image file system", nil
}

// exportImageFiles exports the image through the engine (or the test's
// exporter) and lists its setuid and setgid files.
func (h *hostContext) exportImageFiles(ctx context.Context, id string) (docker.SpecialFiles, error) {
	if h.exportFiles != nil {
		return h.exportFiles(ctx, id)
	}
	if err := h.engineAvailable(); err != nil {
		return docker.SpecialFiles{}, err
	}
	return h.engine.ImageSpecialFiles(ctx, id)
}

func imageFilesObservation(name string, sf docker.SpecialFiles) checks.Observation {
	return one(checks.Subject{Name: name, Doc: map[string]any{"setuid": anyList(sf.Setuid), "setgid": anyList(sf.Setgid)}})
}
