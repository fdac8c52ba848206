package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profiles holds the files of --cpu-profile and --heap-profile, the
// measurements of a command for performance work (pprof format, read with
// `go tool pprof BINARY FILE`).
type profiles struct {
	cpu, heap string
	cpuFile   *os.File
}

// heapSampleRate is the runtime's default rate of heap profile samples,
// restored for --heap-profile (the program starts with sampling off).
const heapSampleRate = 512 << 10

// start begins the CPU profile, if one is asked for, and the sampling of
// allocations for the heap profile.
func (p *profiles) start() error {
	if p.heap != "" && runtime.MemProfileRate == 0 {
		runtime.MemProfileRate = heapSampleRate
	}
	if p.cpu == "" {
		return nil
	}
	f, err := os.Create(p.cpu)
	if err != nil {
		return fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpu-profile: %w", err)
	}
	p.cpuFile = f
	return nil
}

// stop ends the CPU profile and writes the heap profile: every allocation
// the command made (alloc_space, alloc_objects) and what was still in use
// at its end (inuse_space).
func (p *profiles) stop() error {
	var errs []error
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		if err := p.cpuFile.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--cpu-profile: %w", err))
		}
		p.cpuFile = nil
	}
	if p.heap != "" {
		runtime.GC() // the in-use figures as of now, not as of the last cycle
		f, err := os.Create(p.heap)
		if err == nil {
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--heap-profile: %w", err))
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
