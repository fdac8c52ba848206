// Package benchmarks holds the built-in standards as YAML, embedded in the
// binary. The format is documented in README.md beside this file.
package benchmarks

import (
	"embed"
	"io/fs"
)

//go:embed */*.yaml
var files embed.FS

// FS returns the built-in standards: one directory per standard.
func FS() fs.FS { return files }

// Origin names the built-in tree in positions and reports.
const Origin = "builtin"
