package scan_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/internal/critest"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/scan"
)

// hostHas reports what this machine's kernel offers the containers: a
// profile it lacks cannot be asked of a container, and the items asking
// for it do not apply.
func hostHas() (seccomp, apparmor bool) {
	status, _ := os.ReadFile("/proc/1/status")
	enabled, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return strings.Contains(string(status), "\nSeccomp:"), strings.TrimSpace(string(enabled)) == "Y"
}

// compliant is a container that meets every item it can on this machine.
func compliant(name string, cmd ...string) *runtimeapi.ContainerConfig {
	seccomp, apparmor := hostHas()
	sc := &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 65534}, ReadonlyRootfs: true, NoNewPrivs: true,
		Capabilities: &runtimeapi.Capability{DropCapabilities: []string{"ALL"}},
	}
	if seccomp {
		sc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	}
	if apparmor {
		sc.Apparmor = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	}
	if len(cmd) == 0 {
		cmd = []string{"/bin/sleep", "2147483647"}
	}
	return &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: name}, Command: cmd,
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: sc,
			Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, CpuShares: 512}}}
}

// criContainers are the test's containers, each with the verdict of every
// item of baseline-cri-1.0's container part.
type criCase struct {
	name  string
	wants []testhost.Want
}

// verdicts builds the full list of container verdicts: every item passes
// but those named in fail, and those that do not apply on this machine.
func verdicts(running bool, fail ...string) []testhost.Want {
	seccomp, apparmor := hostHas()
	failed := map[string]bool{}
	for _, n := range fail {
		failed[n] = true
	}
	var out []testhost.Want
	for _, n := range []string{"5.4", "5.5", "5.6", "5.7", "5.10", "5.11", "5.12", "5.13", "5.16", "5.17", "5.18", "5.20", "5.21", "5.22", "5.26", "5.29", "5.31", "5.32", "B5.1"} {
		switch {
		case n == "5.7" && !running:
			out = append(out, testhost.NA(n, "not running"))
		case n == "5.22" && !seccomp:
			out = append(out, testhost.NA(n, "does not support seccomp"))
		case failed[n]:
			out = append(out, testhost.Fail(n))
		default:
			out = append(out, testhost.Pass(n))
		}
	}
	out = append(out, testhost.NA("5.3", "SELinux is not enabled"))
	if !apparmor {
		out = append(out, testhost.NA("5.2", "AppArmor is not enabled"))
	} else if len(fail) > 0 && failed["5.2"] {
		out = append(out, testhost.Fail("5.2"))
	}
	return out
}

