// Package consoletest drives the console in a real browser: headless
// Chromium (Debian's, through chromedp) against a real `baseline serve`
// over a store filled by a real scan of the local Docker engine, with the
// CLI as the reference for every figure. Screenshots of each page at 390
// and 1280 pixels wide are written to BASELINE_ARTIFACTS (or the test's
// temporary directory when it is unset).
package consoletest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
)

// The daemon's keys: full access and read-only.
const (
	fullID  = "AKIDconsoleFull"
	fullKey = "console-full-secret-0123456789abcdef"
	roID    = "AKIDconsoleReadOnly"
	roKey   = "console-read-only-secret-fedcba987654"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// summary is `baseline summary --format json`, by asset type.
func summary(t *testing.T, bin, data string) map[string]store.AssetSummary {
	t.Helper()
	var list []store.AssetSummary
	if err := json.Unmarshal(testbin.Run(t, bin, "summary", "--data-dir", data, "--format", "json"), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]store.AssetSummary{}
	for _, s := range list {
		out[s.AssetType.Short()] = s
	}
	return out
}

// daemon starts `baseline serve` on a free loopback port with both keys,
// and the console on another too (console.listen);
// each client address may fail authentication 3 times, refilled once a
// minute. It is stopped with SIGTERM at cleanup.
func daemon(t *testing.T, bin, data string) (base, consoleBase string, log *testhost.Buffer) {
	t.Helper()
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	addr, consoleAddr := free(), free()
	cfg := fmt.Sprintf(`log_format: text
shutdown_grace: 10s
console:
  listen: %s
api:
  auth_failures_per_second: 0.0166
  auth_failure_burst: 3
  keys:
    - secret_id: %s
      secret_key: %s
    - secret_id: %s
      secret_key: %s
      read_only: true
`, consoleAddr, fullID, fullKey, roID, roKey)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	log = &testhost.Buffer{}
	cmd := exec.Command(bin, "serve", "--config", path, "--listen", addr, "--data-dir", data)
	cmd.Env = testbin.CleanEnv()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("baseline serve did not stop within 20s of SIGTERM")
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		if conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			conn.Close()
			return "http://" + addr, "http://" + consoleAddr, log
		}
		select {
		case <-exited:
			t.Fatalf("baseline serve exited before listening\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baseline serve did not listen within 20s\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browser is a headless Chromium tab that records every request it makes
// and the status of every response.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	requests []string
	statuses map[string]int64
}

func newBrowser(t *testing.T, exe string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	b := &browser{t: t, statuses: map[string]int64{}}
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithListener(func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, ev.Request.URL)
		case *network.EventResponseReceived:
			b.statuses[ev.Response.URL] = ev.Response.Status
		}
	}))
	t.Cleanup(cancelTab)
	b.ctx = ctx
	return b
}

// do runs actions, failing the test on an error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// await evaluates an expression that gives a promise.
func await[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// open navigates to a console path and waits for its main element.
func (b *browser) open(base, path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// navigated runs js (a click, a submit) and waits until the next page has
// loaded.
func (b *browser) navigated(js string) {
	b.t.Helper()
	eval[bool](b, `window.__before = 1; `+js+`; true`)
	b.waitFor(`typeof window.__before === "undefined" && document.readyState === "complete" && !!document.querySelector("main")`)
}

// click clicks the element and waits for the next page.
func (b *browser) click(sel string) {
	b.t.Helper()
	if !eval[bool](b, fmt.Sprintf(`!!document.querySelector(%q)`, sel)) {
		b.t.Fatalf("no %s on %s", sel, b.path())
	}
	b.navigated(fmt.Sprintf(`document.querySelector(%q).click()`, sel))
}

// waitFor polls a JavaScript condition until it holds (a page in between
// may fail to evaluate), for at most a minute.
func (b *browser) waitFor(cond string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited a minute for %s (last error %v) on %s", cond, err, b.path())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// path is the tab's path and query.
func (b *browser) path() string {
	v, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	return v
}

// login logs in through the login page.
func (b *browser) login(base, id, key string) {
	b.t.Helper()
	b.open(base, "/console/login")
	b.do(chromedp.SetValue(chromedp.CSS("#secret_id"), id), chromedp.SetValue(chromedp.CSS("#secret_key"), key))
	b.click(`form.login button[type=submit]`)
}

// status is the HTTP status of the last response for a URL.
func (b *browser) status(url string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.statuses[url]
}

// screenshots keeps a screenshot of the current page at 390 and 1280
// pixels wide.
func (b *browser) screenshots(dir, name string) {
	b.t.Helper()
	for _, w := range []int64{390, 1280} {
		b.do(chromedp.EmulateViewport(w, 900))
		if got := eval[int64](b, `document.documentElement.scrollWidth`); got > w {
			b.t.Errorf("%s is %d px wide in a %d px window: it scrolls sideways", name, got, w)
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("console-%s-%d.png", name, w))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do(chromedp.EmulateViewport(1280, 900))
}

// from127 is an HTTP client whose connections come from 127.0.0.2, so that
// its failed logins are counted against another address than the
// browser's; it follows no redirect.
func from127(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}
