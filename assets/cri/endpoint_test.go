package cri_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/assets/cri"
	"github.com/baselinehq/baseline/assets/hostfs"
)

// hostTree builds a host root holding a kubelet process with args, the
// files given (path → content) and a listening socket at each of socks.
func hostTree(t *testing.T, args []string, files map[string]string, socks ...string) string {
	t.Helper()
	// Short: a unix socket's path is at most 107 bytes.
	dir, err := os.MkdirTemp("", "crihost")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if args != nil {
		pd := filepath.Join(dir, "proc", "4100")
		if err := os.MkdirAll(pd, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pd, "cmdline"), []byte(strings.Join(append([]string{"/usr/bin/kubelet"}, args...), "\x00")), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/", filepath.Join(pd, "root")); err != nil {
			t.Fatal(err)
		}
	}
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range socks {
		full := filepath.Join(dir, s)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("unix", full)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
	}
	return dir
}

// TestFindEndpoints finds the runtime as the kubelet does: its flag, else
// its configuration file, then the usual sockets that exist.
func TestFindEndpoints(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		files      map[string]string
		socks      []string
		configured string
		want       []string // endpoint names, in order
		wantErr    string
	}{
		{name: "the kubelet's flag first, then the usual sockets",
			args:  []string{"--container-runtime-endpoint=unix:///run/k/cri.sock", "--v=2"},
			socks: []string{"run/k/cri.sock", "run/containerd/containerd.sock", "run/crio/crio.sock"},
			want:  []string{"unix:///run/k/cri.sock", "unix:///run/containerd/containerd.sock", "unix:///run/crio/crio.sock"}},
		{name: "the kubelet's configuration file",
			args:  []string{"--config", "/var/lib/kubelet/config.yaml"},
			files: map[string]string{"var/lib/kubelet/config.yaml": "kind: KubeletConfiguration\ncontainerRuntimeEndpoint: unix:///run/crio/crio.sock\n"},
			socks: []string{"run/crio/crio.sock"},
			want:  []string{"unix:///run/crio/crio.sock"}},
		{name: "no kubelet: the usual sockets that exist",
			socks: []string{"run/containerd/containerd.sock"},
			files: map[string]string{"run/crio/crio.sock": "not a socket"},
			want:  []string{"unix:///run/containerd/containerd.sock"}},
		{name: "nothing", want: nil},
		{name: "configured alone", configured: "/run/x.sock", socks: []string{"run/containerd/containerd.sock"},
			want: []string{"/run/x.sock"}},
		{name: "a TCP endpoint", args: []string{"--container-runtime-endpoint=tcp://10.0.0.1:1234"},
			wantErr: `container runtime endpoint "tcp://10.0.0.1:1234" (the kubelet's --container-runtime-endpoint flag, pid 4100): only unix sockets are supported`},
		{name: "an unreadable kubelet configuration", args: []string{"--config=/nowhere.yaml"},
			wantErr: "the kubelet's --config /nowhere.yaml (pid 4100)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := hostTree(t, c.args, c.files, c.socks...)
			root := hostfs.New(dir)
			defer root.Close()
			eps, err := cri.FindEndpoints(root, c.configured)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ep := range eps {
				got = append(got, ep.Name)
				if !strings.HasPrefix(ep.Path, dir) {
					t.Errorf("%s: path %s is not under the host root %s", ep.Name, ep.Path, dir)
				}
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("endpoints = %v, want %v", got, c.want)
			}
			if len(eps) > 0 && eps[0].Required != (c.configured != "" || c.args != nil) {
				t.Errorf("%s: required = %v", eps[0].Name, eps[0].Required)
			}
		})
	}
}
