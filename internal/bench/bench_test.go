// Package bench measures whole scans of a real engine, and the idle
// daemon, by running the baseline binary: wall time, CPU time, peak RSS and
// Engine API calls (counted by a proxy in front of the engine's socket).
// Each figure is printed beside its target. Run with `make bench`.
package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"golang.org/x/sys/unix"

	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/residency"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/internal/testhost"
)

// benchLabel marks the containers and images this process creates (its
// value is the process id), so that cleanup removes only those.
const benchLabel = "io.baselinehq.bench"

// Targets of the host scan (200 containers and 50 images, all standards)
// and of the idle daemon.
const (
	targetWallMS       = 300
	targetCPUMS        = 250
	targetRSSMB        = 40
	targetRSSEmptyMB   = 25
	targetIdleDaemonMB = 20
)

// BenchmarkScan scans this host with every standard at 0, 50 and 200
// created containers beside 50 imported images, through a counting proxy
// in front of the engine. Each sub-benchmark has its own store, filled by
// one untimed scan first, as a periodic scan finds it (the images'
// setuid files already cached). The engine is shared: containers that
// others created are scanned too, and the asset count says how many.
func BenchmarkScan(b *testing.B) {
	cli := dockertest.Engine(b)
	bin := testbin.Path(b)
	ctx := context.Background()
	mark := strconv.Itoa(os.Getpid())
	b.Cleanup(func() { cleanup(ctx, cli, mark) })
	importImages(b, cli, 50, mark)
	calls := &apiCalls{byOp: map[string]int{}}
	sock := dockertest.Proxy(b, cli, func(r *http.Request) (time.Duration, bool) {
		calls.add(r)
		return 0, false
	})
	have, profiled := 0, false
	for _, n := range []int{0, 50, 200} {
		for ; have < n; have++ {
			cfg := &container.Config{Image: "baseline-test/base:1", Cmd: []string{"sleep", "1"}, Labels: map[string]string{benchLabel: mark}}
			if _, err := cli.ContainerCreate(ctx, cfg, &container.HostConfig{}, nil, nil, fmt.Sprintf("blbench-%s-%03d", mark, have)); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			data := filepath.Join(b.TempDir(), "data")
			if err := os.Mkdir(data, 0o700); err != nil {
				b.Fatal(err)
			}
			var split residentSplit // the peak's private and executable parts, across the timed scans
			scan := func(extra ...string) (rusage *syscall.Rusage, wall time.Duration, assets int) {
				out := filepath.Join(b.TempDir(), "report.json")
				cmd := exec.Command(bin, append([]string{"scan", "--format", "json", "--output", out, "--progress", "never", "--data-dir", data}, extra...)...)
				cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sock)
				cmd.Stderr = os.Stderr
				rusage, wall, err := measuredRun(b, cmd, &split)
				if err != nil {
					b.Fatalf("scan: %v", err)
				}
				var doc struct{ Assets []json.RawMessage }
				data, err := os.ReadFile(out)
				if err == nil {
					err = json.Unmarshal(data, &doc)
				}
				if err != nil {
					b.Fatal(err)
				}
				return rusage, wall, len(doc.Assets)
			}
			// The executable as a periodic job finds it on a host, read
			// back from disk, not as the build just wrote it (which the
			// kernel maps in smaller pieces: a few MB less resident).
			evictPageCache(b, bin)
			scan() // the store and the image files cache, as a periodic scan finds them
			calls.reset()
			split = residentSplit{}
			var fig runFigures
			var assets int
			b.ResetTimer()
			for range b.N {
				ru, w, a := scan()
				fig.add(ru, w)
				assets = a
			}
			wall, cpu, rss := fig.report(b, &split)
			total, byOp := calls.get()
			perOp := float64(total) / float64(b.N)
			b.ReportMetric(perOp, "api-calls/op")
			b.ReportMetric(float64(assets), "assets")
			if n == 0 {
				b.Logf("host scan, no container (%d assets): peak RSS %.1f MB (target ≤ %d MB); wall %.0f ms, CPU %.0f ms, %.0f Engine API calls",
					assets, rss, targetRSSEmptyMB, wall, cpu, perOp)
			} else {
				b.Logf("host scan, %d containers + 50 images (%d assets): wall %.0f ms (target ≤ %d), CPU %.0f ms (target ≤ %d), peak RSS %.1f MB (target ≤ %d), %.0f Engine API calls (floor: one list per kind and one inspect per asset)",
					n, assets, wall, targetWallMS, cpu, targetCPUMS, rss, targetRSSMB, perOp)
			}
			b.Logf("peak RSS %.1f MB: private memory (heap, stacks, SQLite) up to %.1f MB, the executable's mapped pages up to %.1f MB (sampled every 2 ms)",
				rss, split.anonMB(), split.fileMB())
			b.Logf("Engine API calls per scan by operation: %s", formatOps(byOp, b.N))
			if n == 200 && !profiled {
				profiled = true
				// One more scan, profiled (not in the figures above): where
				// the time and the allocations go.
				b.StopTimer()
				dir := testhost.Artifacts(b)
				cpu, heap := filepath.Join(dir, "host-scan.cpu.pprof"), filepath.Join(dir, "host-scan.heap.pprof")
				scan("--cpu-profile", cpu, "--heap-profile", heap)
				testhost.LogProfile(b, "host scan, CPU by step (cumulative)", cpu, 22, "-cum", "-show", profileSteps)
				testhost.LogProfile(b, "host scan, allocations by function", heap, 15, "-sample_index=alloc_space")
			}
		})
		if n == 200 {
			b.Run("containers=200,upload", func(b *testing.B) { benchUpload(b, bin, sock) })
		}
	}
}

