package checks

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrInvalid marks a definition that failed to load.
var ErrInvalid = errors.New("invalid benchmark definition")

// Problem is one thing wrong with a definition, at a file and line.
type Problem struct {
	Pos Position
	Msg string
}

func (p Problem) String() string { return p.Pos.String() + ": " + p.Msg }

// LoadError lists every problem found while loading; nothing is loaded when
// there is one.
type LoadError struct{ Problems []Problem }

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *LoadError) Unwrap() error { return ErrInvalid }

// NewLoadError orders problems by file and line; nil when there are none.
func NewLoadError(problems []Problem) *LoadError {
	if len(problems) == 0 {
		return nil
	}
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].Pos.File != problems[j].Pos.File {
			return problems[i].Pos.File < problems[j].Pos.File
		}
		return problems[i].Pos.Line < problems[j].Pos.Line
	})
	return &LoadError{Problems: problems}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// YAMLProblems turns a YAML decoding error into problems at file:line,
// with Go type names replaced by the format's own words (names).
func YAMLProblems(name string, err error, names *strings.Replacer) []Problem {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		p := Problem{Pos: Position{File: name}, Msg: names.Replace(m)}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			p.Pos.Line, _ = strconv.Atoi(sm[1])
			p.Msg = names.Replace(sm[2])
		}
		out = append(out, p)
	}
	return out
}

// locator finds the line of a field inside a parsed YAML document. A
// file parsed ahead (Tree.Parsed) has no document: its locator knows the
// line of each item, and gives it for every field of the item.
type locator struct {
	file string
	root *yaml.Node
	path []any
	// itemLines are the lines of the items of a file parsed ahead; line
	// is the line of the item such a locator is at.
	itemLines []int
	itemLine  int
}

// at returns a locator for a nested node (string keys, int indices).
func (l locator) at(path ...any) locator {
	if l.root == nil {
		return l
	}
	p := append(append([]any{}, l.path...), path...)
	return locator{file: l.file, root: l.root, path: p}
}

// item returns the locator of the file's item i.
func (l locator) item(i int) locator {
	if l.root == nil {
		if i < len(l.itemLines) {
			l.itemLine = l.itemLines[i]
		}
		return l
	}
	return l.at("items", i)
}

// line returns the line of the node at the locator's path plus path; it
// falls back to the deepest node found.
func (l locator) line(path ...any) int {
	if l.root == nil {
		return l.itemLine
	}
	return NodeLine(l.root, append(append([]any{}, l.path...), path...)...)
}

// NodeLine returns the line of the node at a path of mapping keys
// (strings) and sequence indices (ints) in a parsed YAML document, or of
// the deepest node found on the way.
func NodeLine(root *yaml.Node, path ...any) int {
	n := root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, step := range path {
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

func (l locator) problem(line int, format string, args ...any) Problem {
	return Problem{Position{l.file, line}, fmt.Sprintf(format, args...)}
}
