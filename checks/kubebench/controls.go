package kubebench

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/baselinehq/baseline/checks"
)

// The types below mirror kube-bench's controls files (check.Controls,
// check.Group, check.Check and their tests), with the keys kube-bench
// reads. Other keys are ignored, as kube-bench ignores them: real
// benchmark directories have some (a remediation indented into tests).

type controlsDef struct {
	ID      string     `yaml:"id"`
	Version string     `yaml:"version"`
	Text    string     `yaml:"text"`
	Type    string     `yaml:"type"`
	Groups  []groupDef `yaml:"groups"`
}

type groupDef struct {
	ID     string     `yaml:"id"`
	Type   string     `yaml:"type"`
	Text   string     `yaml:"text"`
	Checks []checkDef `yaml:"checks"`
}

type checkDef struct {
	ID          string    `yaml:"id"`
	Text        string    `yaml:"text"`
	Audit       string    `yaml:"audit"`
	AuditEnv    string    `yaml:"audit_env"`
	AuditConfig string    `yaml:"audit_config"`
	Type        string    `yaml:"type"`
	Tests       *testsDef `yaml:"tests"`
	Remediation string    `yaml:"remediation"`
	Scored      bool      `yaml:"scored"`
	IsMultiple  bool      `yaml:"use_multiple_values"`
}

type testsDef struct {
	TestItems []testItemDef `yaml:"test_items"`
	BinOp     string        `yaml:"bin_op"`
}

type testItemDef struct {
	Flag    string     `yaml:"flag"`
	Env     string     `yaml:"env"`
	Path    string     `yaml:"path"`
	Set     *bool      `yaml:"set"`
	Compare compareDef `yaml:"compare"`
}

type compareDef struct {
	Op    string `yaml:"op"`
	Value string `yaml:"value"`
}

var typeNames = strings.NewReplacer(
	"kubebench.controlsDef", "controls", "kubebench.groupDef", "group", "kubebench.checkDef", "check",
	"kubebench.testsDef", "tests", "kubebench.testItemDef", "test item", "kubebench.compareDef", "compare",
)

func yamlProblems(name string, err error) []checks.Problem {
	return checks.YAMLProblems(name, err, typeNames)
}

// parseControls decodes a target file. The node is the parsed document,
// for the lines of groups, checks and tests.
func parseControls(name string, data []byte) (*controlsDef, *yaml.Node, []checks.Problem) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, yamlProblems(name, err)
	}
	if checks.CountNodes(&root, checks.MaxNodes) > checks.MaxNodes {
		return nil, nil, []checks.Problem{checks.TooManyNodes(name)}
	}
	var def controlsDef
	if err := root.Decode(&def); err != nil {
		return nil, nil, yamlProblems(name, err)
	}
	return &def, &root, nil
}