// benchUpload times `scan --server` of this host (the engine behind sock)
// to a daemon on an empty store, which records each upload as a task: the
// node's side of a fleet, which keeps no store of its own.
func benchUpload(b *testing.B, bin, sock string) {
	const id, key = "AKIDbenchupload00000000000000000000000", "benchuploadbenchuploadbenchupl00"
	addr, _, stop := startServe(b, bin, "api:\n  keys:\n    - secret_id: "+id+"\n      secret_key: "+key+"\n")
	defer stop()
	var split residentSplit
	scan := func() (*syscall.Rusage, time.Duration) {
		cmd := exec.Command(bin, "--server", "http://"+addr, "scan", "--format", "json", "--output", filepath.Join(b.TempDir(), "report.json"), "--progress", "never")
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sock, "BASELINE_SECRET_ID="+id, "BASELINE_SECRET_KEY="+key)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		ru, wall, err := measuredRun(b, cmd, &split)
		if err != nil || !strings.Contains(stderr.String(), "(upload) on") {
			b.Fatalf("scan --server: %v: %s", err, stderr.String())
		}
		return ru, wall
	}
	scan() // as the other scans: the executable read back, the daemon's store created
	split = residentSplit{}
	var fig runFigures
	b.ResetTimer()
	for range b.N {
		fig.add(scan())
	}
	wall, cpu, rss := fig.report(b, &split)
	b.Logf("scan --server of 200 containers + 50 images, uploaded to a daemon: wall %.0f ms, CPU %.0f ms, peak RSS %.1f MB (private %.1f, executable %.1f), the node's side only",
		wall, cpu, rss, split.anonMB(), split.fileMB())
}

// measuredRun runs cmd to its end, started by startMeasured, its resident
// set sampled into split when split is not nil, and returns its resource
// usage and wall time.
func measuredRun(b *testing.B, cmd *exec.Cmd, split *residentSplit) (*syscall.Rusage, time.Duration, error) {
	start := time.Now()
	if err := startMeasured(b, cmd); err != nil {
		return nil, 0, err
	}
	stop := func() {}
	if split != nil {
		stop = split.sample(cmd.Process.Pid)
	}
	err := cmd.Wait()
	stop()
	if err != nil {
		return nil, 0, err
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage), time.Since(start), nil
}

