// Package cri reads the containers and images of a Kubernetes node's
// container runtime (containerd, CRI-O) through the Container Runtime
// Interface: one list of containers, one verbose status per container and
// one list of images, over the runtime's unix socket. It only reads.
package cri

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxMessage bounds one answer of the runtime (the kubelet's own bound):
// a list of thousands of containers fits, a hostile runtime cannot make the
// scanner hold more.
const maxMessage = 16 << 20

// callTimeout bounds one call to the runtime.
const callTimeout = 30 * time.Second

// Client is a read-only CRI client that counts its calls.
type Client struct {
	conn *grpc.ClientConn
	rt   runtimeapi.RuntimeServiceClient
	img  runtimeapi.ImageServiceClient
	// Endpoint is where the runtime was reached.
	Endpoint Endpoint

	total atomic.Int64
	mu    sync.Mutex
	byOp  map[string]int
}

// Runtime is what the runtime says about itself.
type Runtime struct {
	// Name is containerd, cri-o, ...; Version its version.
	Name    string
	Version string
	// APIVersion is the CRI version it speaks (v1).
	APIVersion string
}

// Connect reaches the runtime at ep and asks its version: a socket that
// does not serve the CRI (a containerd without its CRI plugin, as Docker
// runs it) fails here.
func Connect(ctx context.Context, ep Endpoint) (*Client, Runtime, error) {
	conn, err := grpc.NewClient("unix://"+ep.Path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)))
	if err != nil {
		return nil, Runtime{}, fmt.Errorf("container runtime at %s: %w", ep, err)
	}
	c := &Client{conn: conn, rt: runtimeapi.NewRuntimeServiceClient(conn), img: runtimeapi.NewImageServiceClient(conn), Endpoint: ep, byOp: map[string]int{}}
	rt, err := c.Version(ctx)
	if err != nil {
		_ = conn.Close()
		return nil, Runtime{}, err
	}
	return c, rt, nil
}

// Close releases the connection.
func (c *Client) Close() { _ = c.conn.Close() }

// Calls counts the CRI calls made, in total and by method.
func (c *Client) Calls() (int64, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	by := make(map[string]int, len(c.byOp))
	for k, v := range c.byOp {
		by[k] = v
	}
	return c.total.Load(), by
}

func (c *Client) count(op string) (context.Context, context.CancelFunc) {
	c.total.Add(1)
	c.mu.Lock()
	c.byOp[op]++
	c.mu.Unlock()
	return context.WithTimeout(context.Background(), callTimeout)
}

func (c *Client) wrap(op string, err error) error {
	return fmt.Errorf("container runtime at %s: %s: %w", c.Endpoint, op, err)
}

// Version asks the runtime its name and version.
func (c *Client) Version(ctx context.Context) (Runtime, error) {
	cctx, cancel := c.count("Version")
	defer cancel()
	cctx, stop := linked(ctx, cctx)
	defer stop()
	v, err := c.rt.Version(cctx, &runtimeapi.VersionRequest{})
	if err != nil {
		return Runtime{}, c.wrap("Version", err)
	}
	return Runtime{Name: v.RuntimeName, Version: v.RuntimeVersion, APIVersion: v.RuntimeApiVersion}, nil
}

// Container is one container as the runtime lists it.
type Container struct {
	ID string
	// Name is the container's name in its pod (metadata.name).
	Name         string
	PodName      string
	PodNamespace string
	PodUID       string
	SandboxID    string
	// Image is the image as the container was asked for; ImageRef the
	// image id the runtime resolved it to.
	Image     string
	ImageRef  string
	State     string
	CreatedAt time.Time
}

// Kubelet labels naming a container's pod.
const (
	labelPodName      = "io.kubernetes.pod.name"
	labelPodNamespace = "io.kubernetes.pod.namespace"
	labelPodUID       = "io.kubernetes.pod.uid"
)

