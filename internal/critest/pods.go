package critest

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Pod says how a pod sandbox shares the host's namespaces.
type Pod struct {
	Name, Namespace               string
	HostNetwork, HostPID, HostIPC bool
	Privileged                    bool
}

// Sandbox is a pod sandbox made by RunPod.
type Sandbox struct {
	ID     string
	Config *runtimeapi.PodSandboxConfig
}

func mode(host bool) runtimeapi.NamespaceMode {
	if host {
		return runtimeapi.NamespaceMode_NODE
	}
	return runtimeapi.NamespaceMode_POD
}

// RunPod creates and starts a pod sandbox, as the kubelet does.
func (r *Runtime) RunPod(t testing.TB, p Pod) Sandbox {
	t.Helper()
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: p.Name, Namespace: p.Namespace, Uid: p.Namespace + "-" + p.Name},
		Labels: map[string]string{"io.kubernetes.pod.name": p.Name, "io.kubernetes.pod.namespace": p.Namespace,
			"io.kubernetes.pod.uid": p.Namespace + "-" + p.Name},
		LogDirectory: r.Dir + "/logs/" + p.Name,
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			Privileged: p.Privileged,
			NamespaceOptions: &runtimeapi.NamespaceOption{
				Network: mode(p.HostNetwork), Pid: mode(p.HostPID), Ipc: mode(p.HostIPC),
			},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := r.RT.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox %s: %v\n%s", p.Name, err, r.logTail())
	}
	return Sandbox{ID: resp.PodSandboxId, Config: cfg}
}

// Create creates a container in the pod from cfg (its image defaults to
// Image, its labels name the pod as the kubelet's do) and starts it unless
// start is false. It returns the container's id.
func (r *Runtime) Create(t testing.TB, sb Sandbox, cfg *runtimeapi.ContainerConfig, start bool) string {
	t.Helper()
	if cfg.Image == nil {
		cfg.Image = &runtimeapi.ImageSpec{Image: Image}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range sb.Config.Labels {
		cfg.Labels[k] = v
	}
	cfg.Labels["io.kubernetes.container.name"] = cfg.Metadata.GetName()
	// As the kubelet does, the container shares the host's namespaces
	// that its pod shares.
	if cfg.Linux == nil {
		cfg.Linux = &runtimeapi.LinuxContainerConfig{}
	}
	if cfg.Linux.SecurityContext == nil {
		cfg.Linux.SecurityContext = &runtimeapi.LinuxContainerSecurityContext{}
	}
	cfg.Linux.SecurityContext.NamespaceOptions = sb.Config.Linux.SecurityContext.NamespaceOptions
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := r.RT.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.ID, Config: cfg, SandboxConfig: sb.Config})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v\n%s", cfg.Metadata.GetName(), err, r.logTail())
	}
	if start {
		if _, err := r.RT.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: resp.ContainerId}); err != nil {
			t.Fatalf("StartContainer %s: %v\n%s", cfg.Metadata.GetName(), err, r.logTail())
		}
	}
	return resp.ContainerId
}

// Pid returns the host pid of the container's first process, from its
// verbose status.
func (r *Runtime) Pid(t testing.TB, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := r.RT.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatalf("ContainerStatus %s: %v", id, err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil {
		t.Fatalf("ContainerStatus %s: the verbose information: %v", id, err)
	}
	return strconv.Itoa(info.Pid)
}

// MakeShared bind-mounts dir on itself with shared propagation, as a
// Bidirectional volume needs, until the test ends.
func MakeShared(t testing.TB, dir string) {
	t.Helper()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind-mounting %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatalf("making %s shared: %v", dir, err)
	}
}
