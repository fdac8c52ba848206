package report

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
)

// JSONStream writes a scan's JSON report as its results come (see
// scan.Options.Streamed): each asset's results are encoded at once into a
// spool file, and only their roll-ups are kept. The document, whose
// summary comes before its results, is written at the end: the same bytes
// as WriteJSON gives for the report with every result in it.
//
// The spool is an unnamed temporary file (removed as soon as it is
// created), so that nothing of it outlives the process, however it ends.
type JSONStream struct {
	rollups *Rollups
	spool   *os.File
	out     *jsonWriter // encodes elements into spool
	n       int         // results written to spool
}

// NewJSONStream creates the spool in dir (the system's temporary
// directory when empty).
func NewJSONStream(dir string) (*JSONStream, error) {
	f, err := os.CreateTemp(dir, "baseline-results-*")
	if err != nil {
		return nil, fmt.Errorf("results spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("results spool: %w", err)
	}
	return &JSONStream{rollups: NewRollups(), spool: f, out: newJSONWriter(bufio.NewWriterSize(f, 64<<10))}, nil
}

// Add encodes one asset's results; a scan calls it in the report's order,
// one call at a time. A write error is kept and returned by Write.
func (s *JSONStream) Add(a assets.Asset, rs []results.Result) {
	s.rollups.Add(a, rs)
	for i := range rs {
		if s.n > 0 {
			s.out.raw(",\n")
		}
		s.out.raw("    ")
		s.out.result(&rs[i])
		s.n++
	}
}

// Write writes the document of rep (whose Results are empty: they were
// added) to w.
func (s *JSONStream) Write(w io.Writer, rep *results.Report, version string) error {
	if s.out.err == nil {
		s.out.err = s.out.w.Flush()
	}
	if s.out.err != nil {
		return fmt.Errorf("results spool: %w", s.out.err)
	}
	if _, err := s.spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("results spool: %w", err)
	}
	doc := newDocument(rep, s.rollups.Summary(rep), version)
	return writeDocument(w, &doc, func(j *jsonWriter) {
		j.key("Results")
		if s.n == 0 {
			j.raw("[]")
			j.end()
			return
		}
		j.raw("[\n")
		if j.err == nil {
			if _, err := j.w.ReadFrom(s.spool); err != nil {
				j.err = fmt.Errorf("results spool: %w", err)
			}
		}
		j.raw("\n  ]")
		j.end()
	})
}

// Close removes the spool.
func (s *JSONStream) Close() error { return s.spool.Close() }
