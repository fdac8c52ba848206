package console

// Server-side render time of the console's pages on the fleet store
// (internal/fleet: 10,000 assets, 150 items, 1.5 million results), and the
// weight of a page with its style sheet and script. The fleet is built and
// ingested only when the benchmark runs:
//
//	go test ./console/ -run '^$' -bench Fleet -benchtime 20x -timeout 30m

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/baselinehq/baseline/internal/fleet"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// fleetConsole is a console over the ingested fleet store, and a session
// cookie of a full-access key.
func fleetConsole(b *testing.B) (*Console, http.Handler, *http.Cookie, uint64) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	d, err := fleet.Build()
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := runner.New(ctx, d.Catalog, db, runner.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	task, err := db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err == nil {
		err = db.CompleteTask(ctx, task.ID, d.Report)
	}
	if err == nil {
		err = db.EnsurePeriodTasks(ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "fleet store: %d results ingested in %s\n", len(d.Report.Results), time.Since(start).Round(time.Millisecond))
	key := server.Key{SecretID: "AKIDbench", SecretKey: "bench-secret"}
	api, err := server.New(db, r, server.Options{Keys: []server.Key{key}, Logger: log, ExportDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(Options{API: api, Store: db, Catalog: d.Catalog, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	token, _ := c.sessions.create(key)
	return c, Handler(c, api), &http.Cookie{Name: cookieName, Value: token}, d.ItemID
}

// get serves one GET and returns the body, failing on another status
// than 200.
func get(b *testing.B, h http.Handler, cookie *http.Cookie, path string) []byte {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d\n%.500s", path, w.Code, w.Body.String())
	}
	return w.Body.Bytes()
}

func BenchmarkPagesFleet(b *testing.B) {
	c, h, cookie, item := fleetConsole(b)
	// The trend is computed in the background once per finished task; the
	// first computation is measured here, then every render uses it.
	start := time.Now()
	if err := c.trends.refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "trend of the fleet's task, every type: computed in %s\n", time.Since(start).Round(time.Millisecond))
	if _, ready := c.trends.windows("ASSET_CONTAINER"); !ready {
		b.Fatal("the trend is not ready after a refresh")
	}
	static := len(get(b, h, nil, "/console/static/console.css")) + len(get(b, h, nil, "/console/static/console.js"))
	for _, p := range []struct{ name, path string }{
		{"overview", "/console/"},
		{"items-100", "/console/type/container?per=100"},
		{"items-100-high-failed", "/console/type/container?per=100&risk=RISK_HIGH&result=RESULT_FAILED"},
		{"item-100-failing-assets", fmt.Sprintf("/console/item/%d?per=100", item)},
		{"assets-100-page-50", "/console/assets?type=container&result=RESULT_FAILED&per=100&page=50"},
	} {
		b.Run(p.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				size = len(get(b, h, cookie, p.path))
			}
			b.ReportMetric(float64(size), "html-bytes")
			b.ReportMetric(float64(size+static), "page-bytes")
		})
	}
}
