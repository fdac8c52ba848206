// Package dockertest gives tests a real Docker engine and the local test
// images (built from their recipes in testdata/docker/images by
// testdata/docker/build-images.sh, no registry needed), and creates
// containers that are removed when the test ends.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/baselinehq/baseline/internal/testhost"
)

// Images are the local test images, one per recipe directory
// testdata/docker/images/NAME, each tagged baseline-test/NAME:1.
var Images = images()

func images() []string {
	entries, err := os.ReadDir(filepath.Join(repoRoot(), "testdata", "docker", "images"))
	if err != nil {
		panic(fmt.Sprintf("dockertest: the test image recipes: %v", err))
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, "baseline-test/"+e.Name()+":1")
		}
	}
	return out
}

// Label marks every container a test creates.
const Label = "io.baselinehq.test"

// Engine returns a client of the local engine, with the test images built
// from their current recipes. In a unit run (testhost.UnitRun) the test is
// skipped without looking for an engine; without one, the test fails in CI
// and is skipped elsewhere, with a message saying how to start one.
func Engine(t testing.TB) *client.Client {
	t.Helper()
	testhost.Needs(t, "a Docker engine")
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx)
	}
	if err != nil {
		testhost.Missing(t, fmt.Sprintf("no Docker engine: %v", err), "start dockerd, or run make test-env as root")
	}
	t.Cleanup(func() { cli.Close() })
	ensureImages(t, cli)
	return cli
}

var (
	buildOnce sync.Once
	buildErr  error
)

// ensureImages runs the build script once per test process: it builds the
// images whose recipe changed since their last build (their tag is a
// hash of the recipe) and reuses the others.
func ensureImages(t testing.TB, cli *client.Client) {
	t.Helper()
	script := filepath.Join(repoRoot(), "testdata", "docker", "build-images.sh")
	buildOnce.Do(func() {
		if out, err := exec.Command("bash", script).CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building test images with %s: %v\n%s", script, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	for _, ref := range Images {
		if _, err := cli.ImageInspect(context.Background(), ref); err != nil {
			t.Fatalf("test image %s after %s: %v", ref, script, err)
		}
	}
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Create creates (does not start) a container and removes it at cleanup.
func Create(t testing.TB, cli *client.Client, name string, cfg *container.Config, hc *container.HostConfig) string {
	t.Helper()
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Labels[Label] = "1"
	ctx := context.Background()
	_ = cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true})
	resp, err := cli.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	})
	return resp.ID
}

// Start starts a created container.
func Start(t testing.TB, cli *client.Client, id string) {
	t.Helper()
	if err := cli.ContainerStart(context.Background(), id, container.StartOptions{}); err != nil {
		t.Fatalf("start container %s: %v", id, err)
	}
}

// Name makes a container name unique to this test process.
func Name(prefix string) string { return fmt.Sprintf("bltest-%s", prefix) }

// Fault says what a proxy does to one request: wait, then drop the
// connection (as an engine that stopped would) or forward it.
type Fault func(r *http.Request) (delay time.Duration, drop bool)

// Proxy serves the engine's API on a new unix socket, applying fault to
// each request, and returns the socket's path.
func Proxy(t testing.TB, cli *client.Client, fault Fault) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse("http://docker")
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = cli.HTTPClient().Transport
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delay, drop := fault(r)
		time.Sleep(delay)
		if drop {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return sock
}

// InspectPath matches container and image inspect requests.
var InspectPath = regexp.MustCompile(`^/v[0-9.]+/(containers|images)/[^/]+/json$`)

// File is a file to copy into a container.
type File struct {
	Path string
	Mode int64
	Data []byte
}

// CopyFiles copies files into a container (created or running), making
// their directories.
func CopyFiles(t testing.TB, cli *client.Client, id string, files []File) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		name := strings.TrimPrefix(f.Path, "/")
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		hdr := &tar.Header{Name: strings.TrimPrefix(f.Path, "/"), Typeflag: tar.TypeReg, Mode: f.Mode, Size: int64(len(f.Data))}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cli.CopyToContainer(context.Background(), id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		t.Fatalf("copy into container %s: %v", id, err)
	}
}