// runFigures are the timed runs' CPU and wall time, summed, and their peak
// RSS.
type runFigures struct {
	n              int
	cpu, wall, rss float64 // ms, ms, MB
}

func (f *runFigures) add(ru *syscall.Rusage, wall time.Duration) {
	f.n++
	f.cpu += float64(time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Milliseconds())
	f.wall += float64(wall.Milliseconds())
	f.rss = max(f.rss, float64(ru.Maxrss)/1024)
}

// report reports the figures per run (and the peak's private and
// executable parts when split is not nil) and returns the wall and CPU
// milliseconds per run and the peak RSS.
func (f *runFigures) report(b *testing.B, split *residentSplit) (wall, cpu, rss float64) {
	wall, cpu, rss = f.wall/float64(f.n), f.cpu/float64(f.n), f.rss
	b.ReportMetric(wall, "wall-ms/op")
	b.ReportMetric(cpu, "cpu-ms/op")
	b.ReportMetric(rss, "peak-rss-MB")
	if split != nil {
		b.ReportMetric(split.anonMB(), "peak-anon-MB")
		b.ReportMetric(split.fileMB(), "peak-file-MB")
	}
	return wall, cpu, rss
}

// profileSteps names the functions that show a scan's steps in a CPU
// profile: this project's own, the garbage collector's workers, and the
// libraries' entry points (YAML and JSON decoding, JSON paths, SQLite).
const profileSteps = `baseline/[a-z/]+\.|gcBgMarkWorker|yaml%2ev3\.Unmarshal|json\.Unmarshal|json\.Marshal|jsonpath\.\(\*JSONPath\)\.Execute|sqlite\.\(\*conn\)`

// BenchmarkServeIdle starts `baseline serve` on an empty store and reads
// its resident set after 5 s without requests.
func BenchmarkServeIdle(b *testing.B) {
	bin := testbin.Path(b)
	var rss, anon, file float64
	for range b.N {
		r, a, f := idleDaemon(b, bin)
		rss, anon, file = max(rss, r), max(anon, a), max(file, f)
	}
	b.ReportMetric(rss, "idle-rss-MB")
	b.ReportMetric(anon, "idle-rss-anon-MB")
	b.ReportMetric(file, "idle-rss-file-MB")
	b.Logf("idle daemon: RSS %.1f MB (target ≤ %d MB): %.1f MB anonymous (heap, stacks), %.1f MB of the binary's pages",
		rss, targetIdleDaemonMB, anon, file)
}

func idleDaemon(b *testing.B, bin string) (rss, anon, file float64) {
	_, pid, stop := startServe(b, bin, "api:\n  keys:\n    - secret_id: AKIDbenchidle000000000000000000000000\n      secret_key: benchidlebenchidlebenchidle00000\n")
	defer stop()
	time.Sleep(5 * time.Second)
	st := procStatus(b, pid)
	return st["VmRSS"] / 1024, st["RssAnon"] / 1024, st["RssFile"] / 1024
}

// startServe starts `baseline serve` on a store of its own, configured
// with conf (its API keys) beside a quiet log, and waits until it listens.
// stop ends it.
func startServe(b *testing.B, bin, conf string) (addr string, pid int, stop func()) {
	dir := b.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("log_level: warn\nlog_format: text\n"+conf), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg, "--listen", addr, "--data-dir", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "none"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			conn.Close()
			return addr, cmd.Process.Pid, stop
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("baseline serve did not listen on %s within 30s\n%s", addr, out.String())
		}
	}
}

// evictPageCache drops the file's pages from the kernel's page cache
// (written back first: a dirty page stays).
func evictPageCache(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}

// residentSplit is the most of a process's resident set seen in each
// part: private (anonymous) memory, and the mapped pages of files (the
// executable, which the kernel maps in 64 KB windows around each page the
// process reads, and the store's shared memory).
type residentSplit struct {
	mu         sync.Mutex
	anon, file float64 // kB
}

