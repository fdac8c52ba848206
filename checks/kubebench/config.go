package kubebench

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/baselinehq/baseline/checks"
)

// ConfigFile is the file at the top of a kube-bench directory, and the
// optional file of a benchmark version that overrides some of its values.
const ConfigFile = "config.yaml"

// defaultKubeVersion is where kube-bench stops looking down the version
// mapping for an older Kubernetes minor version.
const defaultKubeVersion = "1.18"

// config is a kube-bench config.yaml, with the version's own config.yaml
// merged over it. Keys are case-insensitive, as kube-bench reads them.
type config struct {
	root *cnode
}

// cnode is one value of a configuration file with where it was read.
type cnode struct {
	pos    checks.Position
	kind   yaml.Kind
	value  string
	list   []*cnode
	keys   []string          // mapping keys, lower-cased, in order
	fields map[string]*cnode // mapping values by lower-cased key
}

func readConfig(path string) (*cnode, []checks.Problem) {
	data, ps := checks.ReadFileLimited(path)
	if ps != nil {
		return nil, ps
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlProblems(path, err)
	}
	empty := &cnode{pos: checks.Position{File: path, Line: 1}, kind: yaml.MappingNode, fields: map[string]*cnode{}}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return empty, nil
	}
	// Aliases are expanded as the values are read: the budget counts
	// them expanded, so that a few nested aliases cannot make billions.
	budget := checks.MaxNodes
	n := convert(path, doc.Content[0], &budget)
	if budget < 0 {
		return nil, []checks.Problem{checks.TooManyNodes(path)}
	}
	if n.isNull() {
		return empty, nil // only comments
	}
	if n.kind != yaml.MappingNode {
		return nil, []checks.Problem{{Pos: n.pos, Msg: "a kube-bench configuration must be a mapping"}}
	}
	return n, nil
}

// convert reads a value, its aliases expanded; each value read spends one
// of budget, and once it is spent (below zero) nothing more is read.
func convert(file string, n *yaml.Node, budget *int) *cnode {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	c := &cnode{pos: checks.Position{File: file, Line: n.Line}, kind: n.Kind, value: n.Value}
	if *budget--; *budget < 0 {
		return c
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, e := range n.Content {
			c.list = append(c.list, convert(file, e, budget))
		}
	case yaml.MappingNode:
		c.fields = map[string]*cnode{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := strings.ToLower(n.Content[i].Value)
			if _, ok := c.fields[k]; !ok {
				c.keys = append(c.keys, k)
			}
			c.fields[k] = convert(file, n.Content[i+1], budget)
		}
	}
	return c
}

// merge lays over on base: mappings merge key by key, anything else is
// replaced (as kube-bench's merge of a version's config.yaml does).
func merge(base, over *cnode) *cnode {
	if base == nil || base.kind != yaml.MappingNode || over.kind != yaml.MappingNode {
		return over
	}
	out := &cnode{pos: base.pos, kind: yaml.MappingNode, fields: map[string]*cnode{}}
	out.keys = append(out.keys, base.keys...)
	for k, v := range base.fields {
		out.fields[k] = v
	}
	for _, k := range over.keys {
		if _, ok := out.fields[k]; !ok {
			out.keys = append(out.keys, k)
		}
		out.fields[k] = merge(out.fields[k], over.fields[k])
	}
	return out
}

// get returns the node at a path of keys (case-insensitive), or nil.
func (c *cnode) get(keys ...string) *cnode {
	n := c
	for _, k := range keys {
		if n == nil || n.kind != yaml.MappingNode {
			return nil
		}
		n = n.fields[strings.ToLower(k)]
	}
	return n
}

// isNull reports a missing or null value.
func (c *cnode) isNull() bool {
	return c == nil || c.kind == yaml.ScalarNode && (c.value == "" || c.value == "~" || c.value == "null")
}

// strings reads a list of strings; a single string is split on white
// space, as kube-bench's configuration reader does.
func (c *cnode) strings() []string {
	switch {
	case c.isNull():
		return nil
	case c.kind == yaml.SequenceNode:
		out := make([]string, 0, len(c.list))
		for _, e := range c.list {
			out = append(out, e.value)
		}
		return out
	case c.kind == yaml.ScalarNode:
		return strings.Fields(c.value)
	}
	return nil
}

// str reads a string ("" when missing).
func (c *cnode) str() string {
	if c.isNull() || c.kind != yaml.ScalarNode {
		return ""
	}
	return c.value
}

// boolean reads a boolean as kube-bench does (true, 1, t, yes...).
func (c *cnode) boolean() bool {
	if c.isNull() || c.kind != yaml.ScalarNode {
		return false
	}
	switch strings.ToLower(c.value) {
	case "yes", "on", "y":
		return true
	}
	b, _ := strconv.ParseBool(c.value)
	return b
}

