package cli

import (
	"bytes"
	"testing"
)

// The example configuration loads as it is, and its kubernetes section
// reaches the daemon's scans; a flag overrides it.
func TestExampleConfigLoads(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out}
	root := newRoot(g)
	t.Setenv("BASELINE_KUBERNETES_CLUSTER_NAME", "prod-eu")
	root.SetArgs([]string{"serve", "--node-name", "node-7", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadServeConfig(serve, g, "../../deploy/config.example.yaml")
	if err != nil {
		t.Fatalf("deploy/config.example.yaml: %v", err)
	}
	if c.Kubernetes.ClusterName != "prod-eu" || c.Kubernetes.NodeName != "node-7" || c.Kubernetes.Disabled {
		t.Fatalf("kubernetes = %+v, want the cluster name from the environment and the node name from the flag", c.Kubernetes)
	}
}
