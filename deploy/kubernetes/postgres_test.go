package kubernetes_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os/exec"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/baselinehq/baseline/internal/kubetest"
)

// The PostgreSQL variant (deploy/kubernetes-postgres, built by kubectl's
// kustomize): two replicas of the cluster daemon, each container reading
// the store's URL from the Secret baseline-store, no volume claim, and
// the same locked-down pod as the base.
func TestPostgresVariant(t *testing.T) {
	kubectl := kubetest.RequireKubectl(t)
	out, err := exec.Command(kubectl, "kustomize", "../kubernetes-postgres").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	var ms []manifest
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		js, err := sigsyaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			t.Fatal(err)
		}
		if obj.GetKind() == "PersistentVolumeClaim" {
			t.Errorf("the variant keeps the volume claim %s", obj.GetName())
		}
		ms = append(ms, manifest{file: "kubernetes-postgres", obj: obj})
	}
	dep := typed[appsv1.Deployment](t, find(t, ms, "Deployment", "baseline-cluster"))
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 || dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("replicas %v, strategy %s: want 2 and RollingUpdate", dep.Spec.Replicas, dep.Spec.Strategy.Type)
	}
	spec := dep.Spec.Template.Spec
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		found := false
		for _, e := range c.Env {
			if e.Name == "BASELINE_STORE" {
				found = e.Value == "" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
					e.ValueFrom.SecretKeyRef.Name == "baseline-store" && e.ValueFrom.SecretKeyRef.Key == "url"
			}
		}
		if !found {
			t.Errorf("container %s does not read BASELINE_STORE from the Secret baseline-store (key url)", c.Name)
		}
	}
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			t.Errorf("volume %s is a volume claim", v.Name)
		}
	}
	checkLockedDown(t, "cluster", spec)
}
