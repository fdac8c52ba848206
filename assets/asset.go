// Package assets owns what is checked: the asset model (hosts, containers,
// images, clusters) with stable ids. Its sub-packages discover assets and
// collect their facts.
package assets

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// Type is an asset type, spelled as in the compliance API.
type Type string

// The asset types.
const (
	Host      Type = "ASSET_HOST"
	Container Type = "ASSET_CONTAINER"
	Image     Type = "ASSET_IMAGE"
	K8s       Type = "ASSET_K8S"
)

// Types lists every asset type in report order.
var Types = []Type{Host, Container, Image, K8s}

// ParseType accepts "host", "container", "image", "k8s" or the ASSET_* form.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "ASSET_")) {
	case "host", "node":
		return Host, nil
	case "container":
		return Container, nil
	case "image":
		return Image, nil
	case "k8s", "kubernetes", "cluster":
		return K8s, nil
	}
	return "", fmt.Errorf("unknown asset type %q (want host, container, image or k8s)", s)
}

// Short is the lower-case short name used in YAML and on the command line.
func (t Type) Short() string {
	return strings.ToLower(strings.TrimPrefix(string(t), "ASSET_"))
}

// RunState is a container's run state, spelled as in the compliance API.
type RunState string

// Container run states.
const (
	StateNormal   RunState = "ASSET_NORMAL"
	StatePaused   RunState = "ASSET_PAUSED"
	StateStopped  RunState = "ASSET_STOPPED"
	StateAbnormal RunState = "ASSET_ABNORMAL"
)

// Asset is one thing that items are checked against.
type Asset struct {
	// ID is the CustomerAssetId: stable across scans of the same asset.
	ID   uint64 `json:"CustomerAssetId"`
	Type Type   `json:"AssetType"`
	// Name is what people call it: host name, container name, image reference.
	Name string `json:"AssetName"`
	// Ref is the engine's own identifier: container id, image id, machine id.
	Ref string `json:"Ref"`
	// NodeName is the host the asset lives on.
	NodeName string `json:"NodeName"`

	Host      *HostDetails      `json:"Host,omitempty"`
	Container *ContainerDetails `json:"Container,omitempty"`
	Image     *ImageDetails     `json:"Image,omitempty"`
	Cluster   *ClusterDetails   `json:"Cluster,omitempty"`
}

// HostDetails are kept for ASSET_HOST.
type HostDetails struct {
	HostName          string `json:"HostName"`
	HostIP            string `json:"HostIP"`
	InstanceID        string `json:"InstanceId"`
	DockerVersion     string `json:"DockerVersion"`
	ContainerdVersion string `json:"ContainerdVersion"`
	K8sVersion        string `json:"K8sVersion"`
}

// ContainerDetails are kept for ASSET_CONTAINER.
type ContainerDetails struct {
	ContainerID string    `json:"ContainerId"`
	Name        string    `json:"ContainerName"`
	PodName     string    `json:"PodName"`
	State       RunState  `json:"ContainerStatus"`
	ImageName   string    `json:"ImageName"`
	CreateTime  time.Time `json:"CreateTime"`
}

// ImageDetails are kept for ASSET_IMAGE.
type ImageDetails struct {
	ImageID    string `json:"ImageId"`
	Name       string `json:"ImageName"`
	Tag        string `json:"ImageTag"`
	Repository string `json:"Repository"`
}

// ClusterDetails are kept for ASSET_K8S.
type ClusterDetails struct {
	ClusterName string `json:"ClusterName"`
	Version     string `json:"ClusterVersion"`
	// Components are the Kubernetes components running on a node asset.
	Components []string `json:"Components,omitempty"`
	// Nodes are the cluster's nodes, on the cluster asset.
	Nodes []string `json:"Nodes,omitempty"`
}

// idMask keeps ids within 53 bits so that JSON clients which store numbers
// as doubles read them exactly.
const idMask = 1<<53 - 1

// StableID derives a CustomerAssetId from the asset type and the parts that
// identify it (for example the host's machine id and a container id). The
// same parts always give the same id.
func StableID(t Type, parts ...string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(t))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	id := h.Sum64() & idMask
	if id == 0 {
		id = 1
	}
	return id
}
