package cri

import (
	"sort"
	"strings"
)

// HostSecurity says which Linux security modules the host enables: a
// profile of a module the host lacks cannot be asked of a container.
type HostSecurity struct {
	AppArmor bool
	SELinux  bool
	// Seccomp says the kernel filters system calls: without it a runtime
	// drops every seccomp profile.
	Seccomp bool
}

// defaultCaps are the capabilities containerd and CRI-O give a container
// that asks for none (Docker's default set).
var defaultCaps = map[string]bool{
	"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true, "KILL": true,
	"MKNOD": true, "NET_BIND_SERVICE": true, "NET_RAW": true, "SETFCAP": true, "SETGID": true, "SETPCAP": true,
	"SETUID": true, "SYS_CHROOT": true,
}

// Document describes a container for the checks: what the runtime lists
// and, from the OCI runtime spec where the runtime exposes it, how the
// container runs (documented in benchmarks/README.md, source cri_container).
func Document(c Container, st *Status, host HostSecurity) map[string]any {
	doc := map[string]any{
		"id": c.ID, "name": c.Name, "pod": c.PodName, "namespace": c.PodNamespace, "podUID": c.PodUID,
		"image": c.Image, "imageRef": c.ImageRef, "state": c.State,
		"hostAppArmor": host.AppArmor, "hostSELinux": host.SELinux, "hostSeccomp": host.Seccomp,
		"specExposed": false,
	}
	if st == nil {
		doc["specMissing"] = "the container's status could not be read"
		return doc
	}
	if st.State != "" {
		doc["state"] = st.State
	}
	in := st.Info
	switch {
	case in == nil:
		doc["specMissing"] = st.InfoErr
		return doc
	case in.Spec == nil:
		doc["specMissing"] = "the runtime's verbose status holds no runtime spec"
		return doc
	}
	doc["specExposed"] = true
	doc["pid"] = int64(in.Pid)
	doc["privileged"], doc["privilegedFrom"] = in.privileged()
	describeProcess(doc, in.Spec)
	describeNamespaces(doc, in.Spec.Linux)
	if network, pid, ipc, known := in.hostNamespaces(); known {
		// The pod's namespaces are the host's when the pod asked for them
		// (its UTS namespace goes with its network).
		ns := doc["namespaces"].(map[string]any)
		for t, host := range map[string]bool{"network": network, "uts": network, "pid": pid, "ipc": ipc} {
			if host {
				ns[t] = "host"
			}
		}
		doc["hostNetwork"], doc["hostPID"], doc["hostIPC"] = ns["network"] == "host", ns["pid"] == "host", ns["ipc"] == "host"
		doc["hostUTS"] = ns["uts"] == "host"
	}
	describeMounts(doc, in.Spec)
	describeLinux(doc, in.Spec.Linux)
	return doc
}

func describeProcess(doc map[string]any, s *Spec) {
	caps := s.capabilities()
	all, added := make([]any, 0, len(caps)), []any{}
	for _, c := range caps {
		name := strings.TrimPrefix(strings.ToUpper(c), "CAP_")
		all = append(all, name)
		if !defaultCaps[name] {
			added = append(added, name)
		}
	}
	doc["capabilities"], doc["capabilitiesAdded"] = all, added
	uid, gid := uint32(0), uint32(0)
	if p := s.Process; p != nil {
		uid, gid = p.User.UID, p.User.GID
		doc["noNewPrivileges"] = p.NoNewPrivileges
		doc["apparmorProfile"] = p.ApparmorProfile
		doc["selinuxLabel"] = p.SelinuxLabel
	}
	doc["user"] = map[string]any{"uid": int64(uid), "gid": int64(gid)}
	doc["runsAsRoot"] = uid == 0
	doc["readOnlyRootFilesystem"] = s.Root != nil && s.Root.Readonly
}

// describeNamespaces says, for each namespace, whether the container has
// its own ("private"), joins another's such as its pod's ("pod"), or, when
// the spec lists none of the type, runs in the host's ("host").
func describeNamespaces(doc map[string]any, l *Linux) {
	ns := map[string]any{}
	for _, t := range []string{"network", "pid", "ipc", "uts", "user", "cgroup", "mount"} {
		ns[t] = "host"
	}
	if l != nil {
		for _, n := range l.Namespaces {
			if n.Path != "" {
				ns[n.Type] = "pod"
			} else {
				ns[n.Type] = "private"
			}
		}
	}
	doc["namespaces"] = ns
	doc["hostNetwork"], doc["hostPID"], doc["hostIPC"] = ns["network"] == "host", ns["pid"] == "host", ns["ipc"] == "host"
	doc["hostUTS"], doc["hostUsers"] = ns["uts"] == "host", ns["user"] == "host"
}

// describeMounts lists the mounts with their propagation; hostMounts are
// the host paths bound into the container, sharedMounts the bind mounts
// whose propagation is shared with the host.
func describeMounts(doc map[string]any, s *Spec) {
	mounts, host, shared := []any{}, []any{}, []any{}
	for _, m := range s.Mounts {
		prop, ro, bind := "private", false, m.Type == "bind"
		for _, o := range m.Options {
			switch o {
			case "shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable":
				prop = strings.TrimPrefix(o, "r")
			case "ro":
				ro = true
			case "bind", "rbind":
				bind = true
			}
		}
		mounts = append(mounts, map[string]any{"destination": m.Destination, "source": m.Source, "type": m.Type,
			"options": anyStrings(m.Options), "propagation": prop, "readOnly": ro})
		if bind {
			host = append(host, m.Source)
			if prop == "shared" {
				shared = append(shared, m.Destination)
			}
		}
	}
	doc["mounts"], doc["hostMounts"], doc["sharedMounts"] = mounts, host, shared
}

func describeLinux(doc map[string]any, l *Linux) {
	res := map[string]any{}
	doc["seccomp"] = "unconfined"
	if l != nil {
		if l.Seccomp != nil {
			doc["seccomp"] = "filtered (default action " + l.Seccomp.DefaultAction + ")"
		}
		if r := l.Resources; r != nil {
			if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit > 0 {
				res["memoryLimit"] = *r.Memory.Limit
			}
			if r.CPU != nil && r.CPU.Shares != nil {
				res["cpuShares"] = int64(*r.CPU.Shares)
			}
			if r.CPU != nil && r.CPU.Quota != nil && *r.CPU.Quota > 0 {
				res["cpuQuota"] = *r.CPU.Quota
			}
			if r.Pids != nil && r.Pids.Limit > 0 {
				res["pidsLimit"] = r.Pids.Limit
			}
		}
	}
	doc["resources"] = res
	devs := l.devices()
	sort.Strings(devs)
	doc["devices"] = anyStrings(devs)
}

func anyStrings(in []string) []any {
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}
