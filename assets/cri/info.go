package cri

import (
	"encoding/json"
	"fmt"
)

// Info is the part of a runtime's verbose container information that the
// checks read: containerd and CRI-O put it, as JSON, under the key "info":
// the container's host pid, its OCI runtime spec and, for containerd, the
// CRI configuration it was created with.
type Info struct {
	Pid        int    `json:"pid"`
	SandboxID  string `json:"sandboxID"`
	Privileged *bool  `json:"privileged"`
	Spec       *Spec  `json:"runtimeSpec"`
	Config     *struct {
		Linux *struct {
			SecurityContext *struct {
				Privileged       *bool `json:"privileged"`
				NamespaceOptions *struct {
					Network, Pid, Ipc int
				} `json:"namespace_options"`
			} `json:"security_context"`
		} `json:"linux"`
	} `json:"config"`
}

// maxInfo bounds the verbose information decoded per container.
const maxInfo = 4 << 20

func decodeInfo(m map[string]string) (*Info, error) {
	raw, ok := m["info"]
	if !ok {
		return nil, fmt.Errorf("the runtime gives no verbose information")
	}
	if len(raw) > maxInfo {
		return nil, fmt.Errorf("the runtime's verbose information is larger than %d bytes", maxInfo)
	}
	var in Info
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return nil, fmt.Errorf("the runtime's verbose information: %w", err)
	}
	return &in, nil
}

// privileged is the container's privileged flag: from the CRI
// configuration or the runtime's own flag where given, else read from the
// spec (every capability and the host's devices).
func (in *Info) privileged() (value bool, from string) {
	if c := in.Config; c != nil {
		// The configuration leaves out a false flag.
		priv := c.Linux != nil && c.Linux.SecurityContext != nil && c.Linux.SecurityContext.Privileged != nil && *c.Linux.SecurityContext.Privileged
		return priv, "the container's CRI configuration"
	}
	if in.Privileged != nil {
		return *in.Privileged, "the runtime's status"
	}
	if in.Spec == nil {
		return false, "unknown"
	}
	return hasCap(in.Spec.capabilities(), "CAP_SYS_ADMIN") && len(in.Spec.Linux.devices()) > 0 && len(in.Spec.Linux.maskedPaths()) == 0,
		"the runtime spec (every capability, host devices, no masked paths)"
}

// namespaceNode is the CRI's NamespaceMode NODE: the host's namespace.
const namespaceNode = 2

// hostNamespaces says which of the host's namespaces the container's CRI
// configuration asks for, where the runtime gives it (containerd): a
// container joins its pod's namespaces by path, and a pod on the host's
// namespaces has them, so the spec alone cannot tell.
func (in *Info) hostNamespaces() (network, pid, ipc, known bool) {
	c := in.Config
	if c == nil || c.Linux == nil || c.Linux.SecurityContext == nil || c.Linux.SecurityContext.NamespaceOptions == nil {
		return false, false, false, c != nil
	}
	o := c.Linux.SecurityContext.NamespaceOptions
	return o.Network == namespaceNode, o.Pid == namespaceNode, o.Ipc == namespaceNode, true
}

func hasCap(caps []string, c string) bool {
	for _, x := range caps {
		if x == c {
			return true
		}
	}
	return false
}
