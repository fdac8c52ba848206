package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/cri"
	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/checks"
)

// runtimeContext is the node's container runtime, reached through the CRI,
// and what its containers share: the host's security modules and the
// process table grouped by control group.
type runtimeContext struct {
	client  *cri.Client
	runtime cri.Runtime
	// err says why no runtime answers where one was expected (configured,
	// or named by the kubelet); nil when none was found at all.
	err      error
	security cri.HostSecurity

	procOnce sync.Once
	byCgroup map[string][]hostfs.Process
	procErr  error
}

// connectRuntime reaches the node's container runtime when a selected item
// judges its containers or images (needed): the configured endpoint, else
// the kubelet's, else the first usual socket that serves the CRI.
func (hc *hostContext) connectRuntime(ctx context.Context, opts Options, needed bool, log *slog.Logger) {
	rc := &runtimeContext{}
	hc.rt = rc
	if !needed || opts.NoCRI {
		return
	}
	eps, err := cri.FindEndpoints(hc.root, opts.CRIEndpoint)
	if err != nil {
		rc.err = err
		log.Warn("container runtime not found", "err", err)
		return
	}
	for _, ep := range eps {
		c, rt, err := cri.Connect(ctx, ep)
		if err == nil {
			rc.client, rc.runtime = c, rt
			log.Debug("container runtime", "endpoint", ep.String(), "runtime", rt.Name, "version", rt.Version)
			break
		}
		if ep.Required {
			rc.err = err
			log.Warn("container runtime unavailable", "err", err)
			return
		}
		log.Debug("no CRI on a usual socket", "endpoint", ep.String(), "err", err)
	}
	if rc.client != nil {
		rc.security = hostSecurity(hc.root)
	}
}

// hostSecurity reads which security modules the host's kernel enables.
func hostSecurity(root *hostfs.Root) cri.HostSecurity {
	var s cri.HostSecurity
	if data, err := root.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil {
		s.AppArmor = strings.TrimSpace(string(data)) == "Y"
	}
	if fi, err := root.Stat("/sys/fs/selinux/enforce"); err == nil {
		s.SELinux = fi.Exists
	}
	if data, err := root.ReadFile("/proc/1/status"); err == nil {
		s.Seccomp = strings.Contains(string(data), "\nSeccomp:")
	}
	return s
}

func (rc *runtimeContext) close() {
	if rc != nil && rc.client != nil {
		rc.client.Close()
	}
}

// runtimeAssets lists the runtime's containers (with one verbose status
// each) and images, leaving out those the engine already showed (have, by
// container or image id): a node running Docker and containerd shows each
// container once.
func (d *discovery) runtimeAssets(ctx context.Context, host assets.Asset, wantContainers, wantImages bool, have map[string]bool) []target {
	rc := d.hc.rt
	if rc == nil || rc.client == nil {
		if rc != nil && rc.err != nil {
			d.addFailure("could not reach the container runtime: "+rc.err.Error(),
				"check that containerd or CRI-O runs and that baseline can reach its socket (--cri-endpoint, or the kubelet's --container-runtime-endpoint under --host-root)")
		}
		return nil
	}
	var refs []func() target
	if wantContainers {
		cs, err := rc.client.Containers(ctx)
		if err != nil {
			d.addFailure("could not list the runtime's containers: "+err.Error(), "check that the container runtime answers on its socket")
		}
		for _, c := range cs {
			if have[c.ID] {
				continue
			}
			refs = append(refs, func() target { return d.runtimeContainer(ctx, host, c) })
		}
	}
	var out []target
	if wantImages {
		ims, err := rc.client.Images(ctx)
		if err != nil {
			d.addFailure("could not list the runtime's images: "+err.Error(), "check that the container runtime answers on its socket")
		}
		for _, im := range ims {
			if !have[im.ID] {
				out = append(out, d.runtimeImage(host, im))
			}
		}
	}
	return append(parallel(refs, d.workers), out...)
}

