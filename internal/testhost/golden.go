package testhost

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// Asset and item ids of GoldenReport.
const (
	GoldenHost       uint64 = 4503599627370001
	GoldenContainer  uint64 = 4503599627370002
	GoldenImage      uint64 = 4503599627370003
	GoldenPrivileged uint64 = 100505
	GoldenRoot       uint64 = 300009
)

// GoldenReport is one fixed scan, the input of the report and API golden
// files: a host that passed (with a manual and a not-applicable item), a container
// that failed two items, and an image whose inspect failed, so that its
// check could not be carried out. Every time is fixed.
func GoldenReport() *results.Report {
	start := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }

	cis := &checks.Standard{ID: "cis-docker-1.6.0", Name: "CIS Docker Benchmark", Version: "1.6.0",
		Description: "CIS Docker Benchmark v1.6.0", AssetTypes: []assets.Type{assets.Host, assets.Container, assets.Image}, Enabled: true, Origin: "builtin"}
	own := &checks.Standard{ID: "baseline-docker-1.0", Name: "Baseline Docker best practices", Version: "1.0",
		Description: "Our own best practices beyond CIS", AssetTypes: []assets.Type{assets.Container}, Enabled: true, Origin: "builtin"}
	add := func(s *checks.Standard, it *checks.Item) *checks.Item {
		it.Standard = s
		s.Items = append(s.Items, it)
		return it
	}
	hardened := add(cis, &checks.Item{
		ID: 100119, Number: "1.2.1", Title: "Ensure the container host has been Hardened", Category: "Host Configuration",
		AssetType: assets.Host, Risk: checks.RiskLow, Level: 1,
		Description: "The host should be hardened according to a security baseline.",
		Procedure:   "Check that the host follows a hardening guide.",
		Remediation: "Harden the host.",
	})
	icc := add(cis, &checks.Item{
		ID: 100202, Number: "2.2", Title: "Ensure network traffic is restricted between containers on the default bridge", Category: "Docker daemon configuration",
		AssetType: assets.Host, Risk: checks.RiskMedium, Level: 1, Automated: true, Scored: true,
		Description: "Setting icc to false blocks traffic between containers on the default bridge.",
		Procedure:   "Check that \"icc\": false is in daemon.json.",
		Remediation: "Add \"icc\": false to /etc/docker/daemon.json and restart the daemon.",
		References:  []string{"https://docs.docker.com/engine/network/drivers/bridge/"},
	})
	swarm := add(cis, &checks.Item{
		ID: 100702, Number: "7.2", Title: "Ensure that swarm services are bound to a specific host interface", Category: "Docker Swarm Configuration",
		AssetType: assets.Host, Risk: checks.RiskMedium, Level: 1, Automated: true, Scored: true,
		Description: "Swarm services should listen on a specific interface.",
		Procedure:   "Check the swarm's listen address.",
		Remediation: "Re-initialise the swarm with --listen-addr.",
	})
	privileged := add(cis, &checks.Item{
		ID: GoldenPrivileged, Number: "5.5", Title: "Ensure that privileged containers are not used", Category: "Container Runtime",
		AssetType: assets.Container, Risk: checks.RiskCritical, Level: 1, Automated: true, Scored: true,
		Description: "A privileged container gets every capability and access to all host devices.",
		Procedure:   "Run docker inspect --format '{{.HostConfig.Privileged}}' CONTAINER; it should print false.",
		Remediation: "Remove --privileged.",
		References:  []string{"https://docs.docker.com/engine/containers/run/"},
	})
	mounts := add(cis, &checks.Item{
		ID: 100506, Number: "5.6", Title: "Ensure sensitive host system directories are not mounted on containers", Category: "Container Runtime",
		AssetType: assets.Container, Risk: checks.RiskHigh, Level: 1, Automated: true, Scored: true,
		Description: "Sensitive host directories must not be mounted into containers.",
		Procedure:   "List the container's mounts.",
		Remediation: "Do not mount sensitive host directories.",
	})
	user := add(cis, &checks.Item{
		ID: 100401, Number: "4.1", Title: "Ensure that a user for the container has been created", Category: "Container Images and Build File Configuration",
		AssetType: assets.Image, Risk: checks.RiskHigh, Level: 1, Automated: true, Scored: true,
		Description: "Images should run as a non-root user.",
		Procedure:   "Run docker image inspect --format '{{.Config.User}}' IMAGE.",
		Remediation: "Add a USER instruction to the Dockerfile.",
	})
	root := add(own, &checks.Item{
		ID: GoldenRoot, Number: "B3.1", Title: "Ensure containers do not run as the root user", Category: "Containers",
		AssetType: assets.Container, Risk: checks.RiskHigh, Automated: true, Scored: true,
		Description: "A container whose process runs as root is one escape away from root on the host.",
		Procedure:   "Check {.Config.User} of the container.",
		Remediation: "Run the container with --user or set USER in the image.",
	})

	host, web, img := goldenAssets(start)
	gone := "Error response from daemon: No such image: sha256:9b1d2c3e4f5a"

	return &results.Report{
		StartedAt: start, FinishedAt: at(2345),
		Standards: []*checks.Standard{cis, own},
		Items:     []*checks.Item{hardened, icc, swarm, privileged, mounts, user, root},
		Assets:    []assets.Asset{host, web, img},
		Results: []results.Result{
			{ItemID: hardened.ID, AssetID: host.ID, CheckedAt: at(100), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultManual, Reason: "manual review required; evidence collected",
				Evidence: []checks.Evidence{{Source: "/etc/os-release", Subject: "PRETTY_NAME", Actual: "Debian GNU/Linux 13 (trixie)", Expected: "reviewed by hand"}}}},
			{ItemID: icc.ID, AssetID: host.ID, CheckedAt: at(110), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultPassed,
				Evidence: []checks.Evidence{{Source: "/etc/docker/daemon.json", Subject: "{.icc}", Actual: "false", Expected: "'{.icc}' is equal to 'false'", Passed: true}}}},
			{ItemID: swarm.ID, AssetID: host.ID, CheckedAt: at(120), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultNotApplicable, Reason: "swarm mode is not active",
				Evidence: []checks.Evidence{{Source: "docker info", Subject: "{.Swarm.LocalNodeState}", Actual: "inactive", Expected: "'{.Swarm.LocalNodeState}' is equal to 'active'"}}}},
			{ItemID: privileged.ID, AssetID: web.ID, CheckedAt: at(200), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultFailed,
				Evidence: []checks.Evidence{{Source: "container inspect", Subject: "{.HostConfig.Privileged}", Actual: "true", Expected: "'{.HostConfig.Privileged}' is equal to 'false'"}}}},
			{ItemID: mounts.ID, AssetID: web.ID, CheckedAt: at(210), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultPassed,
				Evidence: []checks.Evidence{{Source: "container inspect", Subject: "{.Mounts[*].Source}", Actual: "[/srv/www]", Expected: "'{.Mounts[*].Source}' does not match /^/(boot|dev|etc|lib|proc|sys|usr)?$/", Passed: true}}}},
			{ItemID: root.ID, AssetID: web.ID, CheckedAt: at(220), Verdict: checks.Verdict{
				Status: checks.CheckFinished, Result: checks.ResultFailed,
				Evidence: []checks.Evidence{
					{Source: "container inspect", Subject: "{.HostConfig.UsernsMode}", Actual: "not set", Expected: "'{.HostConfig.UsernsMode}' is not set", Passed: true},
					{Source: "container inspect", Subject: "{.Config.User}", Actual: "not set", Expected: "'{.Config.User}' is set"},
				}}},
			{ItemID: user.ID, AssetID: img.ID, CheckedAt: at(300), Verdict: checks.Failed(gone)},
		},
		Failures:        []results.AssetFailure{{AssetID: img.ID, Reason: gone, Suggestion: "the image may have been removed during the scan; rescan it", CheckTime: at(50)}},
		EngineCalls:     7,
		EngineCallsByOp: map[string]int{"info": 1, "containers": 1, "images": 1, "container": 1, "image": 1, "version": 1, "ping": 1},
	}
}

