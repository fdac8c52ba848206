// Package fleet builds the fleet-size data set of the benchmarks: one
// host and 9,999 containers on 100 nodes, checked against 150 container
// items in one task (1,499,850 results, some assets dead or partly
// unreadable), deterministic from a fixed seed. It is test support: the
// store's, the API's and the console's benchmarks ingest it. BuildNode
// builds one node's scan of a simulated fleet (a host with its containers
// and images), as that node's daemon would upload it.
package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// Data is the fleet's catalog and its one task's report; ItemID is an item
// for single-item queries.
type Data struct {
	Catalog *checks.Catalog
	Report  *results.Report
	ItemID  uint64
}

// The fleet's items: 150 container items, the first numbered FirstItemID.
const (
	Items       = 150
	FirstItemID = 900001
)

// Size is how many containers a fleet has, on how many nodes.
type Size struct{ Containers, Nodes int }

// Default is 10,000 assets (one host and 9,999 containers on 100 nodes)
// judged by 150 container items: 1,499,850 results (the host gets none,
// as in a real scan, since every item is a container item).
var Default = Size{Containers: 9999, Nodes: 100}

// DeadAssets is how many containers could not be read at all: an
// AssetFailure and every result CHECK_FAILED (1%, rounded up).
func (s Size) DeadAssets() int { return (s.Containers + 99) / 100 }

// PartialAssets is how many containers were read but had two checks that
// could not be carried out: an AssetFailure naming them (2%, rounded up).
func (s Size) PartialAssets() int { return (s.Containers + 49) / 50 }

// risks gives 150 items: 15 critical, 75 high, 35 medium, 15 low, 10
// notice. High is the largest group so that a RISK_HIGH page at offset 50
// is not empty.
var risks = []struct {
	risk string
	n    int
}{{"critical", 15}, {"high", 75}, {"medium", 35}, {"low", 15}, {"notice", 10}}

var categories = []string{"Container Runtime", "Container Images and Build File", "Container Networking", "Container Resources"}

// Catalog loads the 150-item catalog (standard fleet-bench-1.0) from FS.
func Catalog() (*checks.Catalog, error) {
	return checks.Load(checks.Tree{FS: FS(), Origin: "bench"})
}

// FS is the fleet's standard as a tree holding one directory, fleet/
// (standard.yaml, items.yaml): what a daemon under benchmark loads.
func FS() fstest.MapFS {
	var items strings.Builder
	items.WriteString("category: Container Runtime\nasset_type: container\nitems:\n")
	n := 0
	for _, r := range risks {
		for range r.n {
			id := FirstItemID + n
			fmt.Fprintf(&items, `  - id: %d
    number: "F.%d"
    title: Ensure fleet setting %d is configured on every container
    category: %s
    level: %d
    risk: %s
    assessment: automated
    description: >
      Fleet benchmark item %d. The container's inspect document must carry
      the setting Config.Fleet%d; a container without it runs with the
      engine default, which is weaker than the hardened value.
    audit_procedure: |
      docker inspect --format '{{.Config.Fleet%d}}' $(docker ps -aq)
    remediation: |
      Set Fleet%d in the container's configuration and recreate the container.
    source: {kind: container}
    tests:
      test_items:
        - path: "{.Config.Fleet%d}"
          set: true
`, id, n+1, n+1, categories[n%len(categories)], 1+n%2, r.risk, n+1, n+1, n+1, n+1, n+1)
			n++
		}
	}
	return fstest.MapFS{
		"fleet/standard.yaml": {Data: []byte(`standard:
  id: fleet-bench-1.0
  name: Fleet benchmark
  version: "1.0"
  description: A synthetic standard of 150 container items for benchmarks.
  asset_types: [container]
`)},
		"fleet/items.yaml": {Data: []byte(items.String())},
	}
}

// Build builds the default fleet (BuildSize of Default).
func Build() (*Data, error) { return BuildSize(Default) }

