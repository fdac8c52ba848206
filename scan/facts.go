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

// ImageFilesCache keeps the setuid and setgid files of images, and their
// build history, across scans, by the image's full id (sha256:…, a digest
// of its content: the files and the build steps of an id never change), so
// that a scan exports, and asks the history of, only the images it has not
// read before. Get returns ok false when no entry holds the files; an
// entry's History is nil when it was recorded without it. Put records an
// entry (always with its files), replacing any entry for the id.
type ImageFilesCache interface {
	Get(ctx context.Context, imageID string) (entry ImageEntry, ok bool, err error)
	Put(ctx context.Context, imageID string, entry ImageEntry) error
}

// ImageEntry is what an ImageFilesCache keeps of one image id: its files,
// read at ReadAt, and its history, read at HistoryAt (nil when not kept).
type ImageEntry struct {
	Files     docker.SpecialFiles
	ReadAt    time.Time
	History   []docker.HistoryStep
	HistoryAt time.Time
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
	// inspect is the inspect document as a subject, made once for all the
	// items that read it.
	inspectOnce sync.Once
	inspect     []checks.Subject

	// history is the image's history, unmasked, read once; histFrom
	// names where from.
	histOnce sync.Once
	history  []map[string]any
	histFrom string
	histErr  error

	// files are the image's files, read once.
	filesOnce sync.Once
	files     docker.SpecialFiles
	filesFrom string
	filesErr  error

	// cached is the image's entry in the image files cache, read once;
	// fresh is what this scan read of the image, written back to the cache
	// once it holds the files.
	cachedOnce sync.Once
	cached     ImageEntry
	cachedOK   bool
	freshMu    sync.Mutex
	fresh      ImageEntry
	freshFiles bool
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
		return f.inspected("container inspect"), nil
	case checks.SourceImage:
		return f.inspected("image inspect"), nil
	case checks.SourceImageHistory:
		return h.memo("history\x00"+f.ref, func() (checks.Observation, error) { return f.observeHistory(ctx) })
	case checks.SourceImageFiles:
		return h.memo("files\x00"+f.ref, func() (checks.Observation, error) { return f.observeImageFiles(ctx) })
	case checks.SourceImageUpdates:
		hist, err := f.rawHistory(ctx)
		if err != nil {
			return checks.Observation{}, err
		}
		return f.namedHistory(updatesObservation(hist), "image history"), nil
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

// inspected is the observation of the asset's inspect document, named
// name (the same for every item of one asset).
func (f *assetFacts) inspected(name string) checks.Observation {
	f.inspectOnce.Do(func() {
		f.inspect = []checks.Subject{{Name: name, Doc: f.doc, Env: f.env, Masked: true}}
	})
	return checks.Observation{Subjects: f.inspect}
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
// facts, masked, leave this file. An image listed before has its history
// from the image files cache, as its files.
func (f *assetFacts) rawHistory(ctx context.Context) ([]map[string]any, error) {
	f.histOnce.Do(func() {
		f.histFrom = "history"
		steps, at, ok := f.cachedHistory(ctx)
		if !ok {
			if f.histErr = f.host.engineAvailable(); f.histErr != nil {
				return
			}
			readAt := f.host.now()
			if steps, f.histErr = f.host.engine.ImageHistory(ctx, f.ref); f.histErr != nil {
				return
			}
			f.record(ctx, func(e *ImageEntry) { e.History, e.HistoryAt = steps, readAt })
		} else {
			f.histFrom = "history (cached from " + f.ref + " at " + at.UTC().Format(time.RFC3339) + ")"
		}
		f.history = make([]map[string]any, len(steps))
		for i, s := range steps {
			f.history[i] = s.Doc()
		}
	})
	return f.history, f.histErr
}

// cacheable says whether the image's reads are kept in the image files
// cache: only a full content id names the same content on every scan.
func (f *assetFacts) cacheable() bool {
	return f.host.imageFiles != nil && strings.HasPrefix(f.ref, "sha256:")
}

// cachedEntry reads the image's cache entry once per scan. A cache failure
// is logged and the image is read as without a cache.
func (f *assetFacts) cachedEntry(ctx context.Context) (ImageEntry, bool) {
	f.cachedOnce.Do(func() {
		if !f.cacheable() {
			return
		}
		e, ok, err := f.host.imageFiles.Get(ctx, f.ref)
		if err != nil {
			f.host.log.Warn("image files cache unreadable; reading the image", "image", f.ref, "err", err)
			return
		}
		f.cached, f.cachedOK = e, ok
	})
	return f.cached, f.cachedOK
}

// cachedHistory is the image's history from the image files cache.
func (f *assetFacts) cachedHistory(ctx context.Context) ([]docker.HistoryStep, time.Time, bool) {
	e, ok := f.cachedEntry(ctx)
	if !ok || e.History == nil {
		return nil, time.Time{}, false
	}
	return e.History, e.HistoryAt, true
}

// record notes what this scan read of the image, and writes the entry to
// the image files cache once it holds the files (read now or cached).
func (f *assetFacts) record(ctx context.Context, read func(*ImageEntry)) {
	if !f.cacheable() {
		return
	}
	f.freshMu.Lock()
	defer f.freshMu.Unlock()
	read(&f.fresh)
	e := f.fresh
	if !f.freshFiles {
		// Files not read now: the cached ones, when the entry holds them.
		c, ok := f.cachedEntry(ctx)
		if !ok {
			return
		}
		e.Files, e.ReadAt = c.Files, c.ReadAt
	}
	if e.History == nil {
		if c, ok := f.cachedEntry(ctx); ok {
			e.History, e.HistoryAt = c.History, c.HistoryAt
		}
	}
	if err := f.host.imageFiles.Put(ctx, f.ref, e); err != nil {
		f.host.log.Warn("image files cache not updated", "image", f.ref, "err", err)
	}
}

func (f *assetFacts) observeHistory(ctx context.Context) (checks.Observation, error) {
	hist, err := f.rawHistory(ctx)
	if err != nil {
		return checks.Observation{}, err
	}
	return f.namedHistory(historyObservation(hist), "image history"), nil
}

// namedHistory names, in an observation's subject, the cache entry the
// history came from, if it did; name is the subject's name with the
// history read now.
func (f *assetFacts) namedHistory(obs checks.Observation, name string) checks.Observation {
	if f.histFrom != "history" && len(obs.Subjects) == 1 {
		obs.Subjects[0].Name = strings.Replace(name, "history", f.histFrom, 1)
	}
	return obs
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
	return f.namedHistory(secretsObservation(f.env, hist, files, from), "image configuration, history and "+from), nil
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
	if e, ok := f.cachedEntry(ctx); ok {
		return e.Files, "image file system (cached from " + id + " at " + e.ReadAt.UTC().Format(time.RFC3339) + ")", nil
	}
	readAt := h.now()
	sf, err := h.exportImageFiles(ctx, id)
	if err != nil {
		return sf, "", err
	}
	f.record(ctx, func(e *ImageEntry) { e.Files, e.ReadAt, f.freshFiles = sf, readAt, true })
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
