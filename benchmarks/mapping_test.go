package benchmarks_test

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/baselinehq/baseline/assets"
)

// TestCISKubernetesVersionMapping: the built-in CIS Kubernetes standard
// whose range holds a cluster's version is cis-kubernetes-1.12 for 1.32 and
// 1.33, cis-kubernetes-2.0 for 1.34 and 1.35 (and later ones, until a newer
// standard is added), and none before 1.32; exactly one standard judges any
// version from 1.32 on, vendors' pre-release suffixes included.
func TestCISKubernetesVersionMapping(t *testing.T) {
	cat := loadBuiltin(t)
	want := map[string]string{
		"1.31.9":           "",
		"1.32.0":           "cis-kubernetes-1.12",
		"1.32.4-gke.1000":  "cis-kubernetes-1.12",
		"1.33.7":           "cis-kubernetes-1.12",
		"1.33.99+k3s1":     "cis-kubernetes-1.12",
		"1.34.0-rc.1":      "cis-kubernetes-2.0",
		"1.34.0":           "cis-kubernetes-2.0",
		"1.34.2-eks-113cf": "cis-kubernetes-2.0",
		"1.35.1":           "cis-kubernetes-2.0",
		"1.37.2":           "cis-kubernetes-2.0",
	}
	for version, std := range want {
		v, err := semver.NewVersion(version)
		if err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		var judged []string
		for _, s := range cat.Standards {
			if !s.Covers(assets.K8s) || !strings.HasPrefix(s.ID, "cis-kubernetes-") {
				continue
			}
			if s.Engines == nil {
				t.Fatalf("%s declares no Kubernetes versions", s.ID)
			}
			if s.Engines.Check(v) {
				judged = append(judged, s.ID)
			}
		}
		if got := strings.Join(judged, ","); got != std {
			t.Errorf("Kubernetes %s is judged by %q, want %q", version, got, std)
		}
	}
}
