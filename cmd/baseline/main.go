// Command baseline checks Docker hosts, containers, images and Kubernetes
// clusters against CIS benchmarks.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/baselinehq/baseline/cmd/baseline/cli"
	"github.com/baselinehq/baseline/internal/residency"
)

func main() {
	// Every linked package has run its initialisation, which left most of
	// the executable resident; give those pages back before the command
	// runs (what it uses comes back on demand). Best effort: a refusal
	// only leaves the pages resident.
	_, _ = residency.ReleaseExecutable()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
