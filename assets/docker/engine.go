// Package docker discovers a Docker engine's containers and images and
// collects their facts through the Engine API: one list and one inspect per
// container and per image, shared by every item of a scan. It only reads.
package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/baselinehq/baseline/internal/jsondoc"
)

// Engine is a read-only Engine API client that counts its calls.
type Engine struct {
	cli   *client.Client
	calls *callCounter
}

// callCounter counts HTTP requests to the engine, by method and path shape.
type callCounter struct {
	next  http.RoundTripper
	total atomic.Int64
	mu    sync.Mutex
	byOp  map[string]int
}

func (c *callCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.total.Add(1)
	c.mu.Lock()
	c.byOp[req.Method+" "+pathShape(req.URL.Path)]++
	c.mu.Unlock()
	resp, err := c.next.RoundTrip(req)
	if sink, ok := req.Context().Value(rawBodyKey{}).(*bytes.Buffer); ok && err == nil && resp.StatusCode == http.StatusOK {
		_, rerr := sink.ReadFrom(resp.Body)
		_ = resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body, resp.ContentLength = io.NopCloser(strings.NewReader("{}")), 2
	}
	return resp, err
}

// rawBodyKey marks, in a request's context, a *bytes.Buffer that takes the body
// of the request's successful response: the client is given an empty
// object instead, so that a document wanted only as raw JSON is not also
// decoded into the client's types. An error response reaches the client
// as it came, with its own words.
type rawBodyKey struct{}

// pathShape drops the API version and object ids: /v1.41/containers/abc/json
// becomes /containers/{id}/json.
func pathShape(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "v1.") {
		parts = parts[1:]
	}
	if len(parts) == 3 && (parts[0] == "containers" || parts[0] == "images") {
		parts[1] = "{id}"
	}
	return "/" + strings.Join(parts, "/")
}

// Connect makes a client from the environment (DOCKER_HOST and friends) or
// for host when given, negotiating the API version with the engine: older
// engines, such as Debian's, speak an older API than this client.
func Connect(host string) (*Engine, error) {
	// The client traces every request through OpenTelemetry; nothing here
	// collects traces, so requests skip the tracing transport.
	untraced := otelhttp.WithFilter(func(*http.Request) bool { return false })
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation(), client.WithTraceOptions(untraced)}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	base, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	hc := base.HTTPClient()
	counter := &callCounter{next: hc.Transport, byOp: map[string]int{}}
	if counter.next == nil {
		counter.next = http.DefaultTransport
	}
	hc.Transport = counter
	cli, err := client.NewClientWithOpts(append(opts, client.WithHTTPClient(hc))...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Engine{cli: cli, calls: counter}, nil
}

// Close releases the client's connections.
func (e *Engine) Close() error { return e.cli.Close() }

// Calls returns the number of Engine API requests made so far, in total
// and by operation.
func (e *Engine) Calls() (int64, map[string]int) {
	e.calls.mu.Lock()
	defer e.calls.mu.Unlock()
	by := make(map[string]int, len(e.calls.byOp))
	for k, v := range e.calls.byOp {
		by[k] = v
	}
	return e.calls.total.Load(), by
}

// Daemon is what the engine says about itself.
type Daemon struct {
	// Info is the GET /info document.
	Info map[string]any
	// Version is the engine version ("20.10.24+dfsg1").
	Version string
	// ContainerdVersion is the containerd component's version, if reported.
	ContainerdVersion string
	// Name and ID identify the engine's host.
	Name string
	ID   string
}

// Daemon reads /info and /version.
func (e *Engine) Daemon(ctx context.Context) (*Daemon, error) {
	info, err := e.cli.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker engine: %w", err)
	}
	doc, err := toDoc(info)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Info: doc, Version: info.ServerVersion, Name: info.Name, ID: info.ID}
	if v, err := e.cli.ServerVersion(ctx); err == nil {
		for _, c := range v.Components {
			if strings.EqualFold(c.Name, "containerd") {
				d.ContainerdVersion = c.Version
			}
		}
	}
	return d, nil
}

// ContainerRef is a listed container.
type ContainerRef struct {
	ID    string
	Names []string
	Image string
	State string
}