// component is one component of a node type: what makes it run and the
// files that belong to it.
type component struct {
	name     string
	pos      checks.Position
	optional bool
	bins     []string
	// files by kind: config, service, kubeconfig, ca, datadir: the
	// candidates and the default.
	files map[string]fileSpec
}

type fileSpec struct {
	candidates []string
	def        string
	hasDef     bool
}

// fileKinds are kube-bench's file variables: the suffix of the variable
// name, and the configuration keys of the candidates and of the default.
var fileKinds = []struct{ kind, suffix, list, def string }{
	{"config", "conf", "confs", "defaultconf"},
	{"service", "svc", "svc", "defaultsvc"},
	{"kubeconfig", "kubeconfig", "kubeconfig", "defaultkubeconfig"},
	{"ca", "cafile", "cafile", "defaultcafile"},
	{"datadir", "datadir", "datadirs", "defaultdatadir"},
}

// components lists the components of a node type's section, in order.
func (c *config) components(nodeType string) ([]component, *cnode) {
	sec := c.root.get(nodeType)
	if sec == nil || sec.kind != yaml.MappingNode {
		return nil, nil
	}
	var out []component
	for _, name := range sec.get("components").strings() {
		s := sec.get(name)
		if s == nil || s.kind != yaml.MappingNode {
			continue // kube-bench skips a component without settings
		}
		comp := component{name: name, pos: s.pos, optional: s.get("optional").boolean(), bins: s.get("bins").strings(), files: map[string]fileSpec{}}
		for _, fk := range fileKinds {
			d := s.get(fk.def)
			comp.files[fk.kind] = fileSpec{candidates: s.get(fk.list).strings(), def: d.str(), hasDef: d != nil}
		}
		out = append(out, comp)
	}
	return out, sec
}

// versionMapping maps Kubernetes versions to benchmark versions.
func (c *config) versionMapping() map[string]string {
	m := map[string]string{}
	n := c.root.get("version_mapping")
	if n == nil || n.kind != yaml.MappingNode {
		return m
	}
	for _, k := range n.keys {
		m[k] = n.fields[k].str()
	}
	return m
}

// targets lists the targets of a benchmark version (its files' names).
func (c *config) targets(version string) ([]string, bool) {
	n := c.root.get("target_mapping")
	if n == nil || n.kind != yaml.MappingNode {
		return nil, false
	}
	t, ok := n.fields[strings.ToLower(version)]
	if !ok {
		return nil, false
	}
	return t.strings(), true
}

// BenchmarkVersion maps a Kubernetes version ("1.34", "v1.34.2") to a
// benchmark version with the directory's version_mapping, going down one
// minor version at a time as kube-bench does.
func BenchmarkVersion(dir, kubeVersion string) (string, error) {
	cfg, err := readTopConfig(dir)
	if err != nil {
		return "", err
	}
	return cfg.benchmarkVersion(kubeVersion)
}

func readTopConfig(dir string) (*config, error) {
	root, ps := readConfig(filepath.Join(dir, ConfigFile))
	if len(ps) > 0 {
		return nil, &checks.LoadError{Problems: ps}
	}
	return &config{root: root}, nil
}

func (c *config) benchmarkVersion(kubeVersion string) (string, error) {
	kv := baseVersion(kubeVersion)
	m := c.versionMapping()
	if len(m) == 0 {
		return "", fmt.Errorf("%s has no version_mapping", ConfigFile)
	}
	for v := kv; v != ""; v = decrementVersion(v) {
		if b, ok := m[v]; ok {
			return b, nil
		}
		if v == defaultKubeVersion {
			break
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return "", fmt.Errorf("no benchmark version for Kubernetes %s in version_mapping (%s)", kubeVersion, strings.Join(keys, ", "))
}

// baseVersion reduces "v1.34.2" or "1.34.2-eks" to "1.34"; other forms
// (a platform's name, "eks-1.2.0") are kept as they are.
func baseVersion(v string) string {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.SplitN(s, ".", 3)
	if len(parts) >= 2 {
		if _, err := strconv.Atoi(parts[0]); err == nil {
			minor := parts[1]
			if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
				minor = minor[:i]
			}
			if minor != "" {
				return parts[0] + "." + minor
			}
		}
	}
	return strings.ToLower(s)
}

// decrementVersion turns "1.34" into "1.33", and "1.1" into "".
func decrementVersion(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return ""
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil || minor <= 1 {
		return ""
	}
	parts[1] = strconv.Itoa(minor - 1)
	return strings.Join(parts, ".")
}
