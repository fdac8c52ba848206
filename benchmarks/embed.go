// Package benchmarks holds the built-in standards as YAML, embedded in the
// binary. The format is documented in README.md beside this file.
package benchmarks

import (
	"embed"
	"io/fs"

	"github.com/baselinehq/baseline/checks"
)

//go:embed */*.yaml
var files embed.FS

// parsed is the YAML files parsed ahead (checks.Precompile), so that a
// scan does not parse them again; TestParsedDefinitions keeps it in step
// with the YAML (-update-parsed rewrites it).
//
//go:embed parsed.bin
var parsed string

// FS returns the built-in standards: one directory per standard.
func FS() fs.FS { return files }

// Tree is the built-in standards as checks.Load takes them, with their
// parsed form (a file edited since it was written is parsed again).
func Tree() checks.Tree { return checks.Tree{FS: files, Origin: Origin, Parsed: parsed} }

// Origin names the built-in tree in positions and reports.
const Origin = "builtin"
