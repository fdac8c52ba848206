package report

import (
	"bufio"
	"io"
	"strconv"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// This file holds what the SARIF and JUnit encoders share: how an item and
// an asset are named, the waiver behind an ignored row, and the buffered
// output (their evidence text is in evidence.go).

// findingRuleID names an item across formats: "<StandardId>/<BenchmarkNumber>".
func findingRuleID(r results.Row) string { return r.StandardID + "/" + r.Number }

// findingAssetKey names an asset uniquely: "<AssetType>/<name>/<id>".
func findingAssetKey(r results.Row) string {
	return string(r.AssetType) + "/" + r.AssetName + "/" + strconv.FormatUint(r.AssetID, 10)
}

// findingWaivers finds the waiver behind an ignored row: by item, then by
// asset unless the waiver covers every asset; a waiver in force is
// preferred to a lapsed one.
type findingWaivers map[uint64][]store.WhitelistEntry

func newFindingWaivers(ws []store.WhitelistEntry) findingWaivers {
	fw := findingWaivers{}
	for _, w := range ws {
		fw[w.ItemID] = append(fw[w.ItemID], w)
	}
	return fw
}

func (fw findingWaivers) find(r results.Row) *findingWaiver {
	var lapsed *findingWaiver
	for i := range fw[r.ItemID] {
		w := &fw[r.ItemID][i]
		covers := w.AllAssets
		for _, id := range w.AssetIDs {
			covers = covers || id == r.AssetID
		}
		switch {
		case !covers:
		case !w.Lapsed:
			return (*findingWaiver)(w)
		case lapsed == nil:
			lapsed = (*findingWaiver)(w)
		}
	}
	return lapsed
}

type findingWaiver store.WhitelistEntry

// reason is the waiver's reason, or a placeholder when the row is ignored
// but its waiver is not among the export's (nil) or has no reason.
func (w *findingWaiver) reason() string {
	switch {
	case w == nil:
		return "the waiver is not in the export"
	case w.Reason == "":
		return "no reason given"
	}
	return w.Reason
}

// findingOut buffers an export's output in front of the integrity's
// writer. A bufio.Writer's first error sticks and Flush returns it, so the
// writes drop theirs.
type findingOut struct{ *bufio.Writer }

func newFindingOut(w io.Writer) findingOut { return findingOut{bufio.NewWriterSize(w, 64<<10)} }

func (o findingOut) str(s string) { _, _ = o.WriteString(s) }
func (o findingOut) raw(p []byte) { _, _ = o.Write(p) }
func (o findingOut) char(c byte)  { _ = o.WriteByte(c) }
