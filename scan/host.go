package scan

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// discovery finds the assets of this host.
type discovery struct {
	hc      *hostContext
	now     func() time.Time
	workers int
	// failure is set when the engine's assets could not be listed.
	failure, suggestion string
}

// host describes this host. Its id derives from the machine id, falling
// back to the engine's id and the host name.
func (d *discovery) host() assets.Asset {
	hc := d.hc
	name := ""
	if data, err := hc.root.ReadFile("/etc/hostname"); err == nil {
		name = strings.TrimSpace(string(data))
	}
	if name == "" && hc.daemon != nil {
		name = hc.daemon.Name
	}
	if name == "" {
		name, _ = os.Hostname()
	}
	key := ""
	if data, err := hc.root.ReadFile("/etc/machine-id"); err == nil {
		key = strings.TrimSpace(string(data))
	}
	if key == "" && hc.daemon != nil {
		key = hc.daemon.ID
	}
	if key == "" {
		key = name
	}
	det := &assets.HostDetails{HostName: name, HostIP: hostIP(), InstanceID: key}
	if hc.daemon != nil {
		det.DockerVersion, det.ContainerdVersion = hc.daemon.Version, hc.daemon.ContainerdVersion
	}
	if rt := hc.rt; rt != nil && rt.client != nil && det.ContainerdVersion == "" && rt.runtime.Name == "containerd" {
		det.ContainerdVersion = rt.runtime.Version
	}
	return assets.Asset{ID: assets.StableID(assets.Host, key), Type: assets.Host, Name: name, Ref: key, NodeName: name, Host: det}
}

// targets finds the assets that the selected items need: this host, the
// engine's containers and images, the cluster and this host as its node.
// kd, when not nil, is how the cluster was reached.
func (d *discovery) targets(ctx context.Context, host assets.Asset, items []*checks.Item, need map[assets.Type]bool, opts Options) (ts []target, kd *kubeDiscovery) {
	engineVersion := ""
	if d.hc.daemon != nil {
		engineVersion = d.hc.daemon.Version
	}
	ts = []target{{asset: host, facts: &assetFacts{host: d.hc}, version: engineVersion}}
	engine, runtime := map[assets.Type]bool{}, map[assets.Type]bool{}
	for _, it := range items {
		if it.Target == checks.TargetCRI {
			runtime[it.AssetType] = true
		} else {
			engine[it.AssetType] = true
		}
	}
	if engine[assets.Container] || engine[assets.Image] {
		ts = append(ts, d.engineAssets(ctx, host, engine[assets.Container], engine[assets.Image])...)
	}
	if runtime[assets.Container] || runtime[assets.Image] {
		have := map[string]bool{}
		for _, t := range ts {
			if t.asset.Type == assets.Container || t.asset.Type == assets.Image {
				have[t.asset.Ref] = true
			}
		}
		ts = append(ts, d.runtimeAssets(ctx, host, runtime[assets.Container], runtime[assets.Image], have)...)
	}
	if !need[assets.K8s] {
		return ts, nil
	}
	if needTarget(items, checks.TargetCluster) {
		var cluster *target
		if cluster, kd = d.kubeCluster(ctx, opts); cluster != nil {
			ts = append(ts, *cluster)
		}
	}
	if needTarget(items, checks.TargetNode) {
		if node := d.kubeNode(host, opts, kd); node != nil {
			ts = append(ts, *node)
		}
	}
	return ts, kd
}

// reported are the assets that a report lists, with those that could not
// be read. The host is left out when it was only the way to its
// containers and images (hostItems false), unless listing them failed.
func (d *discovery) reported(targets []target, host assets.Asset, hostItems bool) ([]assets.Asset, []results.AssetFailure) {
	var list []assets.Asset
	var failures []results.AssetFailure
	for _, t := range targets {
		if t.asset.Type == assets.Host && !hostItems && d.failure == "" {
			continue // the host was only the way to its containers and images
		}
		list = append(list, t.asset)
		if t.failure != "" {
			failures = append(failures, results.AssetFailure{AssetID: t.asset.ID, Reason: t.failure, Suggestion: t.suggestion, CheckTime: d.now()})
		}
	}
	if d.failure != "" {
		failures = append(failures, results.AssetFailure{AssetID: host.ID, Reason: d.failure, Suggestion: d.suggestion, CheckTime: d.now()})
	}
	return list, failures
}
