package docker_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/assets/docker"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/jsondoc"
)

// A container's inspect document is the engine's own JSON, decoded once:
// the raw document the client returns, decoded as engine documents are; a container that is
// gone gives the client's error words.
func TestInspectContainerIsTheEnginesDocument(t *testing.T) {
	cli := dockertest.Engine(t)
	ctx := context.Background()
	id := dockertest.Create(t, cli, dockertest.Name("inspect-raw"),
		&container.Config{Image: "baseline-test/base:1", Cmd: []string{"sleep", "1"}, Env: []string{"A=b"}, Labels: map[string]string{"k": "v"}}, nil)
	e, err := docker.Connect("")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc, err := e.InspectContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, raw, err := cli.ContainerInspectWithRaw(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	want, err := jsondoc.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc, want) || doc["Id"] != id {
		t.Errorf("inspect document:\n got %v\nwant %v", doc, want)
	}
	_, err = e.InspectContainer(ctx, "bltest-no-such-container")
	if err == nil || !strings.Contains(err.Error(), "No such container") || !strings.HasPrefix(err.Error(), "inspect container ") {
		t.Errorf("a missing container: %v; want the engine's words", err)
	}
	if total, by := e.Calls(); total == 0 || by["GET /containers/{id}/json"] != 2 {
		t.Errorf("calls %d %v; want the two inspects counted", total, by)
	}
}

// BenchmarkInspectContainer inspects one container of the local engine, as
// a scan does each of its containers.
func BenchmarkInspectContainer(b *testing.B) {
	cli := dockertest.Engine(b)
	id := dockertest.Create(b, cli, dockertest.Name("inspect-bench"), &container.Config{Image: "baseline-test/base:1", Cmd: []string{"sleep", "1"}}, nil)
	e, err := docker.Connect("")
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.ReportAllocs()
	for range b.N {
		if _, err := e.InspectContainer(context.Background(), id); err != nil {
			b.Fatal(err)
		}
	}
}
