package checks

import (
	"fmt"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/baselinehq/baseline/assets"
)

// Risk is an item's risk level, spelled as in the compliance API.
type Risk string

// Risk levels, most severe first.
const (
	RiskCritical Risk = "RISK_CRITICAL"
	RiskHigh     Risk = "RISK_HIGH"
	RiskMedium   Risk = "RISK_MEDIUM"
	RiskLow      Risk = "RISK_LOW"
	RiskNotice   Risk = "RISK_NOTICE"
)

// Risks lists the risk levels, most severe first.
var Risks = []Risk{RiskCritical, RiskHigh, RiskMedium, RiskLow, RiskNotice}

// ParseRisk accepts "critical" ... "notice" or the RISK_* form.
func ParseRisk(s string) (Risk, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(u, "RISK_") {
		u = "RISK_" + u
	}
	for _, r := range Risks {
		if string(r) == u {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown risk level %q (want critical, high, medium, low or notice)", s)
}

// Short is the lower-case short name of the risk level.
func (r Risk) Short() string { return strings.ToLower(strings.TrimPrefix(string(r), "RISK_")) }

// Position is where a definition was read from.
type Position struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Standard is a compiled benchmark standard (BenchmarkStandard).
type Standard struct {
	ID          string
	Name        string
	Version     string
	Description string
	AssetTypes  []assets.Type
	// Engines is the engine version constraint, nil when any engine fits.
	Engines     *semver.Constraints
	EnginesText string
	Enabled     bool
	// Origin says where the standard came from: "builtin" or a directory.
	Origin string
	// WordingRequired says every automated item has its finding, and each
	// of its tests its label and expectation, in words.
	WordingRequired bool
	Items           []*Item
}

// Covers reports whether the standard has items for the asset type.
func (s *Standard) Covers(t assets.Type) bool {
	for _, a := range s.AssetTypes {
		if a == t {
			return true
		}
	}
	return false
}

// Item is a compiled check item.
type Item struct {
	// ID is the CustomerPolicyItemId: globally unique and never reused.
	ID uint64
	// Number is the BasePolicyItemId: the recommendation number in its standard.
	Number    string
	Title     string
	Category  string
	AssetType assets.Type
	// Target is, for k8s items, what they judge: a node or the cluster;
	// for container and image items, TargetCRI or none (the engine's).
	Target      Target
	Risk        Risk
	Level       int
	Automated   bool
	Scored      bool
	Description string
	Rationale   string
	Procedure   string
	Remediation string
	Default     string
	References  []string
	// Finding says in words what a failure means (empty: none given).
	Finding  string
	Standard *Standard
	Pos      Position

	// Source is nil for a manual item that collects no evidence.
	Source *Source
	OnlyIf []*Condition
	Tests  *Tests
	// ReviewOnFail makes failing tests a review rather than a failure:
	// RESULT_MANUAL with the failing tests as evidence (kube-bench's WARN
	// for an unscored check). Passing tests still pass.
	ReviewOnFail bool
}

// SourceKind names an audit source.
type SourceKind string

// Audit source kinds.
const (
	SourceFile         SourceKind = "file"
	SourceProcess      SourceKind = "process"
	SourceDaemonInfo   SourceKind = "daemon_info"
	SourceDaemonConfig SourceKind = "daemon_config"
	SourceContainer    SourceKind = "container"
	SourceContainers   SourceKind = "containers"
	SourceImages       SourceKind = "images"
	SourceNetworks     SourceKind = "networks"
	SourceImage        SourceKind = "image"
	SourceImageHistory SourceKind = "image_history"
	SourceImageFiles   SourceKind = "image_files"
	// SourceImageUpdates and SourceImageSecrets are facts derived from an
	// image's history, configuration and layers (CIS Docker 4.7, 4.10).
	SourceImageUpdates SourceKind = "image_updates"
	SourceImageSecrets SourceKind = "image_secrets"
	// SourceContainerProcesses is a running container's process list.
	SourceContainerProcesses SourceKind = "container_processes"
	SourceCommand            SourceKind = "command"
	SourceShell              SourceKind = "shell"
	SourceKube               SourceKind = "kube"
	// The CRI sources read a Kubernetes node's containers and images
	// through its container runtime (containerd, CRI-O).
	SourceCRIContainer SourceKind = "cri_container"
	SourceCRIProcesses SourceKind = "cri_processes"
	SourceCRIImage     SourceKind = "cri_image"
)

// CRI reports whether the kind reads the container runtime's CRI.
func (k SourceKind) CRI() bool {
	return k == SourceCRIContainer || k == SourceCRIProcesses || k == SourceCRIImage
}

// KubeResources are the resources a kube source can list.
var KubeResources = []string{"namespaces", "pods", "serviceaccounts", "roles", "clusterroles",
	"rolebindings", "clusterrolebindings", "networkpolicies", "nodes"}

// Target says what a k8s item judges (a node or the cluster), and whether
// a container or image item judges those of the Docker engine (no target)
// or those of a node's container runtime, through the CRI.
type Target string

// Targets of k8s, container and image items.
const (
	// TargetCRI items judge the containers and images of a node's
	// container runtime, read through the CRI.
	TargetCRI Target = "cri"
	// TargetNode items read a node's files and processes.
	TargetNode Target = "node"
	// TargetCluster items read the cluster's objects through its API.
	TargetCluster Target = "cluster"
)

// sourceKinds maps each kind to the asset types whose facts can serve it.
var sourceKinds = map[SourceKind][]assets.Type{
	SourceFile:               {assets.Host, assets.K8s},
	SourceProcess:            {assets.Host, assets.K8s},
	SourceDaemonInfo:         {assets.Host, assets.Container, assets.Image},
	SourceDaemonConfig:       {assets.Host, assets.Container, assets.Image},
	SourceContainer:          {assets.Container},
	SourceContainers:         {assets.Host},
	SourceImages:             {assets.Host},
	SourceNetworks:           {assets.Host},
	SourceImage:              {assets.Image},
	SourceImageHistory:       {assets.Image},
	SourceImageFiles:         {assets.Image},
	SourceImageUpdates:       {assets.Image},
	SourceImageSecrets:       {assets.Image},
	SourceContainerProcesses: {assets.Container},
	SourceCommand:            {assets.Host, assets.K8s},
	SourceShell:              {assets.Host, assets.K8s},
	SourceKube:               {assets.K8s},
	SourceCRIContainer:       {assets.Container},
	SourceCRIProcesses:       {assets.Container},
	SourceCRIImage:           {assets.Image},
}

// Combine says how a file source with several paths yields subjects.
type Combine string

// File combination modes.
const (
	CombineFirst  Combine = "first"  // the first path that exists
	CombineEach   Combine = "each"   // every existing file is a subject; all must pass
	CombineConcat Combine = "concat" // one subject whose content joins all files
)

// Format says how a file's content or a command's output is parsed.
type Format string

// Content formats.
const (
	FormatNone Format = "none"
	FormatText Format = "text"
	FormatJSON Format = "json"
	FormatYAML Format = "yaml"
	FormatKV   Format = "kv"
)

// Source is a compiled audit source.
type Source struct {
	Kind SourceKind
	// Paths are file paths or glob patterns, relative to the host root; they
	// may reference ${daemon_config.KEY} or ${daemon_info.Key}.
	Paths   []string
	Glob    bool
	Combine Combine
	Format  Format
	// Name is the process name for SourceProcess.
	Name string
	// Argv is the command for SourceCommand (never run through a shell).
	Argv []string
	// Shell is the command string for SourceShell; only benchmark text.
	Shell string
	// ConfigFlag, for SourceProcess, names the flag whose value is a
	// configuration file read with the process (into the document's
	// "config"); for SourceShell, ConfigShell is a second command whose
	// output is that document (kube-bench's audit_config).
	ConfigFlag  string
	ConfigShell string
	// EnvShell, for SourceShell, prints KEY=value lines read by env tests
	// (kube-bench's audit_env).
	EnvShell string
	// Resources and Exclude are SourceKube's: the resources listed and the
	// patterns of object names ("namespace/name" or "name") left out.
	Resources []string
	Exclude   []string
}

// Describe says what the source reads, for evidence.
func (s *Source) Describe() string {
	switch s.Kind {
	case SourceFile:
		return "file " + strings.Join(s.Paths, ", ")
	case SourceProcess:
		return "process " + s.Name
	case SourceCommand:
		return "command " + strings.Join(s.Argv, " ")
	case SourceShell:
		return "shell " + s.Shell
	case SourceKube:
		return "kubernetes " + strings.Join(s.Resources, ", ")
	}
	return string(s.Kind)
}

// Condition is an applicability condition.
type Condition struct {
	Source *Source // nil: the item's own source
	Tests  *Tests
	Reason string
	// Unmet is a condition known at load time not to hold (a kube-bench
	// target whose component does not run): nothing is read.
	Unmet bool
}

// BinOp combines test results.
type BinOp string

// Binary operators.
const (
	And BinOp = "and"
	Or  BinOp = "or"
)

// Tests is a compiled set of tests.
type Tests struct {
	Op    BinOp
	Items []*Test
}

// Test is one compiled test item.
type Test struct {
	Flag    string
	Env     string
	Path    *Path
	Set     bool
	Compare *Compare
	Multi   bool
	// Label and Expect say in words what the test reads and what it
	// should be (empty: none given).
	Label, Expect string

	// words are what the test says in every piece of its evidence, said
	// once, when it is first judged.
	wordsOnce sync.Once
	words     testWords
}

// testWords are the texts of a test's evidence that depend on the test
// alone.
type testWords struct{ subject, expected string }

// Subject names what the test reads: the flag, path or variable, in the
// order they are tried.
func (t *Test) Subject() string { return t.said().subject }

// said gives the test's words, said the first time they are asked for.
func (t *Test) said() *testWords {
	t.wordsOnce.Do(func() {
		t.words.subject = t.subject()
		t.words.expected = t.expectation(t.words.subject)
	})
	return &t.words
}

// subject is Subject, said anew.
func (t *Test) subject() string {
	var parts []string
	if t.Flag != "" {
		parts = append(parts, t.Flag)
	}
	if t.Path != nil {
		parts = append(parts, t.Path.Expr)
	}
	if t.Env != "" {
		parts = append(parts, "$"+t.Env)
	}
	if len(parts) == 0 {
		return "output"
	}
	return parts[0] + strings.Join(wrapElse(parts[1:]), "")
}

func wrapElse(alts []string) []string {
	out := make([]string, len(alts))
	for i, a := range alts {
		out[i] = " (else " + a + ")"
	}
	return out
}

// Op is a comparison operator.
type Op string

// Comparison operators: kube-bench's set plus notregex and semver.
const (
	OpEq            Op = "eq"
	OpNotEq         Op = "noteq"
	OpGt            Op = "gt"
	OpGte           Op = "gte"
	OpLt            Op = "lt"
	OpLte           Op = "lte"
	OpHas           Op = "has"
	OpNotHave       Op = "nothave"
	OpRegex         Op = "regex"
	OpNotRegex      Op = "notregex"
	OpValidElements Op = "valid_elements"
	OpBitmask       Op = "bitmask"
	OpSemver        Op = "semver"
)

var ops = []Op{OpEq, OpNotEq, OpGt, OpGte, OpLt, OpLte, OpHas, OpNotHave, OpRegex, OpNotRegex, OpValidElements, OpBitmask, OpSemver}

// Compare is a compiled comparison.
type Compare struct {
	Op    Op
	Value string
	// Any: one matching value suffices; otherwise every value must match.
	Any bool

	re       *lazyRegexp
	num      float64
	mask     int64
	elements map[string]bool
	version  *semver.Constraints
}
