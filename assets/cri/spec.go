package cri

// Spec is the part of an OCI runtime spec that the checks read.
type Spec struct {
	Process *struct {
		User struct {
			UID uint32 `json:"uid"`
			GID uint32 `json:"gid"`
		} `json:"user"`
		Capabilities *struct {
			Bounding  []string `json:"bounding"`
			Effective []string `json:"effective"`
		} `json:"capabilities"`
		NoNewPrivileges bool   `json:"noNewPrivileges"`
		ApparmorProfile string `json:"apparmorProfile"`
		SelinuxLabel    string `json:"selinuxLabel"`
	} `json:"process"`
	Root *struct {
		Readonly bool `json:"readonly"`
	} `json:"root"`
	Mounts []struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options"`
	} `json:"mounts"`
	Linux *Linux `json:"linux"`
}

// Linux is the spec's Linux part.
type Linux struct {
	Namespaces []struct {
		Type string `json:"type"`
		Path string `json:"path"`
	} `json:"namespaces"`
	Devices []struct {
		Path string `json:"path"`
	} `json:"devices"`
	Resources *struct {
		Memory *struct {
			Limit *int64 `json:"limit"`
		} `json:"memory"`
		CPU *struct {
			Shares *uint64 `json:"shares"`
			Quota  *int64  `json:"quota"`
		} `json:"cpu"`
		Pids *struct {
			Limit int64 `json:"limit"`
		} `json:"pids"`
	} `json:"resources"`
	Seccomp *struct {
		DefaultAction string `json:"defaultAction"`
	} `json:"seccomp"`
	MaskedPaths       []string `json:"maskedPaths"`
	RootfsPropagation string   `json:"rootfsPropagation"`
}

func (s *Spec) capabilities() []string {
	if s == nil || s.Process == nil || s.Process.Capabilities == nil {
		return nil
	}
	if len(s.Process.Capabilities.Effective) > 0 {
		return s.Process.Capabilities.Effective
	}
	return s.Process.Capabilities.Bounding
}

func (l *Linux) devices() []string {
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l.Devices))
	for _, d := range l.Devices {
		out = append(out, d.Path)
	}
	return out
}

func (l *Linux) maskedPaths() []string {
	if l == nil {
		return nil
	}
	return l.MaskedPaths
}
