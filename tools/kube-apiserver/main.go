// Command kube-apiserver builds the Kubernetes API server from the
// k8s.io/kubernetes module, for the tests that check a real API server
// (no binary download is possible in the test environment).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
