package report

import (
	"io"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// TableStream writes a scan's table report as its results come (see
// scan.Options.Streamed), never holding a row per result: it keeps the
// roll-ups and, for the summary view (BySummary), per failed item its
// counts and first few asset names; for the asset and item views, which
// list every finding, it lays the findings out as they come, in tables of
// at most findingsChunk rows spooled to an unnamed temporary file.
type TableStream struct {
	opts     TableOptions
	rollups  *Rollups
	view     *summaryView
	findings *findings
}

// NewTableStream returns a stream of the view opts names; items are the
// items the scan may judge (a finding's row names its item), dir the
// directory of the findings' spool (the system's temporary directory when
// empty).
func NewTableStream(opts TableOptions, items []*checks.Item, dir string) *TableStream {
	s := &TableStream{opts: opts, rollups: NewRollups()}
	if opts.View == BySummary {
		s.view = newSummaryView(opts)
	} else {
		s.findings = newFindings(items)
		s.findings.dir = dir
	}
	return s
}

// Add takes one asset's results; a scan calls it one call at a time.
func (s *TableStream) Add(a assets.Asset, rs []results.Result) {
	s.rollups.Add(a, rs)
	for i := range rs {
		if s.view != nil {
			s.view.add(a.Name, &rs[i])
		} else {
			s.findings.add(a, &rs[i])
		}
	}
}

// Write writes the view of rep (whose Results are empty: they were added),
// as WriteTableWith writes it of the whole report.
func (s *TableStream) Write(w io.Writer, rep *results.Report) error {
	sum := s.rollups.Summary(rep)
	if s.view != nil {
		s.view.write(w, rep, sum)
		return nil
	}
	if s.opts.View == ByItem {
		itemTable(w, sum)
	} else {
		assetTable(w, sum)
	}
	if err := s.findings.write(w); err != nil {
		return err
	}
	failuresTable(w, rep)
	summaryTable(w, rep, sum)
	return nil
}
