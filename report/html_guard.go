package report

import (
	"bytes"
	"html/template"
	"io"
	"strconv"
)

// htmlGuard buffers the export's output and writes every "sha256=" in it
// as "sha256&#61;", which a browser shows the same. Text taken from assets,
// items or waivers then can never carry a digest marker: the only markers
// in the file are the trailer's, which Integrity.Finish writes past this
// writer, so `baseline report verify` cannot be pointed at a digest that an
// asset name planted.
type htmlGuard struct {
	w   io.Writer
	buf []byte
	err error
}

var (
	htmlGuardFrom = []byte("sha256=")
	htmlGuardTo   = []byte("sha256&#61;")
)

const htmlGuardChunk = 64 << 10

func newHTMLGuard(w io.Writer) *htmlGuard {
	return &htmlGuard{w: w, buf: make([]byte, 0, htmlGuardChunk+4096)}
}

func (g *htmlGuard) Write(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	g.buf = append(g.buf, p...)
	if len(g.buf) >= htmlGuardChunk {
		g.flush(false)
	}
	return len(p), g.err
}

// Flush writes everything buffered.
func (g *htmlGuard) Flush() error {
	if g.err == nil {
		g.flush(true)
	}
	return g.err
}

// flush writes the buffer out with the markers defused; unless all, it
// keeps the last bytes that could begin a match with the next write.
func (g *htmlGuard) flush(all bool) {
	end := len(g.buf)
	if !all {
		end -= len(htmlGuardFrom) - 1
	}
	pos := 0
	for g.err == nil {
		i := bytes.Index(g.buf[pos:], htmlGuardFrom)
		if i < 0 || pos+i >= end {
			break
		}
		g.write(g.buf[pos : pos+i])
		g.write(htmlGuardTo)
		pos += i + len(htmlGuardFrom)
	}
	stop := max(pos, end)
	g.write(g.buf[pos:stop])
	g.buf = g.buf[:copy(g.buf, g.buf[stop:])]
}

func (g *htmlGuard) str(s string)  { g.buf = append(g.buf, s...) }
func (g *htmlGuard) text(s string) { g.buf = append(g.buf, template.HTMLEscapeString(s)...) }
func (g *htmlGuard) uint(n uint64) { g.buf = strconv.AppendUint(g.buf, n, 10) }

func (g *htmlGuard) write(p []byte) {
	if g.err == nil && len(p) > 0 {
		_, g.err = g.w.Write(p)
	}
}
