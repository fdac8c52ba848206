// Package imagefs reads an image's file system from its layers (tar
// streams, in order) without extracting anything: what each layer adds
// and removes (whiteouts), and the final file system's setuid and setgid
// files and the files that look like secrets. Only headers and the first
// bytes of small files are read; paths are names, never opened on disk.
package imagefs

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Files are the setuid and setgid files of an image's final file system
// (after every layer, whiteouts applied), and the files of its layers
// that look like secrets.
type Files struct {
	Setuid []string
	Setgid []string
	// Secrets are the secret-looking files, "PATH (why)"; a file that a
	// later layer removes is still in the image's layers, and listed.
	Secrets []string
}

// Bounds on what one image may hold, so that a hostile archive cannot
// exhaust memory: entries across all its layers, a path's length, and the
// length of all its paths together (what the index holds).
const (
	MaxEntries   = 1_000_000
	MaxPath      = 4096
	MaxPathBytes = 128 << 20
)

// peekSize is how much of a small file is read to recognise a private key;
// larger files (maxPeekFile) are never read.
const (
	peekSize    = 4096
	maxPeekFile = 1 << 20
)

const (
	flagSetuid = 1 << iota
	flagSetgid
)

// Layer is what one layer adds and removes.
type Layer struct {
	files     map[string]uint8 // path → setuid/setgid flags (0 for a plain entry)
	secrets   map[string]string
	whiteouts []string // paths deleted from lower layers
	opaques   []string // directories whose lower content is hidden
}

// Reader indexes the layers of one image, counting entries against
// MaxEntries across them.
type Reader struct {
	entries   int
	pathBytes int
	peek      []byte
}

// ErrTooManyEntries is an image whose layers hold more than MaxEntries
// entries.
var ErrTooManyEntries = fmt.Errorf("the image's layers hold more than %d entries or %d bytes of names, the limits", MaxEntries, MaxPathBytes)

// Index reads one layer's tar stream to its end.
func (rd *Reader) Index(r io.Reader) (*Layer, error) {
	if rd.peek == nil {
		rd.peek = make([]byte, peekSize)
	}
	tr := tar.NewReader(r)
	li := &Layer{files: map[string]uint8{}, secrets: map[string]string{}}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return li, nil
		}
		if err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
		if rd.entries++; rd.entries > MaxEntries {
			return nil, ErrTooManyEntries
		}
		if len(hdr.Name) > MaxPath {
			return nil, fmt.Errorf("layer: an entry's name is longer than %d bytes", MaxPath)
		}
		if rd.pathBytes += len(hdr.Name); rd.pathBytes > MaxPathBytes {
			return nil, ErrTooManyEntries
		}
		p := "/" + strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		dir, base := path.Split(p)
		switch {
		case base == ".wh..wh..opq":
			li.opaques = append(li.opaques, path.Clean(dir))
			continue
		case strings.HasPrefix(base, ".wh."):
			li.whiteouts = append(li.whiteouts, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
			continue
		}
		var f uint8
		if hdr.Typeflag == tar.TypeReg {
			if hdr.Mode&0o4000 != 0 {
				f |= flagSetuid
			}
			if hdr.Mode&0o2000 != 0 {
				f |= flagSetgid
			}
			if why := rd.secret(p, hdr, tr); why != "" {
				li.secrets[p] = why
			}
		}
		li.files[p] = f
	}
}

// secret says why a regular file looks like a secret, or "": by its name,
// or by a private key's PEM header within its first bytes.
func (rd *Reader) secret(p string, hdr *tar.Header, r io.Reader) string {
	if why := secretName(p); why != "" {
		return why
	}
	if hdr.Size <= 0 || hdr.Size > maxPeekFile {
		return ""
	}
	n, _ := io.ReadFull(r, rd.peek)
	if privateKeyHeader(rd.peek[:n]) {
		return "a private key (PEM header)"
	}
	return ""
}

// secretNames are file names that hold credentials by convention.
var secretNames = map[string]string{
	"id_rsa":           "an SSH private key (by its name)",
	"id_dsa":           "an SSH private key (by its name)",
	"id_ecdsa":         "an SSH private key (by its name)",
	"id_ed25519":       "an SSH private key (by its name)",
	".git-credentials": "git credentials (by its name)",
	".netrc":           "login credentials (by its name)",
	".pgpass":          "PostgreSQL passwords (by its name)",
}

func secretName(p string) string {
	if why, ok := secretNames[path.Base(p)]; ok {
		return why
	}
	if strings.HasSuffix(p, "/.aws/credentials") {
		return "AWS credentials (by its name)"
	}
	return ""
}

// privateKeyHeader reports whether b holds, at the start of a line, the
// PEM header of a private key ("-----BEGIN RSA PRIVATE KEY-----",
// "-----BEGIN OPENSSH PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----"…).
func privateKeyHeader(b []byte) bool {
	for {
		i := bytes.Index(b, []byte("-----BEGIN "))
		if i < 0 {
			return false
		}
		atLineStart := i == 0 || b[i-1] == '\n' || b[i-1] == '\r'
		rest := b[i+len("-----BEGIN "):]
		if end := bytes.IndexByte(rest, '\n'); end >= 0 {
			rest = rest[:end]
		}
		if atLineStart && bytes.HasSuffix(bytes.TrimRight(rest, "\r \t"), []byte("PRIVATE KEY-----")) {
			return true
		}
		b = b[i+1:]
	}
}

// Flatten applies the layers in order (whiteouts and opaque directories
// of each hide what lower layers hold) and lists the final setuid and
// setgid files, and every secret-looking file of every layer.
func Flatten(layers []*Layer) Files {
	state := map[string]uint8{}
	secrets := map[string]string{}
	for _, li := range layers {
		for _, w := range li.whiteouts {
			removeTree(state, w, true)
		}
		for _, o := range li.opaques {
			removeTree(state, o, false)
		}
		for p, f := range li.files {
			state[p] = f
		}
		for p, why := range li.secrets {
			secrets[p] = why
		}
	}
	var fs Files
	for p, f := range state {
		if f&flagSetuid != 0 {
			fs.Setuid = append(fs.Setuid, p)
		}
		if f&flagSetgid != 0 {
			fs.Setgid = append(fs.Setgid, p)
		}
	}
	for p, why := range secrets {
		if _, ok := state[p]; !ok {
			why += ", removed by a later layer but still in the image's layers"
		}
		fs.Secrets = append(fs.Secrets, p+" ("+why+")")
	}
	sort.Strings(fs.Setuid)
	sort.Strings(fs.Setgid)
	sort.Strings(fs.Secrets)
	return fs
}

// removeTree deletes p's descendants, and p itself when self is true.
func removeTree(state map[string]uint8, p string, self bool) {
	prefix := strings.TrimSuffix(p, "/") + "/"
	for k := range state {
		if (self && k == p) || strings.HasPrefix(k, prefix) {
			delete(state, k)
		}
	}
}
