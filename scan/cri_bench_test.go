package scan

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/critest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
)

// benchRuntimeContainers run in benchRuntimePods pods of a test containerd.
const (
	benchRuntimeContainers = 200
	benchRuntimePods       = 4
)

// BenchmarkRuntimeScan scans 200 running containers of a real containerd
// through the CRI with every item of the runtime standard (5.7 reading
// each container's processes): wall time, CPU, allocations, peak heap and
// RSS, and CRI calls per scan.
func BenchmarkRuntimeScan(b *testing.B) {
	r := critest.Start(b)
	start := time.Now()
	for p := range benchRuntimePods {
		sb := r.RunPod(b, critest.Pod{Name: fmt.Sprintf("bench-%d", p)})
		for c := range benchRuntimeContainers / benchRuntimePods {
			r.Create(b, sb, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: fmt.Sprintf("c%03d", c)},
				Command: []string{"/bin/sleep", "2147483647"}}, true)
		}
	}
	b.Logf("created %d containers in %d pods in %s", benchRuntimeContainers, benchRuntimePods, time.Since(start).Round(time.Millisecond))
	cat := testhost.Builtin(b)
	b.Run(fmt.Sprintf("containers=%d", benchRuntimeContainers), func(b *testing.B) {
		b.ReportAllocs()
		var calls int64
		var peakHeap uint64
		var peakRSS int64
		var cpu time.Duration
		for range b.N {
			b.StopTimer()
			runtime.GC()
			resetPeakRSS()
			stop := sampleHeap(&peakHeap)
			before := cpuTime()
			b.StartTimer()
			rep, err := Run(context.Background(), cat, Options{Standards: []string{"baseline-cri-1.0"}, Types: []assets.Type{assets.Container},
				CRIEndpoint: r.Socket, NoDocker: true, NoKube: true})
			b.StopTimer()
			cpu += cpuTime() - before
			stop()
			if err != nil {
				b.Fatal(err)
			}
			if rss := peakRSSKiB(); rss > peakRSS {
				peakRSS = rss
			}
			checkRuntimeBench(b, rep)
			calls += rep.RuntimeCalls
			b.StartTimer()
		}
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		b.ReportMetric(float64(calls)/float64(b.N), "cri-calls/op")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
		if peakRSS > 0 {
			b.ReportMetric(float64(peakRSS)/1024, "peak-rss-MiB")
		}
	})
}

// checkRuntimeBench guards that the scan judged what was created: every
// container, every item carried out.
func checkRuntimeBench(b *testing.B, rep *results.Report) {
	b.Helper()
	if len(rep.Assets) != benchRuntimeContainers || len(rep.Failures) > 0 {
		b.Fatalf("%d assets, want %d containers; failures %+v", len(rep.Assets), benchRuntimeContainers, rep.Failures)
	}
	for _, r := range rep.Results {
		if r.Status != checks.CheckFinished {
			b.Fatalf("item %d on %d: %s %s", r.ItemID, r.AssetID, r.Status, r.Reason)
		}
	}
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
