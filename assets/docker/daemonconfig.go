package docker

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/baselinehq/baseline/assets/hostfs"
	"github.com/baselinehq/baseline/internal/cmdline"
	"github.com/baselinehq/baseline/internal/jsondoc"
)

// DefaultConfigFile is where dockerd reads daemon.json unless --config-file
// says otherwise.
const DefaultConfigFile = "/etc/docker/daemon.json"

// DaemonConfig is the daemon's effective configuration, read from where
// the running daemon takes it: its own flags, and the file its
// --config-file flag names (or the default daemon.json).
type DaemonConfig struct {
	// Doc is daemon.json with the flags laid over it, keyed as in daemon.json.
	Doc map[string]any
	// File is the configuration file path; FileFound says whether it exists.
	File      string
	FileFound bool
	// Flags are dockerd's command-line flags; nil when no dockerd process
	// is visible (another PID namespace, or the engine is remote).
	Flags   map[string][]string
	Running bool
	PID     int
	// ProcessErr says why the process table could not be read, if so: the
	// configuration then comes from the default file alone.
	ProcessErr error
	// Root is the file system dockerd sees (its own root, when it runs in
	// a container), where its configuration file and the files its flags
	// and configuration name (tlscacert, ...) are read; the host root
	// when no dockerd is visible.
	Root *hostfs.Root
}

// flagKeys maps dockerd flags to their daemon.json keys where they differ.
var flagKeys = map[string]string{
	"H": "hosts", "host": "hosts", "D": "debug", "l": "log-level", "G": "group", "g": "data-root",
	"b": "bridge", "p": "pidfile", "graph": "data-root",
	"insecure-registry": "insecure-registries", "registry-mirror": "registry-mirrors",
	"log-opt": "log-opts", "storage-opt": "storage-opts", "authorization-plugin": "authorization-plugins",
	"default-ulimit": "default-ulimits", "exec-opt": "exec-opts", "label": "labels", "dns-opt": "dns-opts",
	"add-runtime": "runtimes", "node-generic-resource": "node-generic-resources",
	"default-address-pool": "default-address-pools", "feature": "features",
	"allow-nondistributable-artifacts": "allow-nondistributable-artifacts",
	"tls":                              "tls", "tlsverify": "tlsverify",
}

// listKeys are daemon.json keys whose values are lists even when one flag
// is given.
var listKeys = map[string]bool{
	"hosts": true, "insecure-registries": true, "registry-mirrors": true, "storage-opts": true,
	"authorization-plugins": true, "exec-opts": true, "labels": true, "dns": true, "dns-opts": true,
	"dns-search": true, "default-address-pools": true, "allow-nondistributable-artifacts": true,
	"node-generic-resources": true, "default-ulimits": true, "log-opts": true, "runtimes": true, "features": true,
}

// ReadDaemonConfig finds the dockerd process under the host root and reads
// its effective configuration, from its configuration file as dockerd sees
// it (in its own root: a dockerd in a container cannot make the scanner
// read a host file).
func ReadDaemonConfig(root *hostfs.Root) (*DaemonConfig, error) {
	dc := &DaemonConfig{Doc: map[string]any{}, File: DefaultConfigFile, Root: root}
	procs, err := root.FindProcesses("dockerd")
	dc.ProcessErr = err
	if len(procs) > 0 {
		p := procs[0]
		dc.Running, dc.PID = true, p.PID
		dc.Flags = cmdline.ParseFlags(p.Args)
		if f := lastFlag(dc.Flags, "--config-file"); f != "" {
			dc.File = f
		}
		if dc.Root, err = root.ProcessRoot(p.PID); err != nil {
			return nil, fmt.Errorf("dockerd (pid %d): %w", p.PID, err)
		}
	}
	data, err := dc.Root.ReadFile(dc.File)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("daemon configuration %s: %w", dc.File, err)
	default:
		dc.FileFound = true
		if len(bytes.TrimSpace(data)) > 0 {
			v, err := jsondoc.Decode(data)
			if err != nil {
				return nil, fmt.Errorf("daemon configuration %s: %w", dc.File, err)
			}
			doc, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("daemon configuration %s: not a JSON object", dc.File)
			}
			dc.Doc = doc
		}
	}
	for name, vals := range dc.Flags {
		key := strings.TrimLeft(name, "-")
		if k, ok := flagKeys[key]; ok {
			key = k
		}
		if key == "config-file" {
			continue
		}
		if listKeys[key] {
			list := make([]any, len(vals))
			for i, v := range vals {
				list[i] = v
			}
			dc.Doc[key] = list
			continue
		}
		dc.Doc[key] = scalar(vals[len(vals)-1])
	}
	dc.Doc["_config_file"] = dc.File
	return dc, nil
}

func lastFlag(flags map[string][]string, name string) string {
	if v := flags[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func scalar(v string) any {
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	return v
}