// Containers lists every container of the runtime, in one call.
func (c *Client) Containers(ctx context.Context) ([]Container, error) {
	cctx, cancel := c.count("ListContainers")
	defer cancel()
	cctx, stop := linked(ctx, cctx)
	defer stop()
	resp, err := c.rt.ListContainers(cctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, c.wrap("ListContainers", err)
	}
	out := make([]Container, 0, len(resp.Containers))
	for _, ct := range resp.Containers {
		if ct == nil || ct.Id == "" {
			continue
		}
		k := Container{ID: ct.Id, SandboxID: ct.PodSandboxId, ImageRef: ct.ImageRef, State: stateName(ct.State),
			CreatedAt: time.Unix(0, ct.CreatedAt).UTC()}
		if ct.Metadata != nil {
			k.Name = ct.Metadata.Name
		}
		if ct.Image != nil {
			k.Image = ct.Image.UserSpecifiedImage
			if k.Image == "" {
				k.Image = ct.Image.Image
			}
		}
		k.PodName, k.PodNamespace, k.PodUID = ct.Labels[labelPodName], ct.Labels[labelPodNamespace], ct.Labels[labelPodUID]
		out = append(out, k)
	}
	return out, nil
}

func stateName(s runtimeapi.ContainerState) string {
	switch s {
	case runtimeapi.ContainerState_CONTAINER_CREATED:
		return "created"
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		return "running"
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		return "exited"
	}
	return "unknown"
}

// Status is a container's verbose status: what the runtime says of it,
// and the OCI runtime spec it runs with where the runtime exposes one.
type Status struct {
	State string
	// Info is the runtime's verbose information, decoded (nil when the
	// runtime gave none).
	Info *Info
	// InfoErr says why the verbose information could not be read.
	InfoErr string
}

// Status asks the runtime for one container's verbose status.
func (c *Client) Status(ctx context.Context, id string) (*Status, error) {
	cctx, cancel := c.count("ContainerStatus")
	defer cancel()
	cctx, stop := linked(ctx, cctx)
	defer stop()
	resp, err := c.rt.ContainerStatus(cctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return nil, c.wrap("ContainerStatus", err)
	}
	st := &Status{}
	if s := resp.Status; s != nil {
		st.State = stateName(s.State)
	}
	st.Info, err = decodeInfo(resp.Info)
	if err != nil {
		st.InfoErr = err.Error()
	}
	return st, nil
}

// Image is one image as the runtime lists it.
type Image struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
	Size        uint64
	// User is the image's configured user: a uid when numeric (UIDSet),
	// else a name ("" when the image sets none).
	UID    int64
	UIDSet bool
	User   string
	Pinned bool
}

// Images lists the runtime's images, in one call.
func (c *Client) Images(ctx context.Context) ([]Image, error) {
	cctx, cancel := c.count("ListImages")
	defer cancel()
	cctx, stop := linked(ctx, cctx)
	defer stop()
	resp, err := c.img.ListImages(cctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return nil, c.wrap("ListImages", err)
	}
	out := make([]Image, 0, len(resp.Images))
	for _, im := range resp.Images {
		if im == nil || im.Id == "" {
			continue
		}
		i := Image{ID: im.Id, RepoTags: im.RepoTags, RepoDigests: im.RepoDigests, Size: im.Size, User: im.Username, Pinned: im.Pinned}
		if im.Uid != nil {
			i.UID, i.UIDSet = im.Uid.Value, true
		}
		out = append(out, i)
	}
	return out, nil
}

// linked ends the call's context when the caller's ends too.
func linked(parent, call context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(call)
	stop := context.AfterFunc(parent, cancel)
	return ctx, func() { stop(); cancel() }
}

// String names an endpoint for messages.
func (e Endpoint) String() string {
	if e.From == "" {
		return e.Name
	}
	return e.Name + " (" + strings.TrimSpace(e.From) + ")"
}
