// Command kubectl builds kubectl from the k8s.io/kubectl module at the
// version of the API server built beside it (k8s.io/kubernetes's
// cmd/kubectl), for the tests whose benchmark audits run kubectl (no
// binary download is possible in the test environment).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// The client authentication plugins (exec, OIDC), as in kubectl.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	logs.GlogSetter(cmd.GetLogVerbosity(os.Args)) // nolint:errcheck
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