// TestRuntimeContainers scans a real containerd through the CRI: pods and
// containers created through the CRI in compliant and non-compliant forms,
// and every item of the runtime standard judged on each.
func TestRuntimeContainers(t *testing.T) {
	r := critest.Start(t)
	seccomp, _ := hostHas()
	good := r.RunPod(t, critest.Pod{Name: "good"})
	bad := r.RunPod(t, critest.Pod{Name: "bad", HostNetwork: true, HostPID: true, HostIPC: true, Privileged: true})

	ids := map[string]string{}
	ids["good"] = r.Create(t, good, compliant("good"), true)
	ids["sshd"] = r.Create(t, good, compliant("sshd", "/bin/sh", "-c", "printf sshd > /proc/$$/comm; while :; do sleep 1; done"), true)
	ids["stopped"] = r.Create(t, good, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "stopped"}}, false)
	ids["privileged"] = r.Create(t, bad, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "privileged"},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}}}, true)
	ids["loose"] = r.Create(t, bad, loose(t, r.Dir), true)
	waitComm(t, r, ids["sshd"], "sshd")

	rep, err := scan.Run(context.Background(), testhost.Builtin(t), scan.Options{Standards: []string{"baseline-cri-1.0"},
		Types: []assets.Type{assets.Container, assets.Image}, CRIEndpoint: "unix://" + r.Socket, NoDocker: true, NoKube: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("scan failures: %+v", rep.Failures)
	}
	if v := rep.Host.Host.ContainerdVersion; v != r.Version {
		t.Errorf("the host's containerd version = %q, want the runtime's %q", v, r.Version)
	}
	byRef := map[string]assets.Asset{}
	for _, a := range rep.Assets {
		if _, dup := byRef[a.Ref]; dup {
			t.Errorf("asset %s listed twice", a.Ref)
		}
		byRef[a.Ref] = a
	}
	notSeccomp := "5.22"
	if !seccomp {
		notSeccomp = "" // not applicable: no container is filtered
	}
	// A pod on the host's IPC namespace has the host's /dev/shm bound
	// into its containers: 5.6 fails for both of the bad pod's.
	cases := []criCase{
		{"good", verdicts(true, "5.29", "5.31")},
		{"sshd", verdicts(true, "5.7", "5.29", "5.31")},
		{"stopped", verdicts(false, "5.11", "5.12", "5.13", notSeccomp, "5.26", "5.29", "5.31", "B5.1")},
		{"privileged", verdicts(true, "5.4", "5.5", "5.6", "5.10", "5.11", "5.12", "5.13", "5.16", "5.17", "5.18", "5.21", notSeccomp, "5.26", "5.29", "5.31", "B5.1")},
		{"loose", verdicts(true, "5.4", "5.6", "5.10", "5.11", "5.12", "5.13", "5.16", "5.17", "5.18", "5.20", "5.21", notSeccomp, "5.26", "5.29", "5.31", "5.32", "B5.1")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, ok := byRef[ids[c.name]]
			if !ok {
				t.Fatalf("container %s is not among the assets", c.name)
			}
			pod := "good"
			if c.name == "privileged" || c.name == "loose" {
				pod = "bad"
			}
			if a.Type != assets.Container || a.Container.PodName != pod || a.Container.Name != c.name || a.Name != "default/"+pod+"/"+c.name ||
				a.Container.ImageName != critest.Image || a.ID != assets.StableID(assets.Container, rep.Host.Ref, ids[c.name]) {
				t.Errorf("asset = %+v %+v", a, a.Container)
			}
			testhost.AssertVerdicts(t, testhost.Verdicts(t, rep, a.ID), c.wants)
		})
	}
	t.Run("sshd named", func(t *testing.T) {
		v := testhost.Verdicts(t, rep, byRef[ids["sshd"]].ID)["5.7"]
		if text := evidenceText(v.Evidence); !strings.Contains(text, "sshd (sh) (pid ") {
			t.Errorf("5.7's evidence does not name the sshd process: %s", text)
		}
	})
	t.Run("images", func(t *testing.T) {
		for tag, want := range map[string]testhost.Want{critest.Image: testhost.Fail("4.1"), critest.NonRoot: testhost.Pass("4.1")} {
			var found *assets.Asset
			for _, a := range rep.Assets {
				if a.Type == assets.Image && a.Name == tag {
					found = &a
				}
			}
			if found == nil {
				t.Fatalf("image %s is not among the assets", tag)
			}
			testhost.AssertVerdicts(t, testhost.Verdicts(t, rep, found.ID), []testhost.Want{want})
		}
	})
	// One list of containers, one of images, one verbose status per
	// container (and the version asked on connecting).
	if rep.RuntimeCallsByOp["ListContainers"] != 1 || rep.RuntimeCallsByOp["ListImages"] != 1 || rep.RuntimeCallsByOp["ContainerStatus"] != len(ids) {
		t.Errorf("runtime calls = %v, want one list each and %d statuses", rep.RuntimeCallsByOp, len(ids))
	}
}

func evidenceText(ev any) string {
	data, _ := json.Marshal(ev)
	return string(data)
}

// loose is a container that, without being privileged, adds capabilities,
// binds the host's /etc, a runtime's socket and a device, and shares a
// mount with the host.
func loose(t *testing.T, dir string) *runtimeapi.ContainerConfig {
	sock := filepath.Join(dir, "fake", "containerd.sock")
	shared := filepath.Join(dir, "shared")
	for _, d := range []string{filepath.Dir(sock), shared} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	critest.MakeShared(t, shared)
	return &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "loose"},
		Mounts: []*runtimeapi.Mount{
			{ContainerPath: "/host-etc", HostPath: "/etc", Readonly: true},
			{ContainerPath: "/run/containerd.sock", HostPath: sock},
			{ContainerPath: "/shared", HostPath: shared, Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
		},
		Devices: []*runtimeapi.Device{{ContainerPath: "/dev/xnull", HostPath: "/dev/null", Permissions: "rw"}},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"SYS_ADMIN", "NET_ADMIN"}}}}}
}

