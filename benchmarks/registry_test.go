package benchmarks_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
)

var update = flag.Bool("update", false, "append newly added item ids to ids.tsv (existing lines never change)")

const registryFile = "ids.tsv"

type entry struct {
	standard, number string
	retired          bool
}

func loadBuiltin(t *testing.T) *checks.Catalog {
	t.Helper()
	cat, err := checks.Load(checks.Tree{FS: benchmarks.FS(), Origin: benchmarks.Origin})
	if err != nil {
		t.Fatalf("built-in benchmarks do not load:\n%v", err)
	}
	return cat
}

func readRegistry(t *testing.T) map[uint64]entry {
	t.Helper()
	f, err := os.Open(registryFile)
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	defer f.Close()
	reg := map[uint64]entry{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			t.Fatalf("%s:%d: want id, standard, number [, retired]", registryFile, n)
		}
		id, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			t.Fatalf("%s:%d: bad id %q", registryFile, n, f[0])
		}
		if _, dup := reg[id]; dup {
			t.Fatalf("%s:%d: id %d registered twice", registryFile, n, id)
		}
		reg[id] = entry{standard: f[1], number: f[2], retired: len(f) > 3 && f[3] == "retired"}
	}
	return reg
}

// TestIDRegistry guards that an item id never changes meaning and is never
// reused: every item must match its registered (standard, number), and a
// registered id may only disappear when marked retired.
func TestIDRegistry(t *testing.T) {
	cat := loadBuiltin(t)
	reg := readRegistry(t)
	var added []string
	for _, it := range cat.Items() {
		e, ok := reg[it.ID]
		switch {
		case !ok:
			added = append(added, fmt.Sprintf("%d\t%s\t%s", it.ID, it.Standard.ID, it.Number))
		case e.retired:
			t.Errorf("%s: item id %d is retired and must not be reused", it.Pos, it.ID)
		case e.standard != it.Standard.ID || e.number != it.Number:
			t.Errorf("%s: item id %d is registered as %s %s, not %s %s: ids never change meaning", it.Pos, it.ID, e.standard, e.number, it.Standard.ID, it.Number)
		}
	}
	for id, e := range reg {
		if _, ok := cat.Item(id); !ok && !e.retired {
			t.Errorf("%s: id %d (%s %s) has no item; mark it retired instead of removing it", registryFile, id, e.standard, e.number)
		}
	}
	if len(added) == 0 {
		return
	}
	sort.Strings(added)
	if !*update {
		t.Fatalf("%d items are not in %s; run `go test ./benchmarks -run TestIDRegistry -update` to append them:\n%s", len(added), registryFile, strings.Join(added, "\n"))
	}
	f, err := os.OpenFile(registryFile, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(added, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

// reference reads a published benchmark's numbers, titles and assessments.
// Lines starting with "#" followed by a number are recommendations too
// (section 2 of CIS Docker 1.6.0 is printed that way); "$desc" lines are not.
func reference(t *testing.T, file string) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for _, fields := range referenceLines(t, file) {
		num := strings.TrimPrefix(fields[0], "#")
		if num == "" || num[0] < '0' || num[0] > '9' || len(fields) < 2 {
			continue
		}
		title := fields[1]
		if strings.Contains(title, "$desc") {
			continue
		}
		assessment := "automated"
		if len(fields) > 2 {
			assessment = fields[2]
		} else if strings.Count(num, ".") == 1 && strings.HasPrefix(fields[0], "#1.") {
			continue // a section heading such as "#1.1 Linux Hosts Specific Configuration"
		}
		title = strings.TrimSpace(strings.TrimSuffix(title, "(Scored)"))
		out[num] = [2]string{title, assessment}
	}
	return out
}

// referenceLines reads a table of testdata/reference: its lines split at
// tabs.
func referenceLines(t *testing.T, file string) [][]string {
	t.Helper()
	f, err := os.Open("../testdata/reference/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.Split(sc.Text(), "\t"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// builtinItems returns a built-in standard's items by number.
func builtinItems(t *testing.T, id string) map[string]*checks.Item {
	t.Helper()
	std, ok := loadBuiltin(t).Standard(id)
	if !ok {
		t.Fatalf("%s is not built in", id)
	}
	have := map[string]*checks.Item{}
	for _, it := range std.Items {
		have[it.Number] = it
	}
	return have
}

func assessmentOf(it *checks.Item) string {
	if it.Automated {
		return "automated"
	}
	return "manual"
}

// Where our assessment differs from the published one, and why.
var dockerDeviations = map[string]string{
	"1.1.2": "manual: whether a docker group member is trusted is a judgement; the group is attached as evidence",
	"4.5":   "manual: content trust is a client environment setting that no host source shows",
	"4.8":   "automated: setuid/setgid files are read exactly from the image's final file system",
	"4.7":   "automated: update instructions alone are read from the image history's RUN steps (left to review when no step is recorded)",
	"4.9":   "automated: ADD instructions are read exactly from the image history",
	"4.10":  "automated: secrets are looked for where image linters look: the configured environment, the history's steps and the layers' files",
	"5.23":  "manual: the engine keeps no record of past docker exec commands",
}

func TestCISDockerCoverage(t *testing.T) {
	have := builtinItems(t, "cis-docker-1.6.0")
	ref := reference(t, "cis-docker-1.6.0.tsv")
	for num, r := range ref {
		it, ok := have[num]
		if !ok {
			t.Errorf("CIS Docker %s %q has no item", num, r[0])
			continue
		}
		if !strings.EqualFold(strings.TrimPrefix(r[0], num+" "), it.Title) {
			t.Errorf("%s: title %q, want %q", num, it.Title, r[0])
		}
		assessment := assessmentOf(it)
		if _, deviates := dockerDeviations[num]; !deviates && assessment != r[1] {
			t.Errorf("%s: %s, the benchmark says %s (add a documented deviation if this is deliberate)", num, assessment, r[1])
		}
	}
	for num := range have {
		if _, ok := ref[num]; !ok {
			t.Errorf("item %s is not a CIS Docker 1.6.0 recommendation", num)
		}
	}
	if len(ref) != 117 { // sections 1-7: 20 + 18 + 24 + 12 + 32 + 2 + 9
		t.Fatalf("read %d recommendations from the reference, want 117", len(ref))
	}
}

// k8sReference reads a CIS Kubernetes table: number, title, assessment,
// scored and node type per recommendation; lines starting with "#" are
// section headings and comments.
func k8sReference(t *testing.T, file string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, fields := range referenceLines(t, file) {
		if len(fields) < 5 || fields[0] == "" || fields[0][0] < '0' || fields[0][0] > '9' {
			continue
		}
		out[fields[0]] = fields[1:5]
	}
	return out
}

// The sections of CIS Kubernetes (1.12 and 2.0) and the files that hold
// them.
var k8sSections = map[string]string{"1": "1-control-plane.yaml", "2": "2-etcd.yaml",
	"3": "3-control-plane-config.yaml", "4": "4-worker.yaml", "5": "5-policies.yaml"}

// k8sDeviations: where our assessment differs from the published one, and
// why. The published section 5 is manual throughout; a read-only look at
// the API objects settles these (their scoring stays as published).
var k8sDeviations = map[string]string{}

func init() {
	why := map[string]string{
		"5.1": "automated: judged from the RBAC objects and service accounts the API lists",
		"5.2": "automated: judged from every pod's effective security settings (and, for 5.2.1, the namespaces' Pod Security labels)",
		"5.3": "automated: judged from each namespace's network policies",
		"5.4": "automated: judged from the pods' environment variables that name secrets",
		"5.6": "automated: judged from the pods the API lists",
	}
	for _, num := range []string{"5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.1.5", "5.1.6", "5.1.7", "5.1.8", "5.1.9", "5.1.10",
		"5.1.11", "5.1.12", "5.1.13", "5.2.1", "5.2.2", "5.2.3", "5.2.4", "5.2.5", "5.2.6", "5.2.7", "5.2.8", "5.2.9", "5.2.10",
		"5.2.11", "5.2.12", "5.3.2", "5.4.1", "5.6.2", "5.6.4"} {
		k8sDeviations[num] = why[num[:3]]
	}
}

// TestCISKubernetesCoverage: every recommendation of each published
// version's table is an item of its standard, in its section's file, with
// the same number, title, assessment and scoring, judged on nodes (node
// types master, etcd, controlplane, node) or on the cluster (policies);
// and there is no item the table does not list.
func TestCISKubernetesCoverage(t *testing.T) {
	for _, std := range []string{"cis-kubernetes-1.12", "cis-kubernetes-2.0"} {
		t.Run(std, func(t *testing.T) { k8sCoverage(t, std) })
	}
}

// k8sCoverage compares a CIS Kubernetes standard with its reference table,
// testdata/reference/STANDARD.tsv.
func k8sCoverage(t *testing.T, stdID string) {
	have := builtinItems(t, stdID)
	ref := k8sReference(t, stdID+".tsv")
	if len(ref) != 131 { // sections 1-5 of 1.12 and 2.0: 60 + 7 + 5 + 25 + 34
		t.Fatalf("read %d recommendations from the reference, want 131", len(ref))
	}
	for num, r := range ref {
		section, _, _ := strings.Cut(num, ".")
		it, ok := have[num]
		if !ok {
			t.Errorf("CIS Kubernetes %s %q has no item", num, r[0])
			continue
		}
		if it.Title != r[0] {
			t.Errorf("%s: title %q, want %q", num, it.Title, r[0])
		}
		if _, deviates := k8sDeviations[num]; !deviates && assessmentOf(it) != r[1] {
			t.Errorf("%s: %s, the benchmark says %s (add a documented deviation if this is deliberate)", num, assessmentOf(it), r[1])
		}
		if fmt.Sprint(it.Scored) != r[2] {
			t.Errorf("%s: scored %v, the benchmark says %s", num, it.Scored, r[2])
		}
		target := checks.TargetNode
		if r[3] == "policies" {
			target = checks.TargetCluster
		}
		if it.Target != target {
			t.Errorf("%s: target %s, want %s for node type %s", num, it.Target, target, r[3])
		}
		if want := benchmarks.Origin + "/" + stdID + "/" + k8sSections[section]; it.Pos.File != want {
			t.Errorf("%s: defined in %s, want %s", num, it.Pos.File, want)
		}
	}
	for num, it := range have {
		if _, ok := ref[num]; !ok {
			t.Errorf("%s: item %s is not a recommendation of %s", it.Pos, num, stdID)
		}
	}
}