// sample reads /proc/PID/status every 2 ms until the returned stop is
// called.
func (r *residentSplit) sample(pid int) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			if raw, err := os.ReadFile(path); err == nil {
				st := parseStatus(raw)
				r.mu.Lock()
				r.anon, r.file = max(r.anon, st["RssAnon"]), max(r.file, st["RssFile"]+st["RssShmem"])
				r.mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); <-finished }
}

func (r *residentSplit) anonMB() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.anon / 1024
}

func (r *residentSplit) fileMB() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.file / 1024
}

// procStatus reads the kB figures of /proc/PID/status.
// startMeasured starts cmd so that the peak RSS of its rusage is its own.
// os/exec starts a child on this process's memory (vfork), and Linux keeps
// the peak resident set of the memory a process leaves at exec as the
// starting peak of the program it runs: a child's ru_maxrss is never below
// this process's peak. The peak is reset to this process's resident set
// first (clear_refs), after this process gives back what it can, and is
// then the least a child's figure can be: it must stay well below a
// scan's own start-up (about 25 MB), or the benchmark fails.
func startMeasured(b *testing.B, cmd *exec.Cmd) error {
	debug.FreeOSMemory()
	_, _ = residency.UnmapExecutable() // this test binary's own pages: most of its resident set
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting this process's peak resident set: %v", err)
	}
	if st := procStatus(b, os.Getpid()); st["VmHWM"]/1024 > 20 {
		b.Fatalf("this process holds %.1f MB (%.1f MB private), which a scan's peak RSS could not be told from", st["VmHWM"]/1024, st["RssAnon"]/1024)
	}
	return cmd.Start()
}

func procStatus(b *testing.B, pid int) map[string]float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	return parseStatus(raw)
}

// parseStatus reads the kB figures of a /proc/PID/status file.
func parseStatus(raw []byte) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasSuffix(v, " kB") {
			continue
		}
		if n, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, " kB")), 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// apiCalls counts the requests that reach the engine, by method and path
// shape.
type apiCalls struct {
	mu    sync.Mutex
	total int
	byOp  map[string]int
}

var (
	apiVersion = regexp.MustCompile(`^/v[0-9.]+`)
	objectID   = regexp.MustCompile(`^/(containers|images)/[^/]+/`)
)

func (c *apiCalls) add(r *http.Request) {
	p := apiVersion.ReplaceAllString(r.URL.Path, "")
	p = objectID.ReplaceAllString(p, "/$1/{id}/")
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	c.byOp[r.Method+" "+p]++
}

func (c *apiCalls) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total, c.byOp = 0, map[string]int{}
}

func (c *apiCalls) get() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	by := make(map[string]int, len(c.byOp))
	for k, v := range c.byOp {
		by[k] = v
	}
	return c.total, by
}

func formatOps(byOp map[string]int, n int) string {
	ops := make([]string, 0, len(byOp))
	for op := range byOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for i, op := range ops {
		ops[i] = fmt.Sprintf("%s %.0f", op, float64(byOp[op])/float64(n))
	}
	return strings.Join(ops, ", ")
}

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// importImages imports n small distinct images (one file each).
func importImages(b *testing.B, cli *client.Client, n int, mark string) {
	ctx := context.Background()
	for i := 0; i < n; i++ {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		body := []byte(fmt.Sprintf("bench image %s %d\n", mark, i))
		_ = tw.WriteHeader(&tar.Header{Name: "id.txt", Mode: 0o644, Size: int64(len(body))})
		_, _ = tw.Write(body)
		_ = tw.Close()
		rc, err := cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, fmt.Sprintf("baseline-bench/img-%s:%d", mark, i),
			image.ImportOptions{Changes: []string{"LABEL " + benchLabel + "=" + mark}})
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, rc)
		rc.Close()
	}
}

// cleanup removes the containers and images this process created.
func cleanup(ctx context.Context, cli *client.Client, mark string) {
	only := filters.NewArgs(filters.Arg("label", benchLabel+"="+mark))
	list, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: only})
	for _, c := range list {
		_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	imgs, _ := cli.ImageList(ctx, image.ListOptions{Filters: only})
	for _, im := range imgs {
		_, _ = cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	}
}
