package scan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
)

// The cluster pass judges every kube source of a scan's cluster items in
// one read of the cluster: each resource is listed page by page, each page
// judged by every test that reads the resource, then dropped. What stays
// is each test's tally (the evidence of failing objects and counts), and
// the counts that other resources' derived facts need (kube.Aggregates).
// Memory grows with the failing objects, not with the cluster.

// passOrder is the order resources are read in: a resource comes after
// those its derived facts count (kube.Needs), except for service
// accounts, which pods need too. Service accounts and nodes are few and
// kept (kube.Client.Objects): service accounts are counted before pods
// and judged after them.
var passOrder = []string{"networkpolicies", "pods", "serviceaccounts", "namespaces", "roles", "clusterroles", "rolebindings", "clusterrolebindings", "nodes"}

var keptResources = map[string]bool{"serviceaccounts": true, "nodes": true}

// judgedSource is a kube source judged by the pass: the objects it
// covered and excluded, and a tally per test and resource (in the
// source's order of resources).
type judgedSource struct {
	src       *checks.Source
	count     int
	excluded  int
	tallies   map[*checks.Tests][]*checks.Tally
	resources map[string]int // resource → index in src.Resources
}

// clusterPass holds what the pass judged and why a resource could not be
// read (its listing, or the counts its derived facts need).
type clusterPass struct {
	sources   map[string]*judgedSource // by sourceKey
	listErr   map[string]error
	deriveErr map[string]error
}

func sourceKey(src *checks.Source) string {
	return strings.Join(src.Resources, ",") + "\x00" + strings.Join(src.Exclude, "\x00")
}

// prepare runs the pass for the items about to be judged on the cluster.
func (f *clusterFacts) prepare(ctx context.Context, items []*checks.Item) {
	p := &clusterPass{sources: map[string]*judgedSource{}, listErr: map[string]error{}, deriveErr: map[string]error{}}
	byResource := map[string][]*judgedSource{}
	add := func(src *checks.Source, ts *checks.Tests) {
		if src == nil || ts == nil || src.Kind != checks.SourceKube {
			return
		}
		key := sourceKey(src)
		js := p.sources[key]
		if js == nil {
			js = &judgedSource{src: src, tallies: map[*checks.Tests][]*checks.Tally{}, resources: map[string]int{}}
			p.sources[key] = js
			for i, r := range src.Resources {
				js.resources[r] = i
				byResource[r] = append(byResource[r], js)
			}
		}
		if js.tallies[ts] == nil {
			for range src.Resources {
				js.tallies[ts] = append(js.tallies[ts], ts.Tally(js.src))
			}
		}
	}
	for _, it := range items {
		for _, c := range it.OnlyIf {
			if !c.Unmet {
				src := c.Source
				if src == nil {
					src = it.Source
				}
				add(src, c.Tests)
			}
		}
		add(it.Source, it.Tests)
	}
	counted := map[string]bool{}
	for r := range byResource {
		for _, n := range kube.Needs(r) {
			counted[n] = true
		}
	}
	agg := kube.NewAggregates()
	if byResource["pods"] != nil {
		// Judging pods needs the service accounts' settings (counting
		// them does not).
		if sas, err := f.client.Objects(ctx, "serviceaccounts"); err != nil {
			p.listErr["serviceaccounts"] = err
		} else {
			for _, o := range sas {
				agg.Count("serviceaccounts", o)
			}
		}
	}
	order := passOrder
	for r := range byResource {
		if !slices.Contains(passOrder, r) {
			order = append(slices.Clip(order), r) // not supported: read says so
		}
	}
	for _, r := range order {
		if byResource[r] != nil || counted[r] {
			p.read(ctx, f.client, r, byResource[r], counted[r], agg)
		}
	}
	f.pass = p
}

// read lists one resource and judges (and counts) each object.
func (p *clusterPass) read(ctx context.Context, client *kube.Client, r string, judges []*judgedSource, count bool, agg *kube.Aggregates) {
	for _, n := range kube.Needs(r) {
		if err := p.listErr[n]; err != nil && p.deriveErr[r] == nil {
			p.deriveErr[r] = fmt.Errorf("%s: %w", kube.NeedsWhat(r, n), err)
		}
	}
	judge := p.deriveErr[r] == nil && len(judges) > 0
	each := func(page []kube.Object) error {
		for i := range page {
			o := &page[i]
			if count {
				agg.Count(r, *o)
			}
			if judge {
				kube.DeriveObject(r, o, agg)
				p.judgeObject(r, o, judges)
			}
		}
		return nil
	}
	var err error
	if keptResources[r] {
		var objs []kube.Object
		if objs, err = client.Objects(ctx, r); err == nil {
			err = each(objs)
		}
	} else {
		err = client.EachPage(ctx, r, each)
	}
	if err != nil {
		p.listErr[r] = err
	}
}

func (p *clusterPass) judgeObject(r string, o *kube.Object, judges []*judgedSource) {
	s := checks.Subject{Name: o.Kind + " " + o.Key(), Doc: o.Doc}
	for _, js := range judges {
		if excludedObject(*o, js.src.Exclude) {
			js.excluded++
			continue
		}
		js.count++
		i := js.resources[r]
		for _, tallies := range js.tallies {
			tallies[i].Add(&s)
		}
	}
}

// observation is what the pass judged of src; ok is false when the pass
// did not cover it.
func (p *clusterPass) observation(src *checks.Source) (checks.Observation, bool, error) {
	js := p.sources[sourceKey(src)]
	if js == nil {
		return checks.Observation{}, false, nil
	}
	for _, r := range src.Resources {
		if err := p.listErr[r]; err != nil {
			return checks.Observation{}, true, err
		}
		if err := p.deriveErr[r]; err != nil {
			return checks.Observation{}, true, err
		}
	}
	what := strings.Join(src.Resources, " and ")
	obs := checks.Observation{Collection: what, Count: js.count, Judged: func(ts *checks.Tests) (bool, []checks.Evidence, error) {
		tallies := js.tallies[ts]
		if tallies == nil {
			return false, nil, fmt.Errorf("%s: these tests were not part of the scan's read of the cluster", src.Describe())
		}
		return checks.TallyOutcome(what, tallies)
	}}
	if js.count == 0 {
		obs.Empty = emptyCluster(src, js.excluded)
	}
	return obs, true, nil
}

// emptyCluster says why a kube source has no subject.
func emptyCluster(src *checks.Source, excluded int) string {
	msg := "the cluster has no " + strings.Join(src.Resources, " or ")
	if excluded > 0 {
		msg += fmt.Sprintf(" besides %d excluded (%s)", excluded, strings.Join(src.Exclude, ", "))
	}
	return msg
}
