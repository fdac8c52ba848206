package cri

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/internal/cmdline"
)

// Endpoint is where a container runtime serves the CRI.
type Endpoint struct {
	// Path is the socket's path on this machine (under the host root).
	Path string
	// Name is the endpoint as the host names it.
	Name string
	// From says how it was found.
	From string
	// Required: the endpoint was configured or is the kubelet's, so one
	// that does not answer is an error; a usual socket that does not serve
	// the CRI (Docker's own containerd) is passed over.
	Required bool
}

// UsualSockets are where containerd, CRI-O and k3s's containerd listen by
// default, in the order they are tried.
var UsualSockets = []string{
	"/run/containerd/containerd.sock", "/run/crio/crio.sock", "/run/k3s/containerd/containerd.sock",
	"/var/run/containerd/containerd.sock", "/var/run/crio/crio.sock",
}

// kubeletFlag is the kubelet's flag naming its runtime's endpoint.
const kubeletFlag = "--container-runtime-endpoint"

// FindEndpoints says where to look for the node's runtime, as the kubelet
// finds it: the configured endpoint alone when there is one; else the
// kubelet's --container-runtime-endpoint flag, else containerRuntimeEndpoint
// in the file its --config flag names (read as the kubelet sees it); then
// every usual socket that exists under the host root.
func FindEndpoints(root *hostfs.Root, configured string) ([]Endpoint, error) {
	if configured != "" {
		ep, err := endpointAt(root, root, configured, "configured")
		if err != nil {
			return nil, err
		}
		return []Endpoint{ep}, nil
	}
	var out []Endpoint
	seen := map[string]bool{}
	ep, found, err := kubeletEndpoint(root)
	if err != nil {
		return nil, err
	}
	if found {
		out = append(out, ep)
		seen[ep.Path] = true
	}
	for _, s := range UsualSockets {
		fi, err := root.Stat(s)
		if err != nil || !fi.Exists || fi.Type != "socket" {
			continue
		}
		ep, err := endpointAt(root, root, "unix://"+s, "a usual socket")
		if err != nil || seen[ep.Path] {
			continue
		}
		ep.Required = false
		seen[ep.Path] = true
		out = append(out, ep)
	}
	return out, nil
}

// kubeletEndpoint reads the endpoint that a running kubelet was given.
func kubeletEndpoint(root *hostfs.Root) (Endpoint, bool, error) {
	procs, err := root.FindProcesses("kubelet")
	if err != nil || len(procs) == 0 {
		return Endpoint{}, false, nil //nolint:nilerr // no process table: no kubelet to ask
	}
	p := procs[0]
	flags := cmdline.ParseFlags(p.Args)
	fsys, err := root.ProcessRoot(p.PID)
	if err != nil {
		return Endpoint{}, false, fmt.Errorf("the kubelet (pid %d): %w", p.PID, err)
	}
	if v := last(flags[kubeletFlag]); v != "" {
		ep, err := endpointAt(root, fsys, v, fmt.Sprintf("the kubelet's %s flag, pid %d", kubeletFlag, p.PID))
		return ep, err == nil, err
	}
	cfgPath := last(flags["--config"])
	if cfgPath == "" {
		return Endpoint{}, false, nil
	}
	data, err := fsys.ReadFile(cfgPath)
	if err != nil {
		return Endpoint{}, false, fmt.Errorf("the kubelet's --config %s (pid %d): %w", cfgPath, p.PID, err)
	}
	var cfg struct {
		Endpoint string `yaml:"containerRuntimeEndpoint"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return Endpoint{}, false, fmt.Errorf("the kubelet's --config %s (pid %d): %w", cfgPath, p.PID, err)
	}
	if cfg.Endpoint == "" {
		return Endpoint{}, false, nil
	}
	ep, err := endpointAt(root, fsys, cfg.Endpoint, fmt.Sprintf("containerRuntimeEndpoint in the kubelet's %s, pid %d", cfgPath, p.PID))
	return ep, err == nil, err
}

func last(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[len(vals)-1]
}

// endpointAt maps an endpoint as named by a process that sees fsys to a
// socket path on this machine: in the host root when the process sees it,
// else through the process's own root directory.
func endpointAt(root, fsys *hostfs.Root, name, from string) (Endpoint, error) {
	p := name
	if i := strings.Index(name, "://"); i >= 0 {
		if name[:i] != "unix" {
			return Endpoint{}, fmt.Errorf("container runtime endpoint %q (%s): only unix sockets are supported", name, from)
		}
		p = name[i+3:]
	}
	if !strings.HasPrefix(p, "/") {
		return Endpoint{}, fmt.Errorf("container runtime endpoint %q (%s): the socket's path must be absolute", name, from)
	}
	ep := Endpoint{Name: name, From: from, Required: true}
	if fsys == root {
		real, err := root.Resolve(p)
		if err != nil {
			return Endpoint{}, fmt.Errorf("container runtime endpoint %q (%s): %w", name, from, err)
		}
		ep.Path = real
		return ep, nil
	}
	ep.Path = filepath.Join(fsys.Dir(), filepath.Clean(p))
	return ep, nil
}