// goldenAssets are GoldenReport's host, container and image.
func goldenAssets(start time.Time) (host, web, img assets.Asset) {
	host = assets.Asset{ID: GoldenHost, Type: assets.Host, Name: "node-1", Ref: "0123456789abcdef0123456789abcdef", NodeName: "node-1",
		Host: &assets.HostDetails{HostName: "node-1", HostIP: "192.0.2.10", InstanceID: "0123456789abcdef0123456789abcdef", DockerVersion: "28.5.2", ContainerdVersion: "1.7.28"}}
	web = assets.Asset{ID: GoldenContainer, Type: assets.Container, Name: "web-1", Ref: "4f2a9c0d1e2f", NodeName: "node-1",
		Container: &assets.ContainerDetails{ContainerID: "4f2a9c0d1e2f", Name: "web-1", State: assets.StateNormal, ImageName: "nginx:1.25", CreateTime: start.Add(-24 * time.Hour)}}
	img = assets.Asset{ID: GoldenImage, Type: assets.Image, Name: "nginx:1.25", Ref: "sha256:9b1d2c3e4f5a", NodeName: "node-1",
		Image: &assets.ImageDetails{ImageID: "sha256:9b1d2c3e4f5a", Name: "nginx:1.25", Tag: "1.25", Repository: "nginx"}}
	return host, web, img
}

// Golden compares got with the golden file testdata/NAME of the test's
// package, or with update rewrites it. diff shows how they differ (the
// report goldens by line, the API's one-line bodies by byte).
func Golden(t testing.TB, name string, got []byte, update bool, diff func(want, got []byte) string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from golden file %s (run the test with -update to accept it):\n%s", path, diff(want, got))
	}
}
