// Command baseline checks Docker hosts, containers, images and Kubernetes
// clusters against CIS benchmarks.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/baselinehq/baseline/cmd/baseline/cli"
)

// The runtime samples an allocation in every 512 KB for heap profiles and
// keeps each sampled stack for the life of the process (about 0.4 MB of a
// scan, and the unwinding of each sample): nothing reads them unless
// --heap-profile asks (cli turns sampling back on for it), or GODEBUG sets
// a rate of its own.
func init() {
	if !strings.Contains(os.Getenv("GODEBUG"), "memprofilerate") {
		runtime.MemProfileRate = 0
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
