package sqlstore

import (
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// IgnoreSet is the active ignore list: items ignored everywhere, and items
// ignored on some assets.
type IgnoreSet struct {
	All     map[uint64]bool
	OnAsset map[uint64]map[uint64]bool
}

// NewIgnoreSet is an empty ignore set.
func NewIgnoreSet() IgnoreSet {
	return IgnoreSet{All: map[uint64]bool{}, OnAsset: map[uint64]map[uint64]bool{}}
}

// Add records an entry's row: its item, whether it covers every asset, and
// one of its assets (valid false for none).
func (ig IgnoreSet) Add(item uint64, all bool, asset uint64, valid bool) {
	if all {
		ig.All[item] = true
	}
	if valid {
		if ig.OnAsset[item] == nil {
			ig.OnAsset[item] = map[uint64]bool{}
		}
		ig.OnAsset[item][asset] = true
	}
}

// Items lists the items that some entry ignores.
func (ig IgnoreSet) Items() []uint64 {
	var items []uint64
	for it := range ig.All {
		items = append(items, it)
	}
	for it := range ig.OnAsset {
		if !ig.All[it] {
			items = append(items, it)
		}
	}
	return items
}

// CheckReportIDs refuses a report naming an id above store.MaxID.
func CheckReportIDs(rep *results.Report) error {
	if err := store.CheckIDs("CustomerAssetId", append(TouchedAssets(rep), rep.Host.ID)...); err != nil {
		return err
	}
	if err := store.CheckIDs("CustomerPolicyItemId", TouchedItems(rep)...); err != nil {
		return err
	}
	if err := CheckResultIDs(rep.Results); err != nil {
		return err
	}
	for _, f := range rep.Failures {
		if err := store.CheckIDs("scan failure's CustomerAssetId", f.AssetID); err != nil {
			return err
		}
	}
	return nil
}

// TouchedAssets lists the report's assets' ids.
func TouchedAssets(rep *results.Report) []uint64 {
	out := make([]uint64, 0, len(rep.Assets))
	for _, a := range rep.Assets {
		out = append(out, a.ID)
	}
	return out
}

// CountedAssets lists the report's assets' ids and its scan-failed
// assets' ids: the assets whose types' roll-ups the report changes.
func CountedAssets(rep *results.Report) []uint64 {
	out := TouchedAssets(rep)
	for _, f := range rep.Failures {
		out = append(out, f.AssetID)
	}
	return out
}

// TouchedItems lists the report's items' ids.
func TouchedItems(rep *results.Report) []uint64 {
	out := make([]uint64, 0, len(rep.Items))
	for _, it := range rep.Items {
		out = append(out, it.ID)
	}
	return out
}

// HostIP is the IP recorded with every asset of a report: its host's.
func HostIP(rep *results.Report) string {
	hostIP := ""
	if rep.Host.Host != nil {
		hostIP = rep.Host.Host.HostIP
	}
	for _, a := range rep.Assets {
		if a.Host != nil && a.Host.HostIP != "" {
			hostIP = a.Host.HostIP
		}
	}
	return hostIP
}

// Removal gives the scanned host's name and the asset types whose assets a
// full scan of it no longer found are removed (every scanned type but the
// host); node is empty when the report names no host.
func Removal(rep *results.Report) (node string, types []assets.Type) {
	node = rep.Host.Name
	seen := map[assets.Type]bool{}
	for _, it := range rep.Items {
		if it.AssetType != assets.Host && !seen[it.AssetType] {
			seen[it.AssetType] = true
			types = append(types, it.AssetType)
		}
	}
	for _, a := range rep.Assets {
		if node == "" && a.NodeName != "" {
			node = a.NodeName // every asset of a scan is on the scanned host
		}
	}
	return node, types
}
