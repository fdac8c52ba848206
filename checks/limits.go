package checks

import (
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Definition files are bounded, so that a broken or hostile file (a
// user's --benchmarks directory, a kube-bench directory, an upload) fails
// loading with its name instead of exhausting memory.
const (
	// MaxFileSize bounds one definition file: ten times the largest
	// shipped one. It is read no further.
	MaxFileSize = 1 << 20
	// MaxNodes bounds the YAML values (scalars, sequences, mappings,
	// aliases) of one definition file: the largest shipped has about
	// fifteen thousand.
	MaxNodes = 200_000
)

// ReadLimited reads a definition file from r, no further than one byte
// past MaxFileSize; a larger file is an error.
func ReadLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("the file is larger than %d bytes, the limit of a definition file", MaxFileSize)
	}
	return data, nil
}

// ReadFileLimited reads a definition file at a path with ReadLimited; the
// problem names the file.
func ReadFileLimited(path string) ([]byte, []Problem) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []Problem{{Position{File: path}, err.Error()}}
	}
	defer f.Close()
	data, err := ReadLimited(f)
	if err != nil {
		return nil, []Problem{{Position{File: path}, err.Error()}}
	}
	return data, nil
}

// TooManyNodes is the problem of a file with more than MaxNodes YAML
// values.
func TooManyNodes(file string) Problem {
	return Problem{Position{File: file, Line: 1}, fmt.Sprintf("more than %d YAML values, the limit of a definition file", MaxNodes)}
}

// CountNodes counts the values of a parsed YAML document (an alias counts
// once), stopping past limit.
func CountNodes(n *yaml.Node, limit int) int {
	count := 0
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || count > limit {
			return
		}
		count++
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return count
}