// waitComm waits until the container's first process has renamed itself.
func waitComm(t *testing.T, r *critest.Runtime, id, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pid := r.Pid(t, id)
		comm, _ := os.ReadFile(filepath.Join("/proc", pid, "comm"))
		if strings.TrimSpace(string(comm)) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s's process is named %q, not %q", id, comm, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRuntimeBesideDocker scans a host running the Docker engine and a
// containerd with its CRI service at once: each container is listed once,
// judged by the standard of what runs it (Docker's containers live in
// containerd's "moby" namespace, which the CRI, in "k8s.io", never shows).
func TestRuntimeBesideDocker(t *testing.T) {
	cli := dockertest.Engine(t)
	r := critest.Start(t)
	pod := r.RunPod(t, critest.Pod{Name: "beside"})
	criID := r.Create(t, pod, compliant("beside"), true)
	dockerID := dockertest.Create(t, cli, dockertest.Name("beside-cri"), &container.Config{Image: "baseline-test/base:1", Cmd: []string{"true"}}, &container.HostConfig{})

	rep, err := scan.Run(context.Background(), testhost.Builtin(t), scan.Options{Standards: []string{"cis-docker-1.6.0", "baseline-cri-1.0"},
		Types: []assets.Type{assets.Container}, CRIEndpoint: r.Socket, NoKube: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	ids := map[uint64]bool{}
	for _, a := range rep.Assets {
		seen[a.Ref]++
		if ids[a.ID] {
			t.Errorf("asset id %d listed twice", a.ID)
		}
		ids[a.ID] = true
	}
	for ref, n := range seen {
		if n != 1 {
			t.Errorf("container %s listed %d times", ref, n)
		}
	}
	for name, c := range map[string]struct {
		id, std string
	}{"the CRI's": {criID, "baseline-cri-1.0"}, "Docker's": {dockerID, "cis-docker-1.6.0"}} {
		if seen[c.id] != 1 {
			t.Errorf("%s container %s listed %d times, want once", name, c.id, seen[c.id])
			continue
		}
		id := assets.StableID(assets.Container, rep.Host.Ref, c.id)
		stds := map[string]bool{}
		for _, res := range rep.Results {
			if res.AssetID == id {
				stds[itemStandard(rep, res.ItemID)] = true
			}
		}
		if len(stds) != 1 || !stds[c.std] {
			t.Errorf("%s container judged by %v, want %s only", name, stds, c.std)
		}
	}
}

func itemStandard(rep *results.Report, item uint64) string {
	for _, it := range rep.Items {
		if it.ID == item {
			return it.Standard.ID
		}
	}
	return ""
}

// TestRuntimeHostItems judges the runtime's files on a node's host tree
// (a kubelet in its process table): audit rules for its binaries, its
// sockets' and configuration files' owners and modes; the items of a
// runtime that is not installed do not apply.
func TestRuntimeHostItems(t *testing.T) {
	testhost.RequireRoot(t, "the fixture's files are owned by root and by another user")
	dir, err := os.MkdirTemp("", "crihost")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	files := []struct {
		path    string
		mode    os.FileMode
		uid     int
		content string
	}{
		{"etc/passwd", 0o644, 0, "root:x:0:0:root:/root:/bin/sh\n"},
		{"etc/group", 0o644, 0, "root:x:0:\n"},
		{"etc/audit/audit.rules", 0o640, 0, "-w /usr/bin/containerd -p x -k container-runtime\n"},
		{"usr/bin/containerd", 0o755, 0, ""},
		{"usr/sbin/runc", 0o755, 0, ""},
		{"etc/containerd/config.toml", 0o666, 0, "version = 2\n"},
		{"etc/crio/crio.conf", 0o644, 1000, "[crio]\n"},
		{"proc/4100/cmdline", 0o644, 0, "/usr/bin/kubelet\x00--v=2"},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, f.uid, f.uid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/", filepath.Join(dir, "proc/4100/root")); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "run/containerd/containerd.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Chmod(sock, 0o660); err != nil {
		t.Fatal(err)
	}

	rep, err := scan.Run(context.Background(), testhost.Builtin(t), scan.Options{Standards: []string{"baseline-cri-1.0"},
		Types: []assets.Type{assets.K8s}, HostRoot: dir, NoDocker: true, NoKube: true, NoCRI: true})
	if err != nil {
		t.Fatal(err)
	}
	host := testhost.OnlyAsset(t, rep, assets.K8s)
	testhost.AssertVerdicts(t, testhost.Verdicts(t, rep, host.ID), []testhost.Want{
		testhost.Pass("1.1.4.1"), testhost.NA("1.1.4.2", "is not installed"), testhost.Fail("1.1.4.3"),
		testhost.Pass("3.23.1"), testhost.Pass("3.24.1"),
		testhost.NA("3.23.2", "does not exist"), testhost.NA("3.24.2", "does not exist"),
		testhost.Pass("3.23.3"), testhost.Fail("3.24.3"),
		testhost.Fail("3.23.4"), testhost.Pass("3.24.4"),
	})
}

// TestRuntimeUnreachable records a configured runtime that does not answer
// as the host's scan failure, with the reason.
func TestRuntimeUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	rep, err := scan.Run(context.Background(), testhost.Builtin(t), scan.Options{Standards: []string{"baseline-cri-1.0"},
		Types: []assets.Type{assets.Container}, CRIEndpoint: sock, NoDocker: true, NoKube: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0].Reason, "could not reach the container runtime: container runtime at "+sock) {
		t.Fatalf("failures = %+v, want the unreachable runtime", rep.Failures)
	}
}
