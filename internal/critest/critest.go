// Package critest gives tests a real containerd with its CRI service,
// started in a private root, state directory and socket, with a busybox
// image imported from a local tarball (no registry), and creates pod
// sandboxes and containers through the CRI that are removed when the test
// ends.
package critest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/baselinehq/baseline/internal/testhost"
)

// The images imported into every test runtime, built from the host's
// busybox: Image runs as root, NonRoot as uid 65534. Both sleep by
// default, so that Image also serves as the pods' sandbox image.
const (
	Image   = "docker.io/baseline-test/cri-busybox:1"
	NonRoot = "docker.io/baseline-test/cri-nonroot:1"
)

// Runtime is a containerd started for one test.
type Runtime struct {
	// Dir holds its root, state, configuration and socket.
	Dir string
	// Socket is its CRI (and containerd API) socket.
	Socket string
	RT     runtimeapi.RuntimeServiceClient
	conn   *grpc.ClientConn
	cmd    *exec.Cmd
	done   chan struct{}
	// Version is containerd's version.
	Version string
}

// Start starts containerd with its CRI service for the test, and stops it
// (removing every pod the test made) when the test ends. Without containerd,
// runc or busybox the test fails in CI and skips elsewhere.
func Start(t testing.TB) *Runtime {
	t.Helper()
	testhost.Needs(t, "containerd and runc")
	testhost.RequireRoot(t, "containerd runs containers as root")
	for _, bin := range []string{"containerd", "ctr", "runc", "busybox"} {
		if _, err := exec.LookPath(bin); err != nil {
			testhost.Missing(t, bin+" is not installed", "install Debian's containerd, runc and busybox-static, or run scripts/test-env.sh")
		}
	}
	dir, err := os.MkdirTemp("", "critest")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runtime{Dir: dir, Socket: filepath.Join(dir, "containerd.sock"), done: make(chan struct{})}
	if err := r.writeConfig(); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	r.cmd.Stdout, r.cmd.Stderr = log, log
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting containerd: %v", err)
	}
	go func() { _ = r.cmd.Wait(); log.Close(); close(r.done) }()
	t.Cleanup(func() { r.stop(t) })
	if err := r.connect(); err != nil {
		t.Fatalf("containerd did not come up: %v\n%s", err, r.logTail())
	}
	if err := r.importImages(); err != nil {
		t.Fatalf("importing the test images: %v\n%s", err, r.logTail())
	}
	return r
}

// writeConfig writes containerd's configuration: everything under Dir
// (runc's state too, apart from a host's own containerd), the
// CRI service with the test image as its sandbox image, and a CNI
// configuration whose plugin gives each pod its own network namespace
// without touching the host's network (see fakeCNI).
func (r *Runtime) writeConfig() error {
	for _, d := range []string{"cni/bin", "cni/conf"} {
		if err := os.MkdirAll(filepath.Join(r.Dir, d), 0o755); err != nil {
			return err
		}
	}
	for _, name := range []string{"baseline-test-net", "loopback"} {
		if err := os.WriteFile(filepath.Join(r.Dir, "cni/bin", name), []byte(fakeCNI), 0o755); err != nil {
			return err
		}
	}
	conf := `{"cniVersion": "0.4.0", "name": "baseline-test", "plugins": [{"type": "baseline-test-net"}]}`
	if err := os.WriteFile(filepath.Join(r.Dir, "cni/conf/10-test.conflist"), []byte(conf), 0o644); err != nil {
		return err
	}
	// restrict_oom_score_adj: a sandbox asks for oom_score_adj -998, which
	// a machine whose root may not lower scores refuses; restricted, it
	// keeps containerd's own.
	cfg := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[6]q
    conf_dir = %[7]q
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = %[8]q
`, filepath.Join(r.Dir, "root"), filepath.Join(r.Dir, "state"), r.Socket, r.Socket+".ttrpc", Image,
		filepath.Join(r.Dir, "cni/bin"), filepath.Join(r.Dir, "cni/conf"), filepath.Join(r.Dir, "runc"))
	return os.WriteFile(filepath.Join(r.Dir, "config.toml"), []byte(cfg), 0o600)
}

// fakeCNI is a CNI plugin for tests: it reports an address on the
// interface it is asked for and configures nothing, so a pod gets its own
// (empty) network namespace and the host's network is left alone.
const fakeCNI = `#!/bin/sh
case "$CNI_COMMAND" in
ADD)
  addr=10.255.0.2/24
  [ "$CNI_IFNAME" = lo ] && addr=127.0.0.1/8
  printf '{"cniVersion":"0.4.0","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"version":"4","address":"%s","interface":0}],"dns":{}}' "$CNI_IFNAME" "$CNI_NETNS" "$addr" ;;