// parallel runs each function with at most workers at once, in order.
func parallel(refs []func() target, workers int) []target {
	out := make([]target, len(refs))
	sem := make(chan struct{}, workers)
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

func (d *discovery) addFailure(reason, suggestion string) {
	if d.failure != "" {
		d.failure += "; " + reason
		return
	}
	d.failure, d.suggestion = reason, suggestion
}

func (d *discovery) runtimeContainer(ctx context.Context, host assets.Asset, c cri.Container) target {
	rc := d.hc.rt
	name := c.Name
	if c.PodName != "" {
		name = c.PodNamespace + "/" + c.PodName + "/" + c.Name
	}
	a := assets.Asset{
		ID: assets.StableID(assets.Container, host.Ref, c.ID), Type: assets.Container, Name: name, Ref: c.ID, NodeName: host.Name,
		Container: &assets.ContainerDetails{ContainerID: c.ID, Name: c.Name, PodName: c.PodName, ImageName: c.Image,
			State: runState(c.State), CreateTime: c.CreatedAt},
	}
	st, err := rc.client.Status(ctx, c.ID)
	if err != nil {
		return target{asset: a, role: checks.TargetCRI, failure: err.Error(), suggestion: "the container may have been removed during the scan; rescan it"}
	}
	if st.State != "" {
		a.Container.State = runState(st.State)
	}
	doc := cri.Document(c, st, rc.security)
	f := &runtimeFacts{host: d.hc, doc: doc, name: rc.runtime.Name, state: st.State}
	if st.Info != nil {
		f.pid = st.Info.Pid
	}
	return target{asset: a, role: checks.TargetCRI, facts: f}
}

func (d *discovery) runtimeImage(host assets.Asset, im cri.Image) target {
	name, repo, tag := strings.TrimPrefix(im.ID, "sha256:"), "<none>", "<none>"
	if len(name) > 12 {
		name = name[:12]
	}
	if len(im.RepoTags) > 0 {
		name = im.RepoTags[0]
		if i := strings.LastIndex(name, ":"); i > 0 && !strings.Contains(name[i:], "/") {
			repo, tag = name[:i], name[i+1:]
		} else {
			repo = name
		}
	}
	a := assets.Asset{
		ID: assets.StableID(assets.Image, host.Ref, im.ID), Type: assets.Image, Name: name, Ref: im.ID, NodeName: host.Name,
		Image: &assets.ImageDetails{ImageID: im.ID, Name: name, Tag: tag, Repository: repo},
	}
	user := im.User
	if im.UIDSet {
		user = fmt.Sprint(im.UID)
	}
	root := user == "" || user == "root" || (im.UIDSet && im.UID == 0)
	doc := map[string]any{"id": im.ID, "repoTags": anyList(im.RepoTags), "repoDigests": anyList(im.RepoDigests),
		"size": int64(im.Size), "user": user, "runsAsRoot": root, "pinned": im.Pinned}
	return target{asset: a, role: checks.TargetCRI, facts: &runtimeFacts{host: d.hc, doc: doc, name: d.hc.rt.runtime.Name, image: true}}
}

// runtimeFacts serves the CRI sources of one of the runtime's containers
// or images.
type runtimeFacts struct {
	host  *hostContext
	doc   map[string]any
	name  string
	state string
	pid   int
	image bool
}

var _ checks.Facts = (*runtimeFacts)(nil)

// Observe implements checks.Facts.
func (f *runtimeFacts) Observe(ctx context.Context, src *checks.Source) (checks.Observation, error) {
	switch {
	case src.Kind == checks.SourceCRIContainer && !f.image:
		return one(checks.Subject{Name: "container status (" + f.name + ")", Doc: f.doc}), nil
	case src.Kind == checks.SourceCRIImage && f.image:
		return one(checks.Subject{Name: "image (" + f.name + ")", Doc: f.doc}), nil
	case src.Kind == checks.SourceCRIProcesses && !f.image:
		return f.processes()
	}
	return checks.Observation{}, fmt.Errorf("source kind %s does not read the container runtime's %s", src.Kind, map[bool]string{true: "images", false: "containers"}[f.image])
}

// processes lists the processes of a running container from the host's
// process table under the host root: those in the control groups of the
// container's first process, whose pid the runtime gives.
func (f *runtimeFacts) processes() (checks.Observation, error) {
	name := "processes under " + f.host.root.Dir() + "/proc"
	if f.state != "running" {
		return one(checks.Subject{Name: name, Doc: map[string]any{"running": false, "state": f.state}}), nil
	}
	if f.pid <= 0 {
		return checks.Observation{}, errors.New("the runtime does not give the container's pid (no verbose status): its processes cannot be found")
	}
	procs, err := f.host.rt.containerProcesses(f.host.root, f.pid)
	if err != nil {
		return checks.Observation{}, err
	}
	list := make([]any, 0, len(procs))
	for _, p := range procs {
		list = append(list, processName(p))
	}
	return one(checks.Subject{Name: fmt.Sprintf("%s (container pid %d)", name, f.pid),
		Doc: map[string]any{"running": true, "pid": int64(f.pid), "count": len(procs), "processes": list}}), nil
}

// processName names a process by its command name and, when it differs,
// the base name of its argv[0] (a process may rename either).
func processName(p hostfs.Process) string {
	n := p.Comm
	if base := p.Name(); base != "" && base != n {
		if n == "" {
			n = base
		} else {
			n += " (" + base + ")"
		}
	}
	return fmt.Sprintf("%s (pid %d)", n, p.PID)
}

// containerProcesses returns the processes sharing pid's control groups:
// the host's process table is read and grouped once per scan.
func (rc *runtimeContext) containerProcesses(root *hostfs.Root, pid int) ([]hostfs.Process, error) {
	rc.procOnce.Do(func() {
		procs, err := root.Processes()
		if err != nil {
			rc.procErr = err
			return
		}
		rc.byCgroup = map[string][]hostfs.Process{}
		for _, p := range procs {
			cg, err := root.ProcessCgroup(p.PID)
			if err != nil {
				continue // exited meanwhile
			}
			rc.byCgroup[cg] = append(rc.byCgroup[cg], p)
		}
	})
	if rc.procErr != nil {
		return nil, rc.procErr
	}
	cg, err := root.ProcessCgroup(pid)
	if err != nil {
		return nil, fmt.Errorf("the container's first process is not in the process table under %s: %w", root.Dir(), err)
	}
	procs := rc.byCgroup[cg]
	if len(procs) == 0 {
		return nil, fmt.Errorf("the container's first process (pid %d) is not in the process table under %s", pid, root.Dir())
	}
	return procs, nil
}
