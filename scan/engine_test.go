package scan

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
)

// scanEngine scans the real engine, restricted to the named assets.
func scanEngine(t *testing.T, opts Options) *results.Report {
	t.Helper()
	if opts.Standards == nil {
		opts.Standards = []string{"cis-docker-1.6.0"}
	}
	rep, err := Run(context.Background(), testhost.Builtin(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestContainerStatesAndStableIDs(t *testing.T) {
	cli := dockertest.Engine(t)
	cfg := func() *container.Config {
		return &container.Config{Image: "baseline-test/base:1", Cmd: []string{"sleep", "600"}}
	}
	created := dockertest.Create(t, cli, dockertest.Name("state-created"), cfg(), &container.HostConfig{})
	running := dockertest.Create(t, cli, dockertest.Name("state-running"), cfg(), &container.HostConfig{})
	dockertest.Start(t, cli, running)
	paused := dockertest.Create(t, cli, dockertest.Name("state-paused"), cfg(), &container.HostConfig{})
	dockertest.Start(t, cli, paused)
	if err := cli.ContainerPause(context.Background(), paused); err != nil {
		t.Fatalf("pause: %v", err)
	}
	stopped := dockertest.Create(t, cli, dockertest.Name("state-stopped"), &container.Config{Image: "baseline-test/base:1", Cmd: []string{"true"}}, &container.HostConfig{})
	dockertest.Start(t, cli, stopped)
	waitC, errC := cli.ContainerWait(context.Background(), stopped, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
	wantState := map[string]assets.RunState{created: assets.StateStopped, running: assets.StateNormal, paused: assets.StatePaused, stopped: assets.StateStopped}
	sel := []string{created, running, paused, stopped}
	opts := Options{Types: []assets.Type{assets.Container}, Assets: sel}
	first := scanEngine(t, opts)
	if len(first.Assets) != 4 {
		t.Fatalf("assets = %d, want 4", len(first.Assets))
	}
	ids := map[string]uint64{}
	for _, a := range first.Assets {
		if a.Container.State != wantState[a.Ref] {
			t.Errorf("%s: state %s, want %s", a.Name, a.Container.State, wantState[a.Ref])
		}
		ids[a.Ref] = a.ID
	}
	second := scanEngine(t, opts)
	for _, a := range second.Assets {
		if ids[a.Ref] != a.ID {
			t.Errorf("%s: id changed between scans: %d then %d", a.Name, ids[a.Ref], a.ID)
		}
	}
	if err := cli.ContainerUnpause(context.Background(), paused); err != nil {
		t.Fatal(err)
	}
}

// One scan makes one list and one inspect per container and per image,
// however many items read them.
func TestOneInspectPerAsset(t *testing.T) {
	cli := dockertest.Engine(t)
	for i := 0; i < 3; i++ {
		dockertest.Create(t, cli, dockertest.Name("calls-"+string(rune('a'+i))), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{})
	}
	rep := scanEngine(t, Options{Types: []assets.Type{assets.Container, assets.Image}, Items: itemsNotReadingImageFiles(t)})
	containers, images := 0, 0
	for _, a := range rep.Assets {
		switch a.Type {
		case assets.Container:
			containers++
		case assets.Image:
			images++
		}
	}
	by := rep.EngineCallsByOp
	if by["GET /containers/json"] != 1 || by["GET /images/json"] != 1 {
		t.Errorf("lists: %v, want one container list and one image list", by)
	}
	if by["GET /containers/{id}/json"] != containers {
		t.Errorf("container inspects = %d, want %d (one per container)", by["GET /containers/{id}/json"], containers)
	}
	if by["GET /images/{id}/json"] != images {
		t.Errorf("image inspects = %d, want %d (one per image)", by["GET /images/{id}/json"], images)
	}
	if by["GET /images/{id}/history"] > images {
		t.Errorf("history calls = %d, want at most one per image", by["GET /images/{id}/history"])
	}
	if containers < 3 || images < 4 {
		t.Errorf("scanned %d containers and %d images, want at least 3 and 4", containers, images)
	}
}

// itemsNotReadingImageFiles selects every container and image item except
// those that export images (counted apart).
func itemsNotReadingImageFiles(t *testing.T) []uint64 {
	var ids []uint64
	for _, it := range testhost.Builtin(t).Items() {
		if it.Standard.ID != "cis-docker-1.6.0" || it.AssetType == assets.Host {
			continue
		}
		if it.Source != nil && it.Source.Kind == checks.SourceImageFiles {
			continue
		}
		ids = append(ids, it.ID)
	}
	return ids
}

// An engine that stops answering after listing (simulated by a proxy that
// drops every inspect) gives failed checks with the reason, not a crash,
// and the rest of the scan goes on.
func TestEngineStopsMidScan(t *testing.T) {
	cli := dockertest.Engine(t)
	id := dockertest.Create(t, cli, dockertest.Name("gone"), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{})
	// The engine stops answering after listing: every inspect is dropped.
	sock := dockertest.Proxy(t, cli, func(r *http.Request) (time.Duration, bool) {
		return 0, dockertest.InspectPath.MatchString(r.URL.Path)
	})
	rep := scanEngine(t, Options{DockerHost: "unix://" + sock, Types: []assets.Type{assets.Host, assets.Container}, Assets: nil})
	var failed *results.AssetFailure
	var asset assets.Asset
	for _, a := range rep.Assets {
		if a.Ref == id {
			asset = a
		}
	}
	for i := range rep.Failures {
		if rep.Failures[i].AssetID == asset.ID {
			failed = &rep.Failures[i]
		}
	}
	if asset.ID == 0 || failed == nil {
		t.Fatalf("container %s: not recorded as scan-failed; failures %+v", id, rep.Failures)
	}
	if !strings.Contains(failed.Reason, "inspect container") || failed.Suggestion == "" {
		t.Errorf("failure = %+v, want the inspect error and a suggestion", failed)
	}
	hostResults := 0
	for _, r := range rep.Results {
		switch r.AssetID {
		case asset.ID:
			if r.Status != checks.CheckFailed || !strings.Contains(r.Reason, "inspect container") {
				t.Errorf("item %d on the lost container: %s %q, want CHECK_FAILED with the reason", r.ItemID, r.Status, r.Reason)
			}
		default:
			if r.Status == checks.CheckFinished {
				hostResults++
			}
		}
	}
	if hostResults == 0 {
		t.Error("no host item finished: the scan did not go on after the engine went away")
	}
}

// A streamed scan of the engine hands over, asset by asset, the results a
// scan that keeps them reports, in the same order, and keeps none itself.
func TestStreamedScanHandsOverTheReport(t *testing.T) {
	cli := dockertest.Engine(t)
	var names []string
	for _, n := range []string{"stream-a", "stream-b", "stream-c"} {
		name := dockertest.Name(n)
		dockertest.Create(t, cli, name, &container.Config{Image: "baseline-test/base:1", Cmd: []string{"true"}}, &container.HostConfig{})
		names = append(names, name)
	}
	kept := scanEngine(t, Options{Assets: names, Types: []assets.Type{assets.Container}})
	type key struct {
		asset, item uint64
		result      checks.CheckResult
	}
	keys := func(rs []results.Result) (out []key) {
		for _, r := range rs {
			out = append(out, key{r.AssetID, r.ItemID, r.Result})
		}
		return out
	}
	var handed []results.Result
	streamed := scanEngine(t, Options{Assets: names, Types: []assets.Type{assets.Container}, Streamed: true,
		Ordered: func(a assets.Asset, rs []results.Result) {
			for _, r := range rs {
				if r.AssetID != a.ID {
					t.Errorf("asset %d handed over with a result of asset %d", a.ID, r.AssetID)
				}
			}
			handed = append(handed, rs...)
		}})
	if len(kept.Results) == 0 || len(kept.Assets) != 3 {
		t.Fatalf("the scan judged %d results on %d assets", len(kept.Results), len(kept.Assets))
	}
	if len(streamed.Results) != 0 || streamed.ResultCount != len(kept.Results) || kept.ResultCount != len(kept.Results) {
		t.Errorf("streamed report: %d results kept, count %d; kept report: %d results, count %d",
			len(streamed.Results), streamed.ResultCount, len(kept.Results), kept.ResultCount)
	}
	if !reflect.DeepEqual(keys(handed), keys(kept.Results)) {
		t.Errorf("handed over\n%v\nreported\n%v", keys(handed), keys(kept.Results))
	}
}