VERSION)
  printf '{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0"]}' ;;
esac
exit 0
`

func (r *Runtime) connect() error {
	conn, err := grpc.NewClient("unix://"+r.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	r.conn, r.RT = conn, runtimeapi.NewRuntimeServiceClient(conn)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, err := r.RT.Version(ctx, &runtimeapi.VersionRequest{})
		cancel()
		if err == nil {
			r.Version = v.RuntimeVersion
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("containerd exited")
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (r *Runtime) logTail() string {
	data, _ := os.ReadFile(filepath.Join(r.Dir, "containerd.log"))
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// stop removes every pod (and so every container) the test made, stops
// containerd and removes its directory.
func (r *Runtime) stop(t testing.TB) {
	if r.RT != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		pods, err := r.RT.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		if err == nil {
			for _, p := range pods.Items {
				if _, err := r.RT.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
					t.Logf("stopping pod %s: %v", p.Id, err)
				}
				if _, err := r.RT.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
					t.Logf("removing pod %s: %v", p.Id, err)
				}
			}
		}
		cancel()
		_ = r.conn.Close()
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	if err := os.RemoveAll(r.Dir); err != nil {
		t.Logf("removing the runtime's directory: %v", err)
	}
}

// importImages imports the test images from a tarball built here.
func (r *Runtime) importImages() error {
	tarball := filepath.Join(r.Dir, "images.tar")
	if err := writeImages(tarball); err != nil {
		return err
	}
	out, err := exec.Command("ctr", "-a", r.Socket, "-n", "k8s.io", "images", "import", tarball).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images import: %v: %s", err, out)
	}
	return nil
}

// writeImages writes a docker-save archive of the two test images: one
// layer holding the host's busybox with a few applets, passwd and group.
func writeImages(path string) error {
	layer, err := busyboxLayer()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []entry
	for i, im := range []struct{ tag, user string }{{Image, ""}, {NonRoot, "65534"}} {
		cfg, _ := json.Marshal(map[string]any{
			"architecture": runtime.GOARCH, "os": "linux",
			"config": map[string]any{"Cmd": []string{"/bin/sleep", "2147483647"}, "User": im.user},
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		})
		name := fmt.Sprintf("config%d.json", i)
		if err := add(name, cfg); err != nil {
			return err
		}
		manifest = append(manifest, entry{Config: name, RepoTags: []string{strings.TrimPrefix(im.tag, "docker.io/")}, Layers: []string{"layer.tar"}})
	}
	if err := add("layer.tar", layer); err != nil {
		return err
	}
	m, _ := json.Marshal(manifest)
	if err := add("manifest.json", m); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o600)
}

func busyboxLayer() ([]byte, error) {
	bbPath, err := exec.LookPath("busybox")
	if err != nil {
		return nil, err
	}
	bb, err := os.ReadFile(bbPath)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, d := range []string{"bin/", "etc/", "tmp/", "proc/", "dev/", "sys/", "root/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, bb},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg, ModTime: epoch}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	for _, app := range []string{"sh", "sleep", "cat", "true", "echo", "printf", "ls"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + app, Linkname: "busybox", Mode: 0o777, Typeflag: tar.TypeSymlink, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
