package scan

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testhost"
)

// 5.7 reads a running container's processes through the engine's top: a
// process named sshd fails it, naming the process; a container without
// one passes; a stopped container is not applicable. One top per running
// container, and none when 5.7 is not selected.
func TestSSHDProcessesOnRealEngine(t *testing.T) {
	cli := dockertest.Engine(t)
	sshd := dockertest.Create(t, cli, dockertest.Name("p57-sshd"), &container.Config{Image: "baseline-test/sshd:1"}, &container.HostConfig{})
	dockertest.Start(t, cli, sshd)
	plain := dockertest.Create(t, cli, dockertest.Name("p57-plain"), &container.Config{Image: "baseline-test/hardened:1", Cmd: []string{"sleep", "600"}}, &container.HostConfig{})
	dockertest.Start(t, cli, plain)
	stopped := dockertest.Create(t, cli, dockertest.Name("p57-stopped"), &container.Config{Image: "baseline-test/sshd:1"}, &container.HostConfig{})
	sel := []string{sshd, plain, stopped}

	rep := scanEngine(t, Options{Types: []assets.Type{assets.Container}, Assets: sel, Items: []uint64{100507}})
	byRef := map[string]uint64{}
	for _, a := range rep.Assets {
		byRef[a.Ref] = a.ID
	}
	testhost.AssertVerdicts(t, testhost.Verdicts(t, rep, byRef[sshd]), []testhost.Want{testhost.Fail("5.7")})
	testhost.AssertVerdicts(t, testhost.Verdicts(t, rep, byRef[plain]), []testhost.Want{testhost.Pass("5.7")})
	testhost.AssertVerdicts(t, testhost.Verdicts(t, rep, byRef[stopped]), []testhost.Want{testhost.NA("5.7", "not running")})
	v := testhost.Verdicts(t, rep, byRef[sshd])["5.7"]
	if len(v.Evidence) == 0 || !strings.Contains(v.Evidence[0].Actual, "/usr/sbin/sshd") || !strings.Contains(v.Evidence[0].Text, "SSH daemon") {
		t.Errorf("5.7 on the sshd container: evidence %+v, want the process named", v.Evidence)
	}
	if n := rep.EngineCallsByOp["GET /containers/{id}/top"]; n != 2 {
		t.Errorf("top calls = %d, want 2 (one per running container); by operation: %v", n, rep.EngineCallsByOp)
	}

	other := scanEngine(t, Options{Types: []assets.Type{assets.Container}, Assets: sel, Items: []uint64{100505}})
	if n := other.EngineCallsByOp["GET /containers/{id}/top"]; n != 0 {
		t.Errorf("top calls without 5.7 selected = %d, want 0", n)
	}
	for _, r := range other.Results {
		if r.Status != checks.CheckFinished {
			t.Errorf("5.5: %+v", r.Verdict)
		}
	}
}