// ListContainers lists every container: running, paused, stopped, created.
func (e *Engine) ListContainers(ctx context.Context) ([]ContainerRef, error) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]ContainerRef, len(list))
	for i, c := range list {
		out[i] = ContainerRef{ID: c.ID, Names: c.Names, Image: c.Image, State: c.State}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// InspectContainer returns a container's inspect document, decoded as
// generic JSON (numbers kept exact).
func (e *Engine) InspectContainer(ctx context.Context, id string) (map[string]any, error) {
	raw := getBody()
	defer putBody(raw)
	if _, err := e.cli.ContainerInspect(context.WithValue(ctx, rawBodyKey{}, raw), id); err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", shortID(id), err)
	}
	return decodeDoc(raw.Bytes())
}

// bodies are the buffers that inspect documents are read into: a document
// is decoded into values of its own, and its buffer serves the next one.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBody() *bytes.Buffer {
	b := bodies.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putBody keeps a buffer for the next document, unless it grew large.
func putBody(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		bodies.Put(b)
	}
}

// ImageRef is a listed image.
type ImageRef struct {
	ID       string
	RepoTags []string
}

// ListImages lists the local images (not intermediate layers).
func (e *Engine) ListImages(ctx context.Context) ([]ImageRef, error) {
	list, err := e.cli.ImageList(ctx, image.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]ImageRef, len(list))
	for i, im := range list {
		out[i] = ImageRef{ID: im.ID, RepoTags: im.RepoTags}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// InspectImage returns an image's inspect document.
func (e *Engine) InspectImage(ctx context.Context, id string) (map[string]any, error) {
	raw := getBody()
	defer putBody(raw)
	if _, err := e.cli.ImageInspect(context.WithValue(ctx, rawBodyKey{}, raw), id); err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", shortID(id), err)
	}
	return decodeDoc(raw.Bytes())
}

// HistoryStep is one step of an image's build history as the engine shows
// it.
type HistoryStep struct {
	ID        string `json:"id"`
	Created   int64  `json:"created"`
	CreatedBy string `json:"created_by"`
	Comment   string `json:"comment"`
	Size      int64  `json:"size"`
}

// Doc is the step as a document, with the engine's field names.
func (h HistoryStep) Doc() map[string]any {
	return map[string]any{"Id": h.ID, "Created": h.Created, "CreatedBy": h.CreatedBy, "Comment": h.Comment, "Size": h.Size}
}

// ImageHistory returns an image's build history, newest first.
func (e *Engine) ImageHistory(ctx context.Context, id string) ([]HistoryStep, error) {
	hist, err := e.cli.ImageHistory(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("image history %s: %w", shortID(id), err)
	}
	out := make([]HistoryStep, len(hist))
	for i, h := range hist {
		out[i] = HistoryStep{ID: h.ID, Created: h.Created, CreatedBy: h.CreatedBy, Comment: h.Comment, Size: h.Size}
	}
	return out, nil
}

// Networks lists the engine's networks.
func (e *Engine) Networks(ctx context.Context) ([]map[string]any, error) {
	list, err := e.cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	out := make([]map[string]any, len(list))
	for i, n := range list {
		opts := map[string]any{}
		for k, v := range n.Options {
			opts[k] = v
		}
		out[i] = map[string]any{"Name": n.Name, "Id": n.ID, "Driver": n.Driver, "Scope": n.Scope, "Options": opts, "Internal": n.Internal}
	}
	return out, nil
}

func toDoc(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeDoc(raw)
}

func decodeDoc(raw []byte) (map[string]any, error) {
	v, err := jsondoc.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("decode engine document: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode engine document: not an object")
	}
	return doc, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Process is one process of a running container, as the engine's top
// lists it (its ps run on the host): the process id and command line.
type Process struct {
	PID     string
	Command string
}

// ContainerTop lists a running container's processes (GET
// /containers/{id}/top): read on the host by the engine, without
// entering the container.
func (e *Engine) ContainerTop(ctx context.Context, id string) ([]Process, error) {
	top, err := e.cli.ContainerTop(ctx, id, nil)
	if err != nil {
		return nil, fmt.Errorf("processes of container %s: %w", shortID(id), err)
	}
	pid, cmd := -1, -1
	for i, t := range top.Titles {
		switch strings.ToUpper(t) {
		case "PID":
			pid = i
		case "CMD", "COMMAND", "ARGS":
			cmd = i
		}
	}
	if cmd < 0 {
		return nil, fmt.Errorf("processes of container %s: no command column in %q", shortID(id), strings.Join(top.Titles, " "))
	}
	out := make([]Process, 0, len(top.Processes))
	for _, p := range top.Processes {
		var pr Process
		if pid >= 0 && pid < len(p) {
			pr.PID = p[pid]
		}
		if cmd < len(p) {
			pr.Command = p[cmd]
		}
		out = append(out, pr)
	}
	return out, nil
}
