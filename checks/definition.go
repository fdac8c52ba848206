// Package checks owns benchmark definitions: it loads them from YAML (strict
// parse, validation, compilation) and evaluates collected facts against them.
package checks

// The types in this file mirror the YAML format documented in
// benchmarks/README.md. They are decoded strictly (unknown keys are errors)
// and never used after compilation: the scanner only sees compiled types.

// fileDef is one YAML file: an optional standard header and a list of items.
type fileDef struct {
	Standard *standardDef `yaml:"standard"`
	// Category and AssetType are defaults for the items of this file.
	Category  string `yaml:"category"`
	AssetType string `yaml:"asset_type"`
	// Target is the default target of the file's k8s items: node or cluster.
	Target string    `yaml:"target"`
	Items  []itemDef `yaml:"items"`
}

// standardDef is the header of a benchmark standard.
type standardDef struct {
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Version     string   `yaml:"version"`
	Description string   `yaml:"description"`
	AssetTypes  []string `yaml:"asset_types"`
	// Engines is a version constraint on the Docker engine (or Kubernetes)
	// the standard applies to, e.g. ">= 20.10".
	Engines string `yaml:"engines"`
	Enabled *bool  `yaml:"enabled"`
	// Wording "required" makes every automated item of the standard say
	// its finding, and each of its tests its label and expectation, in
	// words (the shipped standards do).
	Wording string `yaml:"wording"`
}

// itemDef is one check item (one recommendation of a standard).
type itemDef struct {
	ID          uint64   `yaml:"id"`
	Number      string   `yaml:"number"`
	Title       string   `yaml:"title"`
	Category    string   `yaml:"category"`
	AssetType   string   `yaml:"asset_type"`
	Target      string   `yaml:"target"`
	Risk        string   `yaml:"risk"`
	Level       int      `yaml:"level"`
	Assessment  string   `yaml:"assessment"`
	Scored      *bool    `yaml:"scored"`
	Description string   `yaml:"description"`
	Rationale   string   `yaml:"rationale"`
	Procedure   string   `yaml:"audit_procedure"`
	Remediation string   `yaml:"remediation"`
	Default     string   `yaml:"default_value"`
	References  []string `yaml:"references"`
	Engines     string   `yaml:"engines"`
	// Finding says in words what a failure means, e.g. "the container runs
	// as root".
	Finding string `yaml:"finding"`

	// Source is the typed audit source; Audit is a shell command string
	// (kube-bench compatibility). At most one of them is set.
	Source *sourceDef `yaml:"source"`
	Audit  string     `yaml:"audit"`
	// OnlyIf lists conditions that must all hold for the item to apply;
	// otherwise the result is "not applicable" with the condition's reason.
	OnlyIf []conditionDef `yaml:"only_if"`
	Tests  *testsDef      `yaml:"tests"`
}

// sourceDef names where facts come from.
type sourceDef struct {
	Kind   string   `yaml:"kind"`
	Path   string   `yaml:"path"`
	Paths  []string `yaml:"paths"`
	Glob   []string `yaml:"glob"`
	Format string   `yaml:"format"`
	Name   string   `yaml:"name"`
	Argv   []string `yaml:"argv"`
	// Config names the flag of a process source whose value is a
	// configuration file to read with it (the kubelet's --config).
	Config string `yaml:"config"`
	// Resource is the Kubernetes resource a kube source lists (pods,
	// roles, ...); Exclude lists name patterns of objects left out.
	Resource  string   `yaml:"resource"`
	Resources []string `yaml:"resources"`
	Exclude   []string `yaml:"exclude"`
}

// conditionDef is an applicability condition.
type conditionDef struct {
	Source *sourceDef `yaml:"source"`
	Tests  *testsDef  `yaml:"tests"`
	Reason string     `yaml:"reason"`
}

// testsDef combines test items with and/or.
type testsDef struct {
	BinOp     string        `yaml:"bin_op"`
	TestItems []testItemDef `yaml:"test_items"`
}

// testItemDef is one test: where to find a value and how to judge it.
type testItemDef struct {
	Flag    string      `yaml:"flag"`
	Path    string      `yaml:"path"`
	Env     string      `yaml:"env"`
	Set     *bool       `yaml:"set"`
	Compare *compareDef `yaml:"compare"`
	// UseMultipleValues evaluates each line of a text output on its own
	// (kube-bench semantics); all must pass.
	UseMultipleValues bool `yaml:"use_multiple_values"`
	// Label names in words the value the test reads ("the user"); Expect
	// says in words what it should be ("a non-root user").
	Label  string `yaml:"label"`
	Expect string `yaml:"expect"`
}

// compareDef is a comparison operator and its operand.
type compareDef struct {
	Op    string `yaml:"op"`
	Value string `yaml:"value"`
	// Match says how several found values combine: "all" (default) or "any".
	Match string `yaml:"match"`
}
