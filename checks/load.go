package checks

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// StandardFile is the file that makes a directory a standard.
const StandardFile = "standard.yaml"

// Tree is one tree of definitions to load: a file system and the name
// used for it in positions and in Standard.Origin.
type Tree struct {
	FS     fs.FS
	Origin string
	// Parsed, when set, is the tree's files as Precompile parsed them
	// ahead: a file whose content is the one parsed is taken from it, and
	// only the others are parsed.
	Parsed string
}

// Load reads every standard from the given trees. A directory holding a
// standard.yaml is a standard; every other YAML file in it holds its items.
// Every problem in every file is reported at once.
func Load(trees ...Tree) (*Catalog, error) {
	cat := &Catalog{items: map[uint64]*Item{}}
	var problems []Problem
	seenStd := map[string]Position{}
	for _, tree := range trees {
		stds, ps := loadTree(tree)
		problems = append(problems, ps...)
		for _, s := range stds {
			pos := Position{File: path.Join(tree.Origin, s.ID), Line: 1}
			if len(s.Items) > 0 {
				pos = s.Items[0].Pos
			}
			if prev, dup := seenStd[s.ID]; dup {
				problems = append(problems, Problem{pos, fmt.Sprintf("standard %q is already defined at %s", s.ID, prev)})
				continue
			}
			seenStd[s.ID] = pos
			for _, it := range s.Items {
				if prev, dup := cat.items[it.ID]; dup {
					problems = append(problems, Problem{it.Pos, fmt.Sprintf("item id %d is already used by %s %s at %s", it.ID, prev.Standard.ID, prev.Number, prev.Pos)})
					continue
				}
				cat.items[it.ID] = it
			}
			cat.Standards = append(cat.Standards, s)
		}
	}
	if len(problems) > 0 {
		return nil, NewLoadError(problems)
	}
	return cat, nil
}

// loadTree finds the standards of one tree.
func loadTree(tree Tree) ([]*Standard, []Problem) {
	var problems []Problem
	byDir := map[string][]string{}
	err := fs.WalkDir(tree.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if isDefinitionFile(p) {
			byDir[path.Dir(p)] = append(byDir[path.Dir(p)], p)
		}
		return nil
	})
	if err != nil {
		return nil, []Problem{{Position{File: tree.Origin}, err.Error()}}
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	parsed := decodeParsed(tree.Parsed)
	var stds []*Standard
	for _, dir := range dirs {
		files := byDir[dir]
		sort.Slice(files, func(i, j int) bool { // standard.yaml first
			fi, fj := path.Base(files[i]) == StandardFile, path.Base(files[j]) == StandardFile
			if fi != fj {
				return fi
			}
			return files[i] < files[j]
		})
		if path.Base(files[0]) != StandardFile {
			for _, f := range files {
				problems = append(problems, Problem{Position{path.Join(tree.Origin, f), 1}, "not part of a standard: no " + StandardFile + " in its directory"})
			}
			continue
		}
		s, ps := loadStandard(tree, files, parsed)
		if len(ps) > 0 && parsed != nil {
			// Say where, in the YAML: a problem's lines come from there.
			s, ps = loadStandard(tree, files, nil)
		}
		problems = append(problems, ps...)
		if s != nil {
			stds = append(stds, s)
		}
	}
	return stds, problems
}

// loadStandard loads one standard directory: parse strictly (or take
// the files parsed ahead), validate, compile.
func loadStandard(tree Tree, files []string, parsed map[string]*parsedFile) (*Standard, []Problem) {
	var problems []Problem
	var std *Standard
	numbers := map[string]Position{}
	for i, f := range files {
		def, loc, ps := readFile(tree, f, parsed)
		problems = append(problems, ps...)
		if def == nil {
			if i == 0 {
				return nil, problems
			}
			continue
		}
		if i == 0 {
			var ps []Problem
			std, ps = compileStandard(def.Standard, loc, tree.Origin)
			problems = append(problems, ps...)
			if std == nil {
				return nil, problems
			}
		} else if def.Standard != nil {
			problems = append(problems, loc.problem(loc.line("standard"), "standard header belongs in "+StandardFile))
		}
		for j := range def.Items {
			it, ps := compileItem(&def.Items[j], def, std, loc.item(j))
			problems = append(problems, ps...)
			if it == nil {
				continue
			}
			if prev, dup := numbers[it.Number]; dup {
				problems = append(problems, Problem{it.Pos, fmt.Sprintf("number %q is already used at %s", it.Number, prev)})
				continue
			}
			numbers[it.Number] = it.Pos
			std.Items = append(std.Items, it)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return std, nil
}

// readFile gives the definitions of one file of a tree and the locator
// of their lines: parsed ahead if the file is the one parsed, else parsed
// now.
func readFile(tree Tree, f string, parsed map[string]*parsedFile) (*fileDef, locator, []Problem) {
	name := path.Join(tree.Origin, f)
	if p := parsed[f]; p != nil && len(p.ItemLines) == len(p.Def.Items) && p.matches(tree.FS, f) {
		return &p.Def, locator{file: name, itemLines: p.ItemLines}, nil
	}
	data, err := readLimited(tree.FS, f)
	if err != nil {
		return nil, locator{}, []Problem{{Position{name, 0}, err.Error()}}
	}
	def, root, ps := parseFile(name, data)
	return def, locator{file: name, root: root}, ps
}

// readLimited reads a definition file, no further than MaxFileSize.
func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return ReadLimited(f)
}

var typeNames = strings.NewReplacer(
	"checks.fileDef", "file", "checks.standardDef", "standard", "checks.itemDef", "item",
	"checks.sourceDef", "source", "checks.conditionDef", "only_if condition",
	"checks.testsDef", "tests", "checks.testItemDef", "test item", "checks.compareDef", "compare",
)

// parseFile decodes one file strictly: unknown keys and wrong types are
// reported with their lines. The file is parsed once: the node tree gives
// the lines, its decode the definitions, and a walk of it against the
// definition types the unknown keys.
func parseFile(name string, data []byte) (*fileDef, *yaml.Node, []Problem) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, yamlProblems(name, err)
	}
	if CountNodes(&root, MaxNodes) > MaxNodes {
		return nil, nil, []Problem{TooManyNodes(name)}
	}
	var def fileDef
	if root.Kind == 0 { // an empty file
		return &def, &root, nil
	}
	err := root.Decode(&def)
	var te *yaml.TypeError
	if err != nil && !errors.As(err, &te) {
		return nil, nil, yamlProblems(name, err)
	}
	unknown := unknownFields(&root, reflect.TypeOf(def))
	switch {
	case err == nil && len(unknown) == 0:
		return &def, &root, nil
	case err == nil:
		// Report the unknown keys, and go on validating what did decode so
		// that every problem of the file shows at once.
		return &def, &root, yamlProblems(name, &yaml.TypeError{Errors: unknown})
	}
	return nil, nil, yamlProblems(name, &yaml.TypeError{Errors: mergeByLine(te.Errors, unknown)})
}

// mergeByLine merges two lists of yaml.v3 error messages, each in document
// order, into one in document order, as one strict decode reports them.
func mergeByLine(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if messageLine(b[0]) < messageLine(a[0]) {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// messageLine is the line a yaml.v3 message starts with, 0 if none.
func messageLine(m string) int {
	if sm := yamlLine.FindStringSubmatch(m); sm != nil {
		n, _ := strconv.Atoi(sm[1])
		return n
	}
	return 0
}

func yamlProblems(name string, err error) []Problem { return YAMLProblems(name, err, typeNames) }
