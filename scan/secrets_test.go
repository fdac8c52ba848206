package scan

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testhost"
)

// secretsDockerfile records secrets the ways a build can: ENV in both
// forms, an ARG default and a build argument (the classic builder writes
// "|1 TOKEN=value" before the RUN command in the history and the image's
// ContainerConfig.Cmd), an ONBUILD ENV. Labels are not secrets.
const secretsDockerfile = `FROM baseline-test/base:1
ARG TOKEN=argdefault-value-71
ENV SECRET_TOKEN=hunter2-value
ENV LEGACY_SECRET legacy-secret-value-72
ONBUILD ENV ONBUILD_SECRET=onbuild-secret-value-73
LABEL note=not-a-secret
RUN echo built
`

// buildSecretValues are the values that must never reach a report.
var buildSecretValues = []string{"hunter2-value", "argdefault-value-71", "legacy-secret-value-72", "onbuild-secret-value-73", "buildarg-secret-value-74"}

// imageSecretsStandard reads the parts of image inspect where a build
// leaves environments and build arguments.
const imageSecretsStandard = `standard: {id: image-secrets, name: Image secrets, version: "1", asset_types: [image]}
category: Images
asset_type: image
items:
  - {id: 9400001, number: "1", title: env, risk: low, assessment: automated, source: {kind: image}, tests: {test_items: [{path: "{.Config.Env}", set: true}]}}
  - {id: 9400002, number: "2", title: build env, risk: low, assessment: automated, source: {kind: image}, tests: {test_items: [{path: "{.ContainerConfig.Env}", set: true}]}}
  - {id: 9400003, number: "3", title: build step, risk: low, assessment: automated, source: {kind: image}, tests: {test_items: [{path: "{.ContainerConfig.Cmd}", set: true}]}}
  - {id: 9400004, number: "4", title: onbuild, risk: low, assessment: automated, source: {kind: image}, tests: {test_items: [{path: "{.Config.OnBuild}", set: true}]}}
  - {id: 9400005, number: "5", title: one variable, risk: low, assessment: automated, source: {kind: image}, tests: {test_items: [{env: SECRET_TOKEN, set: true}]}}
  - {id: 9400006, number: "6", title: history text, risk: low, assessment: automated, source: {kind: image_history}, tests: {test_items: [{path: "{.history[*].CreatedBy}", set: true}]}}
`

// buildSecretsImage builds the image with the classic builder (no
// registry) and removes it when the test ends.
func buildSecretsImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(secretsDockerfile))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(secretsDockerfile)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("bltest-build-secrets:%d", os.Getpid())
	arg := "buildarg-secret-value-74"
	resp, err := cli.ImageBuild(context.Background(), &ctxTar, build.ImageBuildOptions{
		Tags: []string{tag}, Version: build.BuilderV1, Remove: true, ForceRemove: true,
		BuildArgs: map[string]*string{"TOKEN": &arg},
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || bytes.Contains(out, []byte(`"errorDetail"`)) {
		t.Fatalf("build: %v\n%s", err, out)
	}
	inspect, err := cli.ImageInspect(context.Background(), tag)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), inspect.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return inspect.ID
}

// TestBuildSecretsNeverInEvidence: an image whose build recorded secrets
// in its history and configuration is scanned with every image item (the
// built-in ones showing the history, and items reading the build's
// environment and command); no secret value appears anywhere in the
// report, while the names and the commands still do.
func TestBuildSecretsNeverInEvidence(t *testing.T) {
	cli := dockertest.Engine(t)
	id := buildSecretsImage(t, cli)
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/image-secrets", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/image-secrets/standard.yaml", []byte(imageSecretsStandard), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := checks.Load(checks.Tree{FS: benchmarks.FS(), Origin: benchmarks.Origin}, checks.Tree{FS: os.DirFS(dir), Origin: dir})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cat, Options{Types: []assets.Type{assets.Image}, Assets: []string{id},
		Standards: []string{"cis-docker-1.6.0", "baseline-docker-1.0", "image-secrets"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Assets) != 1 || rep.Assets[0].Ref != id {
		t.Fatalf("assets = %+v, want the one image", rep.Assets)
	}
	out := reportJSON(t, rep)
	for _, s := range buildSecretValues {
		if strings.Contains(out, s) {
			t.Errorf("the report shows the build secret %q", s)
		}
	}
	// What is not a secret still shows: names, commands, labels.
	history := fmt.Sprint(testhost.Result(t, rep, 9400006, rep.Assets[0].ID).Evidence)
	for _, want := range []string{"SECRET_TOKEN=<masked>", "LEGACY_SECRET=<masked>", "ONBUILD ENV ONBUILD_SECRET=<masked>", "TOKEN=<masked>", "echo built", "LABEL note=not-a-secret"} {
		if !strings.Contains(history, want) {
			t.Errorf("history evidence %s lacks %q", history, want)
		}
	}
	if cmd := fmt.Sprint(testhost.Result(t, rep, 9400003, rep.Assets[0].ID).Evidence); !strings.Contains(cmd, "echo built") {
		t.Errorf("ContainerConfig.Cmd evidence %s lacks the command", cmd)
	}
}