// BuildSize builds the catalog and one task report with every asset,
// result and failure of a fleet of the size.
func BuildSize(size Size) (*Data, error) {
	cat, err := Catalog()
	if err != nil {
		return nil, err
	}
	items := cat.Items()
	if len(items) != Items {
		return nil, fmt.Errorf("catalog has %d items, want %d", len(items), Items)
	}
	now := time.Now().UTC().Truncate(time.Second)
	rep := &results.Report{StartedAt: now.Add(-10 * time.Minute), FinishedAt: now, Standards: cat.Standards, Items: items}

	if rep.Assets, err = fleetAssets(size, now); err != nil {
		return nil, err
	}

	// Evidence is shared per (item, outcome): the store marshals each
	// result's evidence anyway, so the ingest cost is that of distinct
	// slices while the data set stays small in memory.
	type itemEv struct{ pass, fail, manual, na []checks.Evidence }
	evs := make([]itemEv, len(items))
	for j, it := range items {
		subj := it.Tests.Items[0].Subject()
		evs[j] = itemEv{
			pass:   []checks.Evidence{{Source: "container", Subject: subj, Actual: "true", Expected: "set", Passed: true}},
			fail:   []checks.Evidence{{Source: "container", Subject: subj, Actual: "<not set>", Expected: "set"}},
			manual: []checks.Evidence{{Source: "container", Subject: subj, Actual: "true", Expected: "set (reviewed by hand)", Passed: true}},
			na:     []checks.Evidence{{Source: "container", Subject: "{.State.Status}", Actual: "exited", Expected: "eq running"}},
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	rep.Results = make([]results.Result, 0, size.Containers*Items)
	deadAssets, partialAssets := size.DeadAssets(), size.PartialAssets()
	const deadReason = "inspect container: Error response from daemon: No such container"
	const partialReason = `path {.Config.Fleet}: cannot compare "n/a" with gt: not a number`
	for i, a := range rep.Assets[1:] {
		at := rep.StartedAt.Add(time.Duration(i) * 50 * time.Millisecond)
		dead := i < deadAssets
		partial := !dead && i < deadAssets+partialAssets
		if dead {
			rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: a.ID, Reason: deadReason + ": " + a.Ref,
				Suggestion: "the container may have been removed during the scan; rescan it", CheckTime: at})
		}
		if partial {
			rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: a.ID, CheckTime: at,
				Reason:     "2 checks could not be carried out; the first: " + partialReason,
				Suggestion: "fix the cause (often: start the Docker engine, or run as root to read the host's files) and rescan the asset"})
		}
		for j, it := range items {
			r := results.Result{ItemID: it.ID, AssetID: a.ID, CheckedAt: at}
			switch {
			case dead:
				r.Verdict = checks.Failed(deadReason + ": " + a.Ref)
			case partial && j < 2:
				r.Verdict = checks.Failed(partialReason)
			default:
				// 70 : 20 : 5 : 4 of the 99% that could be checked.
				switch p := rng.IntN(99); {
				case p < 70:
					r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed, Evidence: evs[j].pass}
				case p < 90:
					r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultFailed, Evidence: evs[j].fail}
				case p < 95:
					r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultManual, Evidence: evs[j].manual}
				default:
					r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable,
						Reason: "only running containers are checked", Evidence: evs[j].na}
				}
			}
			rep.Results = append(rep.Results, r)
		}
	}
	return &Data{Catalog: cat, Report: rep, ItemID: items[0].ID}, nil
}

// fleetAssets are the fleet's host and containers, every id distinct.
func fleetAssets(size Size, now time.Time) ([]assets.Asset, error) {
	nodes := make([]string, size.Nodes)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("node-%03d", i)
	}
	hostRef := "machine-" + nodes[0]
	list := make([]assets.Asset, 0, 1+size.Containers)
	list = append(list, assets.Asset{
		ID: assets.StableID(assets.Host, hostRef), Type: assets.Host, Name: nodes[0], Ref: hostRef, NodeName: nodes[0],
		Host: &assets.HostDetails{HostName: nodes[0], HostIP: "10.0.0.10", InstanceID: hostRef, DockerVersion: "28.5.2", ContainerdVersion: "1.7.27"},
	})
	services := []string{"api", "web", "worker", "cache", "db", "queue", "auth", "search", "billing", "mailer",
		"gateway", "scheduler", "metrics", "logs", "cron", "proxy", "cdn", "upload", "notify", "report"}
	seen := map[uint64]bool{list[0].ID: true}
	for i := range size.Containers {
		sum := sha256.Sum256([]byte(fmt.Sprintf("container-%d", i)))
		cid := hex.EncodeToString(sum[:])
		node := nodes[i%size.Nodes]
		svc := services[i%len(services)]
		name := fmt.Sprintf("%s-%d-%s", svc, i/len(services), cid[:5])
		a := assets.Asset{
			ID: assets.StableID(assets.Container, "machine-"+node, cid), Type: assets.Container, Name: name, Ref: cid, NodeName: node,
			Container: &assets.ContainerDetails{ContainerID: cid, Name: name, PodName: "", State: assets.StateNormal,
				ImageName: "registry.example.com/" + svc + ":1." + fmt.Sprint(i%7), CreateTime: now.Add(-time.Duration(i) * time.Minute)},
		}
		if i%10 == 9 {
			a.Container.State = assets.StateStopped
		}
		if seen[a.ID] {
			return nil, fmt.Errorf("asset id collision at container %d", i)
		}
		seen[a.ID] = true
		list = append(list, a)
	}
	return list, nil
}

// NodeSize is the size of one node of a fleet simulation: a host with
// its containers and images, whose containers are judged by the first
// Items items of the fleet standard.
type NodeSize struct{ Containers, Images, Items int }

