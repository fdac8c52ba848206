package scan

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/kubetest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
)

// Cluster size of BenchmarkClusterScan; BASELINE_BENCH_PODS sets another
// number of pods (a one-off run at 50,000, for the slope).
const (
	benchNamespaces   = 200
	benchClusterRoles = 500
	benchWorkers      = 8
)

var benchPods = benchPodCount()

func benchPodCount() int {
	if n, err := strconv.Atoi(os.Getenv("BASELINE_BENCH_PODS")); err == nil && n > 0 {
		return n
	}
	return 5000
}

// Targets of a cluster scan of 5,000 pods.
const (
	targetClusterRSSMiB = 80
	targetClusterWallMS = 1200
)

// BenchmarkClusterScan scans a private API server holding 200 namespaces
// (half with a network policy), 5,000 pods (one in ten breaking some pod
// item) and 500 cluster roles with every section 5 item of CIS Kubernetes
// 2.0 (the standard the server's version maps to). It reports per scan the API calls, the peak Go heap (sampled every
// 5 ms) and the process's peak resident set (VmHWM, reset before each
// scan). Setup is not timed.
//
//	go test ./scan -run '^$' -bench BenchmarkClusterScan -benchtime 3x
func BenchmarkClusterScan(b *testing.B) {
	bin := kubetest.Require(b)
	s, err := kubetest.Start(bin, b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Stop)
	start := time.Now()
	populateBenchCluster(b, s)
	b.Logf("created %d namespaces, %d pods, %d cluster roles in %s", benchNamespaces, benchPods, benchClusterRoles, time.Since(start).Round(time.Millisecond))

	cat := testhost.Builtin(b)
	items := policyItems(b, cat)
	var ids []uint64
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	// A sub-benchmark, so that the cluster is populated once however many
	// rounds the timing takes.
	b.Run("section5", func(b *testing.B) {
		var calls int64
		var peakHeap uint64
		var peakRSS int64
		var wall time.Duration
		for range b.N {
			b.StopTimer()
			runtime.GC()
			resetPeakRSS()
			stop := sampleHeap(&peakHeap)
			b.StartTimer()
			start := time.Now()
			rep, err := Run(context.Background(), cat, Options{NoDocker: true, HostRoot: b.TempDir(), Kube: kube.Options{Kubeconfig: s.Kubeconfig},
				Types: []assets.Type{assets.K8s}, Standards: []string{cisKube}, Items: ids})
			wall += time.Since(start)
			b.StopTimer()
			stop()
			if err != nil {
				b.Fatal(err)
			}
			if rss := peakRSSKiB(); rss > peakRSS {
				peakRSS = rss
			}
			calls += rep.KubeCalls
			checkBenchResults(b, rep, len(ids))
			b.StartTimer()
		}
		b.ReportMetric(float64(calls)/float64(b.N), "apicalls/op")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
		if peakRSS > 0 {
			b.ReportMetric(float64(peakRSS)/1024, "peak-rss-MiB")
		}
		b.Logf("cluster scan, %d pods, %d cluster roles, %d namespaces: wall %d ms (target ≤ %d at 5,000 pods), peak RSS %.1f MiB (target ≤ %d), peak heap %.1f MiB, %.0f API calls",
			benchPods, benchClusterRoles, benchNamespaces, (wall / time.Duration(b.N)).Milliseconds(), targetClusterWallMS,
			float64(peakRSS)/1024, targetClusterRSSMiB, float64(peakHeap)/(1<<20), float64(calls)/float64(b.N))
		b.StopTimer()
		profileClusterScan(b, func() {
			if _, err := Run(context.Background(), cat, Options{NoDocker: true, HostRoot: b.TempDir(), Kube: kube.Options{Kubeconfig: s.Kubeconfig},
				Types: []assets.Type{assets.K8s}, Standards: []string{cisKube}, Items: ids}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// profileClusterScan runs one more scan (not in the figures) under the CPU
// profiler and between two snapshots of the allocation profile, and prints
// where its time and its allocations went.
func profileClusterScan(b *testing.B, scan func()) {
	b.Helper()
	dir := testhost.Artifacts(b)
	cpu, before, after := filepath.Join(dir, "cluster-scan.cpu.pprof"), filepath.Join(dir, "cluster-scan.allocs-before.pprof"), filepath.Join(dir, "cluster-scan.allocs.pprof")
	snapshot := func(file string) {
		runtime.GC()
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
	snapshot(before)
	f, err := os.Create(cpu)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	scan()
	pprof.StopCPUProfile()
	f.Close()
	snapshot(after)
	testhost.LogProfile(b, "cluster scan, CPU by step (cumulative)", cpu, 22, "-cum", "-show", `baseline/[a-z/]+\.|gcBgMarkWorker|json\.Unmarshal|jsonpath\.\(\*JSONPath\)\.Execute|net/http\.\(\*Transport\)\.RoundTrip`)
	testhost.LogProfile(b, "cluster scan, allocations by function", after, 15, "-sample_index=alloc_space", "-diff_base", before)
}

// checkBenchResults guards that the scan judged what was created: every
// item has a result on the cluster and the pod items failed as planted.
func checkBenchResults(b *testing.B, rep *results.Report, items int) {
	b.Helper()
	if len(rep.Failures) != 0 || len(rep.Results) != items {
		b.Fatalf("%d results for %d items, failures %+v", len(rep.Results), items, rep.Failures)
	}
	for _, r := range rep.Results {
		if r.Status != checks.CheckFinished {
			b.Fatalf("item %d: %s %s", r.ItemID, r.Status, r.Reason)
		}
		if len(r.Evidence) > 0 && strings.HasSuffix(r.Evidence[0].Actual, " pods pass") && !strings.HasSuffix(r.Evidence[0].Actual, fmt.Sprintf("of %d pods pass", benchPods)) {
			b.Fatalf("item %d judged %q, want all %d pods", r.ItemID, r.Evidence[0].Actual, benchPods)
		}
	}
}

// populateBenchCluster creates the objects with a few concurrent workers.
func populateBenchCluster(b *testing.B, s *kubetest.Server) {
	b.Helper()
	ctx := context.Background()
	cs := s.Client()
	parallel := func(n int, f func(i int) error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		var once sync.Once
		var first error
		for range benchWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					if err := f(i); err != nil {
						once.Do(func() { first = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		if first != nil {
			b.Fatal(first)
		}
	}
	nsName := func(i int) string { return fmt.Sprintf("team-%03d", i) }
	parallel(benchNamespaces, func(i int) error {
		if err := s.Namespace(nsName(i)); err != nil {
			return err
		}
		if i%2 == 1 {
			return nil
		}
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: nsName(i), Name: "default-deny"},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
		_, err := cs.NetworkingV1().NetworkPolicies(nsName(i)).Create(ctx, np, metav1.CreateOptions{})
		return err
	})
	parallel(benchPods, func(i int) error {
		p := hardenedPod(nsName(i%benchNamespaces), fmt.Sprintf("web-%04d", i))
		p.Spec.ServiceAccountName = "default"
		p.Spec.AutomountServiceAccountToken = boolp(false)
		p.Spec.Containers = append(p.Spec.Containers, *p.Spec.Containers[0].DeepCopy())
		p.Spec.Containers[1].Name = "sidecar"
		p.Spec.Containers[1].Ports = nil
		p.Labels = map[string]string{"app": "web", "shard": strconv.Itoa(i % 16)}
		if i%10 == 0 { // one in ten breaks a few pod items
			c := &p.Spec.Containers[1]
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
			c.Env = []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "api"}, Key: "token"}}}}
		}
		_, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	parallel(benchClusterRoles, func(i int) error {
		r := clusterRole(fmt.Sprintf("app-role-%03d", i),
			rule([]string{"", "apps"}, []string{"pods", "services", "deployments", "configmaps"}, []string{"get", "list", "watch"}),
			rule([]string{"batch"}, []string{"jobs", "cronjobs"}, []string{"get", "list", "create", "delete"}))
		if i%25 == 0 {
			r.Rules = append(r.Rules, rule([]string{""}, []string{"secrets"}, []string{"get"}))
		}
		_, err := cs.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{})
		return err
	})
}

// sampleHeap records the largest live heap seen until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > *peak {
				*peak = ms.HeapAlloc
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// resetPeakRSS resets the kernel's high-water mark of the resident set
// (Linux; elsewhere it does nothing and the peak covers the whole run).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSKiB reads VmHWM, the peak resident set, or 0 where unavailable.
func peakRSSKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
