package kubetest

import (
	"context"
	"encoding/json"
	"os/exec"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStartServesTheBuiltVersion(t *testing.T) {
	s := StartT(t, nil)
	v, err := s.Client().Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Version()
	if v.GitVersion != want {
		t.Fatalf("server version %s, want %s", v.GitVersion, want)
	}
	if _, err := s.Client().CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{}); err != nil {
		t.Fatalf("kube-system: %v", err)
	}
}

// The kubectl built beside the API server is the same version and talks
// to it.
func TestKubectlReachesTheServer(t *testing.T) {
	kubectl := RequireKubectl(t)
	s := StartT(t, nil)
	want, _ := Version()
	out, err := exec.Command("kubectl", "--kubeconfig", s.Kubeconfig, "version", "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", kubectl, err, out)
	}
	var v struct {
		Client struct{ GitVersion string } `json:"clientVersion"`
		Server struct{ GitVersion string } `json:"serverVersion"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if v.Client.GitVersion != want || v.Server.GitVersion != want {
		t.Fatalf("kubectl %s against server %s, want %s for both", v.Client.GitVersion, v.Server.GitVersion, want)
	}
}
