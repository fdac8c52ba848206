package benchmarks_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var updateDerived = flag.Bool("update-derived", false, "rewrite the item files of derived standards from their sources")

// A derived standard has the items of another standard, under ids of its
// own and with the few texts its benchmark version changed. Its
// standard.yaml is written by hand; every other file is derived from the
// source file of the same name, and TestDerivedStandards keeps the two in
// step.
type derivedStandard struct {
	from, to string
	// id gives an item's id in the derived standard from its number.
	id func(number string) (uint64, error)
	// changes are applied to the source's text, each exactly once.
	changes []textChange
}

// textChange replaces old by new within the item numbered number, or in
// the file's opening comment when number is empty.
type textChange struct {
	file, number, old, new string
}

// derivedStandards lists every derived built-in standard.
var derivedStandards = []derivedStandard{{
	from: "cis-kubernetes-1.12",
	to:   "cis-kubernetes-2.0",
	id:   cisKubernetes20ID,
	changes: []textChange{
		{file: "5-policies.yaml", old: "# CIS Kubernetes Benchmark v1.12, section 5", new: "# CIS Kubernetes Benchmark v2.0, section 5"},
		// v2.0 accepts the suites an organisation has chosen, as long as
		// they are strong ones.
		{file: "1-control-plane.yaml", number: "1.2.29",
			old: "and set --tls-cipher-suites to a list of strong suites, e.g.",
			new: "and set --tls-cipher-suites to the strong suites your organisation has chosen (any subset of the strong ones will do), e.g."},
		// v2.0 adds the requests that create credentials to what the audit
		// policy must cover, and leaves out the cluster's own routine ones.
		{file: "3-control-plane-config.yaml", number: "3.2.2",
			old: "use of pods/exec, pods/portforward, pods/proxy and services/proxy, and changes to RBAC objects.",
			new: "use of pods/exec, pods/portforward, pods/proxy and services/proxy, requests that create credentials (CertificateSigningRequests and the token subresource of service accounts), and changes to RBAC objects."},
		{file: "3-control-plane-config.yaml", number: "3.2.2",
			old: "Extend the audit policy with rules for the events listed above and restart the API server.",
			new: "Extend the audit policy with rules for the events listed above, leaving out the credential requests that the cluster's own components make all the time (the kubelets' certificate and token requests) so that the log stays readable, and restart the API server."},
	},
}}

// cisKubernetes20ID numbers the items of CIS Kubernetes 2.0 as 26SsNN:
// section S, subsection s (0 for section 2, which has none), item NN.
func cisKubernetes20ID(number string) (uint64, error) {
	parts := strings.Split(number, ".")
	if len(parts) == 2 {
		parts = []string{parts[0], "0", parts[1]}
	}
	if len(parts) != 3 {
		return 0, fmt.Errorf("number %q is not SECTION[.SUBSECTION].ITEM", number)
	}
	var n [3]uint64
	for i, limit := range []uint64{9, 9, 99} {
		v, err := strconv.ParseUint(parts[i], 10, 64)
		if err != nil || v > limit {
			return 0, fmt.Errorf("number %q: part %q is not a number up to %d", number, parts[i], limit)
		}
		n[i] = v
	}
	return 260000 + n[0]*1000 + n[1]*100 + n[2], nil
}

var (
	idLine     = regexp.MustCompile(`^  - id: (\d+)$`)
	numberLine = regexp.MustCompile(`^    number: "([^"]+)"$`)
)

// derive turns one source file into the derived standard's file.
func (d derivedStandard) derive(file string, src []byte) ([]byte, error) {
	lines := strings.SplitAfter(string(src), "\n")
	// Split the file into its opening part and one part per item.
	type part struct{ number, text string }
	parts := []part{{}}
	for i, l := range lines {
		if !idLine.MatchString(strings.TrimSuffix(l, "\n")) {
			parts[len(parts)-1].text += l
			continue
		}
		number := ""
		if i+1 < len(lines) {
			if m := numberLine.FindStringSubmatch(strings.TrimSuffix(lines[i+1], "\n")); m != nil {
				number = m[1]
			}
		}
		if number == "" {
			return nil, fmt.Errorf("%s:%d: an item id not followed by its number", file, i+1)
		}
		id, err := d.id(number)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, i+1, err)
		}
		parts = append(parts, part{number: number, text: fmt.Sprintf("  - id: %d\n", id)})
	}
	for _, c := range d.changes {
		if c.file != file {
			continue
		}
		found := 0
		for i := range parts {
			if parts[i].number == c.number && (c.number != "" || i == 0) {
				found += strings.Count(parts[i].text, c.old)
				parts[i].text = strings.Replace(parts[i].text, c.old, c.new, 1)
			}
		}
		if found != 1 {
			return nil, fmt.Errorf("%s: the change of %q in item %q applies %d times, want once", file, c.old, c.number, found)
		}
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# Derived from ../%s/%s: the same items under the ids of\n", d.from, file)
	fmt.Fprintf(&out, "# %s, with the changes of its benchmark version listed in\n", d.to)
	fmt.Fprintf(&out, "# benchmarks/derive_test.go. Do not edit this file: edit the source and run\n")
	fmt.Fprintf(&out, "#   go test ./benchmarks -run TestDerivedStandards -update-derived\n")
	for _, p := range parts {
		out.WriteString(p.text)
	}
	return out.Bytes(), nil
}

// itemFiles lists a standard directory's item files.
func itemFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if ext := path.Ext(e.Name()); (ext == ".yaml" || ext == ".yml") && e.Name() != "standard.yaml" {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// TestDerivedStandards: every item file of a derived standard is exactly
// what its source file gives (new ids, the listed changes), and it has no
// other item file. With -update-derived the files are rewritten.
func TestDerivedStandards(t *testing.T) {
	for _, d := range derivedStandards {
		sources := itemFiles(t, d.from)
		for _, file := range sources {
			src, err := os.ReadFile(path.Join(d.from, file))
			if err != nil {
				t.Fatal(err)
			}
			want, err := d.derive(file, src)
			if err != nil {
				t.Fatal(err)
			}
			target := path.Join(d.to, file)
			if *updateDerived {
				if err := os.WriteFile(target, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(target)
			if err != nil {
				t.Errorf("%s: %v (derived from %s; run with -update-derived)", target, err, path.Join(d.from, file))
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what %s gives: run `go test ./benchmarks -run TestDerivedStandards -update-derived`%s",
					target, path.Join(d.from, file), firstDifference(got, want))
			}
		}
		if got := itemFiles(t, d.to); strings.Join(got, " ") != strings.Join(sources, " ") {
			t.Errorf("%s holds %v, want exactly the files of %s: %v", d.to, got, d.from, sources)
		}
		for _, c := range d.changes {
			if !slices.Contains(sources, c.file) {
				t.Errorf("the change of %q names %s, which is not a file of %s", c.old, c.file, d.from)
			}
		}
	}
}

// firstDifference names the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("\nline %d: %q\n   want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("\n%d lines, want %d", len(g), len(w))
}

// TestCISKubernetes20ID: numbers map to distinct ids in the standard's
// range, and a number that does not fit is refused.
func TestCISKubernetes20ID(t *testing.T) {
	for number, want := range map[string]uint64{"1.1.1": 261101, "1.2.30": 261230, "2.7": 262007, "4.3.1": 264301, "5.6.4": 265604} {
		if got, err := cisKubernetes20ID(number); err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", number, got, err, want)
		}
	}
	for _, bad := range []string{"1", "1.2.3.4", "1.x.1", "1.2.100", "10.1.1"} {
		if _, err := cisKubernetes20ID(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
