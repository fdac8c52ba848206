package report

import (
	"fmt"
	"io"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
)

// TableStream writes a scan's summary view (BySummary) as its results come
// (see scan.Options.Streamed): it keeps the roll-ups and, per failed item,
// its counts and first few asset names, never a row per result. The asset
// and item views list every finding, and are written from a whole report.
type TableStream struct {
	rollups *Rollups
	view    *summaryView
}

// NewTableStream returns a stream of the summary view; other views are
// refused.
func NewTableStream(opts TableOptions) (*TableStream, error) {
	if opts.View != BySummary {
		return nil, fmt.Errorf("the %s view lists every finding: it is written from the whole report", opts.View)
	}
	return &TableStream{rollups: NewRollups(), view: newSummaryView(opts)}, nil
}

// Add takes one asset's results; a scan calls it one call at a time.
func (s *TableStream) Add(a assets.Asset, rs []results.Result) {
	s.rollups.Add(a, rs)
	for i := range rs {
		s.view.add(a.Name, &rs[i])
	}
}

// Write writes the view of rep (whose Results are empty: they were added).
func (s *TableStream) Write(w io.Writer, rep *results.Report) error {
	s.view.write(w, rep, s.rollups.Summary(rep))
	return nil
}
