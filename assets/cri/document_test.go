package cri

import (
	"fmt"
	"strings"
	"testing"
)

// TestDocument derives a container's document from verbose information as
// CRI-O gives it (a privileged flag of its own, no CRI configuration), and
// says why when a runtime gives none.
func TestDocument(t *testing.T) {
	crio := `{"sandboxID":"s1","pid":42,"privileged":true,"runtimeSpec":{
		"process":{"user":{"uid":1000,"gid":1000},"capabilities":{"effective":["CAP_CHOWN","CAP_SYS_ADMIN"]},"noNewPrivileges":true,"apparmorProfile":"crio-default"},
		"root":{"path":"rootfs","readonly":true},
		"mounts":[{"destination":"/data","type":"bind","source":"/var/data","options":["rbind","rshared","ro"]},{"destination":"/proc","type":"proc","source":"proc"}],
		"linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/var/run/netns/x"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}],
			"resources":{"memory":{"limit":1048576},"cpu":{"shares":256},"pids":{"limit":64}},
			"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"},"devices":[{"path":"/dev/fuse"}]}}}`
	in, err := decodeInfo(map[string]string{"info": crio})
	if err != nil {
		t.Fatal(err)
	}
	doc := Document(Container{ID: "c1", Name: "app", PodName: "web", PodNamespace: "shop", State: "running"}, &Status{State: "running", Info: in}, HostSecurity{AppArmor: true})
	want := map[string]string{
		"specExposed": "true", "pid": "42", "privileged": "true", "privilegedFrom": "the runtime's status",
		"runsAsRoot": "false", "capabilitiesAdded": "[SYS_ADMIN]", "hostNetwork": "false", "hostPID": "false", "hostUsers": "true",
		"hostMounts": "[/var/data]", "sharedMounts": "[/data]", "seccomp": "filtered (default action SCMP_ACT_ERRNO)",
		"apparmorProfile": "crio-default", "readOnlyRootFilesystem": "true", "noNewPrivileges": "true",
		"resources": "map[cpuShares:256 memoryLimit:1048576 pidsLimit:64]", "devices": "[/dev/fuse]", "hostAppArmor": "true",
	}
	for k, v := range want {
		if got := sprint(doc[k]); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	for name, info := range map[string]map[string]string{
		"no verbose information": nil,
		"no runtime spec":        {"info": `{"pid": 7}`},
	} {
		in, err := decodeInfo(info)
		st := &Status{State: "running", Info: in}
		if err != nil {
			st.InfoErr = err.Error()
		}
		doc := Document(Container{ID: "c2"}, st, HostSecurity{})
		if doc["specExposed"] != false || !strings.Contains(sprint(doc["specMissing"]), name) {
			t.Errorf("%s: specExposed %v, specMissing %q", name, doc["specExposed"], doc["specMissing"])
		}
	}
	if _, err := decodeInfo(map[string]string{"info": strings.Repeat(" ", maxInfo+1)}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized information: err = %v", err)
	}
}

func sprint(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = sprint(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}
