// Command fakeproc stands in for a process of any name (a copy named
// kubelet, say): it ignores its arguments and waits until it is stopped.
// Tests build it statically, so that it runs in any container.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
