package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
)

// typeLabels name the asset types as the pages do.
var typeLabels = map[assets.Type]string{assets.Host: "Docker hosts", assets.Container: "Containers", assets.Image: "Images", assets.K8s: "Kubernetes"}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"label":  func(t any) string { return typeLabels[assets.Type(fmt.Sprint(t))] },
	"short":  func(t assets.Type) string { return t.Short() },
	"risk":   func(r checks.Risk) string { return r.Short() },
	"pct":    func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" },
	"when":   when,
	"ring":   ring,
	"add":    func(a, b int) int { return a + b },
	"result": resultWord,
	"has":    func(set map[string]bool, k string) bool { return set[k] },
	"secs":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " s" },
	"join":   func(ids []uint64) string { return joinIDs(ids) },
}

// when shows a time as a <time> element in UTC, which the page's script
// shows in the browser's zone: t is a time.Time or the store's
// "YYYY-MM-DD HH:MM:SS" (UTC); empty and zero times show as a dash.
func when(v any) template.HTML {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		if x == "" || strings.HasPrefix(x, "0000") {
			return "–"
		}
		p, err := time.Parse(time.DateTime, x)
		if err != nil {
			return template.HTML(template.HTMLEscapeString(x))
		}
		t = p
	}
	if t.IsZero() {
		return "–"
	}
	t = t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s UTC</time>`, t.Format(time.RFC3339), t.Format(time.DateTime)))
}

// ring is a pass-rate ring as inline SVG: a circle of circumference 100
// whose stroke covers the rate.
func ring(rate float64, label string) template.HTML {
	rate = min(max(rate, 0), 100)
	r := strconv.FormatFloat(rate, 'f', 2, 64)
	rest := strconv.FormatFloat(100-rate, 'f', 2, 64)
	return template.HTML(fmt.Sprintf(`<svg class="ring" viewBox="0 0 42 42" role="img" aria-label="%s"><circle class="ring-bg" cx="21" cy="21" r="15.9155" fill="none" stroke-width="5"/>`+
		`<circle class="ring-fg" cx="21" cy="21" r="15.9155" fill="none" stroke-width="5" stroke-dasharray="%s %s" stroke-dashoffset="25"/></svg>`,
		template.HTMLEscapeString(label), r, rest))
}

// resultWord is a result or an outcome in one lower-case word.
func resultWord(v any) string {
	s := fmt.Sprint(v)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "RESULT_"), "CHECK_")
	return strings.ToLower(strings.ReplaceAll(s, "_", " "))
}

func joinIDs(ids []uint64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(parts, ",")
}

// pager is the paging of a list whose page and size live in the URL.
type pager struct {
	Page, Per, Total int
	Prev, Next       string
	From, To         int
}

// newPager reads page and per from the URL (per at most 100).
func newPager(q url.Values, defPer int) (pager, error) {
	p := pager{Page: 1, Per: defPer}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return p, fmt.Errorf("%w: page: a number from 1 (got %q)", store.ErrInvalidParameter, v)
		}
		p.Page = n
	}
	if v := q.Get("per"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return p, fmt.Errorf("%w: per: a number from 1 to 100 (got %q)", store.ErrInvalidParameter, v)
		}
		p.Per = n
	}
	return p, nil
}

func (p pager) offset() int { return (p.Page - 1) * p.Per }

// done sets the links of a page of total rows, keeping every other
// parameter of the URL.
func (p *pager) done(u *url.URL, total, shown int) {
	p.Total = total
	p.From, p.To = p.offset()+1, p.offset()+shown
	if shown == 0 {
		p.From = 0
	}
	link := func(page int) string {
		q := u.Query()
		q.Set("page", strconv.Itoa(page))
		return u.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.offset()+shown < total {
		p.Next = link(p.Page + 1)
	}
}

// parseIDs reads a list of ids from form values (each may hold several,
// separated by commas or spaces).
func parseIDs(name string, values []string) ([]uint64, error) {
	var out []uint64
	for _, v := range values {
		for f := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
			id, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not an id", name, f)
			}
			out = append(out, id)
		}
	}
	return out, nil
}
