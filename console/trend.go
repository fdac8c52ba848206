package console

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
)

// trendDays are the windows the overview shows.
var trendDays = []int{7, 30}

// trends keeps each type's pass rate per finished task of the last 30
// days. A task's figures never change once it finished, and computing them
// reads all its results (about half a second per type for 1.5 million), so
// they are computed once per task, in the background: the overview shows
// what is known and never waits for it.
type trends struct {
	store Store
	now   func() time.Time

	mu      sync.Mutex
	running bool
	ready   bool
	seen    map[int64]bool // the finished tasks folded in
	points  map[assets.Type]map[int64]store.TrendPoint
}

func newTrends(st Store, now func() time.Time) *trends {
	return &trends{store: st, now: now, seen: map[int64]bool{}, points: map[assets.Type]map[int64]store.TrendPoint{}}
}

// kick starts a refresh in the background unless one runs.
func (tr *trends) kick() {
	tr.mu.Lock()
	if tr.running {
		tr.mu.Unlock()
		return
	}
	tr.running = true
	tr.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		_ = tr.refresh(ctx)
	}()
}

// refresh folds in the tasks finished since the last refresh (of the last
// 30 days) and forgets older points.
func (tr *trends) refresh(ctx context.Context) error {
	defer func() {
		tr.mu.Lock()
		tr.running = false
		tr.mu.Unlock()
	}()
	since := tr.now().AddDate(0, 0, -trendDays[len(trendDays)-1])
	list, _, err := tr.store.Tasks(ctx, store.Query{Limit: store.MaxLimit,
		Filters: []store.Filter{{Name: "CheckStatus", Values: []string{string(checks.CheckFinished)}, ExactMatch: true}}})
	if err != nil {
		return err
	}
	// Trend gives the newest tasks' points: ask for as many as reach the
	// oldest task not folded in yet (a task may finish after a newer one).
	tr.mu.Lock()
	n := 0
	var window []int64
	for i, t := range list {
		if t.FinishedAt.Before(since) {
			continue
		}
		window = append(window, t.ID)
		if !tr.seen[t.ID] {
			n = i + 1
		}
	}
	tr.mu.Unlock()
	got := map[assets.Type][]store.TrendPoint{}
	if n > 0 {
		for _, t := range assets.Types {
			if got[t], err = tr.store.Trend(ctx, t, n); err != nil {
				return err
			}
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for t, pts := range got {
		if tr.points[t] == nil {
			tr.points[t] = map[int64]store.TrendPoint{}
		}
		for _, p := range pts {
			tr.points[t][p.TaskID] = p
		}
	}
	tr.seen = map[int64]bool{}
	for _, id := range window {
		tr.seen[id] = true
	}
	for _, m := range tr.points {
		for id, p := range m {
			if p.FinishedAt.Before(since) {
				delete(m, id)
			}
		}
	}
	tr.ready = true
	return nil
}

// windows gives the type's pass rate over the last 7 and 30 days from
// what is known, and whether anything is known yet.
func (tr *trends) windows(t assets.Type) ([]trendWindow, bool) {
	tr.mu.Lock()
	var pts []store.TrendPoint
	for _, p := range tr.points[t] {
		pts = append(pts, p)
	}
	ready := tr.ready
	tr.mu.Unlock()
	sortPoints(pts)
	now := tr.now()
	var out []trendWindow
	for _, days := range trendDays {
		w := trendWindow{Days: days}
		since := now.AddDate(0, 0, -days)
		var in []store.TrendPoint
		for _, p := range pts {
			if !p.FinishedAt.Before(since) {
				in = append(in, p)
			}
		}
		w.Tasks = len(in)
		if len(in) > 0 {
			w.First, w.Last = in[0].PassRate, in[len(in)-1].PassRate
			sum := 0.0
			var xy []string
			for i, p := range in {
				sum += p.PassRate
				x := 50.0
				if len(in) > 1 {
					x = 100 * float64(i) / float64(len(in)-1)
				}
				xy = append(xy, fmt.Sprintf("%.1f,%.1f", x, 30-0.3*p.PassRate))
			}
			w.Mean = math.Round(100*sum/float64(len(in))) / 100
			w.Points = strings.Join(xy, " ")
		}
		out = append(out, w)
	}
	return out, ready
}

// sortPoints orders points oldest first.
func sortPoints(pts []store.TrendPoint) {
	for i := 1; i < len(pts); i++ {
		for j := i; j > 0 && pts[j].TaskID < pts[j-1].TaskID; j-- {
			pts[j], pts[j-1] = pts[j-1], pts[j]
		}
	}
}