// DefaultNode is a host with 20 containers and 10 images, its containers
// judged by 75 of the 150 items: 1,500 results per upload. The standard
// has container items only, so the images are inventory without results.
var DefaultNode = NodeSize{Containers: 20, Images: 10, Items: 75}

// Node is one node's scan, as a node's daemon would upload it: the node's
// name, its report (the host as the report's Host and its first asset,
// then the containers and images) and the items it judged (the scope).
type Node struct {
	Name   string
	Report *results.Report
	Items  []uint64
}

// BuildNode builds the scan of node number i of a simulated fleet,
// finished at `at`, against cat (the fleet standard as loaded by the
// daemon that receives it). The verdicts are deterministic from i.
func BuildNode(cat *checks.Catalog, i int, size NodeSize, at time.Time) (*Node, error) {
	std, ok := cat.Standard("fleet-bench-1.0")
	if !ok || len(std.Items) < size.Items {
		return nil, fmt.Errorf("the catalog has no fleet standard of %d items", size.Items)
	}
	items := std.Items[:size.Items]
	name := fmt.Sprintf("fleet-node-%04d", i)
	machine := "machine-" + name
	host := assets.Asset{ID: assets.StableID(assets.Host, machine), Type: assets.Host, Name: name, Ref: machine, NodeName: name,
		Host: &assets.HostDetails{HostName: name, HostIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			InstanceID: machine, DockerVersion: "28.5.2", ContainerdVersion: "1.7.27"}}
	rep := &results.Report{StartedAt: at.Add(-time.Minute), FinishedAt: at, Standards: []*checks.Standard{std}, Items: items, Host: host,
		Assets:  append(make([]assets.Asset, 0, 1+size.Containers+size.Images), host),
		Results: make([]results.Result, 0, size.Containers*len(items))}
	services := []string{"api", "web", "worker", "cache", "db", "queue", "auth", "search", "billing", "mailer"}
	for j := range size.Images {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s/image-%d", name, j)))
		iid := "sha256:" + hex.EncodeToString(sum[:])
		svc := services[j%len(services)]
		rep.Assets = append(rep.Assets, assets.Asset{ID: assets.StableID(assets.Image, machine, iid), Type: assets.Image,
			Name: "registry.example.com/" + svc + ":1." + fmt.Sprint(j), Ref: iid, NodeName: name,
			Image: &assets.ImageDetails{ImageID: iid, Name: "registry.example.com/" + svc, Tag: "1." + fmt.Sprint(j), Repository: "registry.example.com/" + svc}})
	}
	rng := rand.New(rand.NewPCG(uint64(i), 3))
	for j := range size.Containers {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s/container-%d", name, j)))
		cid := hex.EncodeToString(sum[:])
		svc := services[j%len(services)]
		cname := fmt.Sprintf("%s-%d-%s", svc, j/len(services), cid[:5])
		a := assets.Asset{ID: assets.StableID(assets.Container, machine, cid), Type: assets.Container, Name: cname, Ref: cid, NodeName: name,
			Container: &assets.ContainerDetails{ContainerID: cid, Name: cname, State: assets.StateNormal,
				ImageName: "registry.example.com/" + svc + ":1." + fmt.Sprint(j%size.Images), CreateTime: at.Add(-time.Duration(j) * time.Hour)}}
		rep.Assets = append(rep.Assets, a)
		for _, it := range items {
			rep.Results = append(rep.Results, nodeResult(rng, it, a.ID, at))
		}
	}
	ids := make([]uint64, len(items))
	for j, it := range items {
		ids[j] = it.ID
	}
	return &Node{Name: name, Report: rep, Items: ids}, nil
}

// nodeResult is one verdict of a node's container: 70 : 20 : 5 : 5
// passed, failed, manual, not applicable.
func nodeResult(rng *rand.Rand, it *checks.Item, asset uint64, at time.Time) results.Result {
	subj := it.Tests.Items[0].Subject()
	r := results.Result{ItemID: it.ID, AssetID: asset, CheckedAt: at}
	switch p := rng.IntN(100); {
	case p < 70:
		r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed,
			Evidence: []checks.Evidence{{Source: "container", Subject: subj, Actual: "true", Expected: "set", Passed: true}}}
	case p < 90:
		r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultFailed,
			Evidence: []checks.Evidence{{Source: "container", Subject: subj, Actual: "<not set>", Expected: "set"}}}
	case p < 95:
		r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultManual,
			Evidence: []checks.Evidence{{Source: "container", Subject: subj, Actual: "true", Expected: "set (reviewed by hand)", Passed: true}}}
	default:
		r.Verdict = checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable, Reason: "only running containers are checked",
			Evidence: []checks.Evidence{{Source: "container", Subject: "{.State.Status}", Actual: "exited", Expected: "eq running"}}}
	}
	return r
}
