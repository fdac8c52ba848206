// Command baseline checks Docker hosts, containers, images and Kubernetes
// clusters against CIS benchmarks.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/baselinehq/baseline/cmd/baseline/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
