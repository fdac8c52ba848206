package kubetest

import (
	"context"
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
