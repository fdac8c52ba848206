package consoletest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/store"
)

// item55 is CIS Docker 5.5: privileged containers are not used.
const item55 = "100505"

// fixture is the daemon, its store and the browser every step shares.
type fixture struct {
	bin, data, base, shots string
	consoleBase            string // console.listen
	log                    *testhost.Buffer
	b                      *browser
	priv                   string // the privileged container's name
}

func setup(t *testing.T) *fixture {
	exe := testhost.Chromium(t)
	cli := dockertest.Engine(t)
	f := &fixture{bin: testbin.Path(t), data: t.TempDir(), shots: testhost.Artifacts(t), priv: dockertest.Name("console-priv")}
	dockertest.Create(t, cli, f.priv, &container.Config{Image: "baseline-test/base:1", Cmd: []string{"sleep", "60"}},
		&container.HostConfig{Privileged: true})
	testbin.Run(t, f.bin, "scan", "--data-dir", f.data, "--progress", "never", "--no-kube", "--format", "json", "-o", filepath.Join(t.TempDir(), "scan.json"))
	f.base, f.consoleBase, f.log = daemon(t, f.bin, f.data)
	f.b = newBrowser(t, exe)
	return f
}

// TestConsole walks the console as its users do; each step names what it
// shows, and leaves screenshots of the pages it visits.
func TestConsole(t *testing.T) {
	f := setup(t)
	t.Logf("screenshots in %s", f.shots)
	steps := []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"security headers", securityHeaders},
		{"own listener", ownListener},
		{"wrong key refused and counted", wrongKey},
		{"read-only key", readOnly},
		{"rings equal the summary", rings},
		{"ring to evidence", ringToEvidence},
		{"filtered URL reloaded", filteredReload},
		{"batch ignore and un-ignore", ignoreAndRestore},
		{"recheck shows its task", recheck},
		{"period dialog", period},
		{"export verifies", export},
		{"times in the browser's zone", zone},
		{"screenshots", screenshots},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { f.b.t = t; s.fn(t, f) }) {
			break
		}
	}
	f.b.t = t
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	if len(f.b.requests) == 0 {
		t.Fatal("the browser recorded no request at all")
	}
	for _, r := range f.b.requests {
		// data: URLs load nothing (Chromium draws the time input's clock
		// icon from one).
		if !strings.HasPrefix(r, f.base+"/") && !strings.HasPrefix(r, "data:") {
			t.Errorf("a request went to another host: %s", r)
		}
	}
	t.Logf("%d requests, every one to %s", len(f.b.requests), f.base)
}

func securityHeaders(t *testing.T, f *fixture) {
	for _, path := range []string{"/console/login", "/console/", "/console/static/console.css"} {
		resp, err := from127("127.0.0.1").Get(f.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "http") {
			t.Errorf("%s: Content-Security-Policy %q allows inline code or another host", path, csp)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
	}
}

// ownListener: console.listen serves the console and export downloads,
// not the API.
func ownListener(t *testing.T, f *fixture) {
	c := from127("127.0.0.1")
	resp, err := c.Get(f.consoleBase + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("console.listen /console/login: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	resp, err = c.Get(f.consoleBase + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Errorf("console.listen /: %d to %q, want a redirect to the console", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Post(f.consoleBase+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("console.listen answers the API: POST / %d", resp.StatusCode)
	}
}

// wrongKey: a wrong key is refused in the browser; from another address,
// each failure counts, and past the budget (3) even the right key is
// refused before it is looked at.
func wrongKey(t *testing.T, f *fixture) {
	f.b.login(f.base, fullID, "not-the-key")
	if got := eval[string](f.b, `(document.querySelector("[data-error]")||{}).textContent||""`); !strings.Contains(got, "wrong") {
		t.Errorf("a wrong key shows %q, not a refusal", got)
	}
	if st := f.b.status(f.base + "/console/login"); st != http.StatusUnauthorized {
		t.Errorf("a wrong key answers %d, want 401", st)
	}
	if f.b.path() != "/console/login" {
		t.Errorf("a wrong key leads to %s", f.b.path())
	}
	f.b.screenshots(f.shots, "login-refused")
	c := from127("127.0.0.2")
	post := func(key string) int {
		resp, err := c.PostForm(f.base+"/console/login", url.Values{"secret_id": {fullID}, "secret_key": {key}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 3 {
		if st := post(fmt.Sprintf("wrong-%d", i)); st != http.StatusUnauthorized {
			t.Errorf("wrong key %d: %d, want 401", i+1, st)
		}
	}
	if st := post(fullKey); st != http.StatusTooManyRequests {
		t.Errorf("the right key after 3 failures: %d, want 429 (the failures are counted)", st)
	}
	// The daemon's output reaches the buffer through a pipe: wait for it.
	logged := func(what string, n int) bool {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if strings.Count(f.log.String(), what) >= n {
				break
			}
		}
		return strings.Count(f.log.String(), what) == n
	}
	if !logged("login failed", 4) {
		t.Errorf("the daemon logged %d failed logins, want 4\n%s", strings.Count(f.log.String(), "login failed"), f.log)
	}
	if !logged("login throttled", 1) {
		t.Error("the throttled login is not logged, once")
	}
}

// readOnly: a read-only key sees no write control, and a forged write
// with its session's token is refused; logging out ends the session.
func readOnly(t *testing.T, f *fixture) {
	f.b.login(f.base, roID, roKey)
	if f.b.path() != "/console/" {
		t.Fatalf("read-only login leads to %s", f.b.path())
	}
	for _, page := range []string{"/console/", "/console/type/container", "/console/item/" + item55, "/console/settings", "/console/export"} {
		f.b.open(f.base, page)
		n := eval[int](f.b, `document.querySelectorAll("[data-action], form[action$='/ignore'], form[action$='/recheck'], form[action$='/unignore'], #batch").length`)
		if n != 0 {
			t.Errorf("%s shows %d write controls to a read-only key", page, n)
		}
		if eval[bool](f.b, `[...document.querySelectorAll("form.period fieldset")].some(f => !f.disabled)`) {
			t.Errorf("%s: a period form is enabled for a read-only key", page)
		}
	}
	st := await[int](f.b, `fetch("/console/ignore", {method: "POST", body: new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value, item: "`+item55+`", reason: "forged"})}).then(r => r.status)`)
	if st != http.StatusForbidden {
		t.Errorf("a forged write of a read-only session answers %d, want 403", st)
	}
	if s := summary(t, f.bin, f.data)["container"]; s.IgnoredPolicyItemCount != 0 {
		t.Errorf("the forged write changed the store: %d items ignored", s.IgnoredPolicyItemCount)
	}
	f.b.click(`form.logout button`)
	f.b.open(f.base, "/console/")
	if f.b.path() != "/console/login?next=%2Fconsole%2F" {
		t.Errorf("after logout the overview leads to %s, not the login page", f.b.path())
	}
	f.b.login(f.base, fullID, fullKey)
	if f.b.path() != "/console/" {
		t.Fatalf("full-access login leads to %s", f.b.path())
	}
}

// rings: each type's ring and risk counts are the store's summary, as
// `baseline summary` prints it.
func rings(t *testing.T, f *fixture) {
	f.b.open(f.base, "/console/")
	type card struct{ Rate, Critical, High, Medium, Low string }
	got := eval[map[string]card](f.b, `Object.fromEntries([...document.querySelectorAll("article.card[data-type]")].map(c => {
		const v = k => c.querySelector("[data-figure=" + k + "]").textContent.trim();
		return [c.dataset.type, {Rate: v("rate"), Critical: v("critical"), High: v("high"), Medium: v("medium"), Low: v("low")}];
	}))`)
	want := summary(t, f.bin, f.data)
	if len(got) != len(want) {
		t.Errorf("the overview shows %d types, the summary has %d", len(got), len(want))
	}
	for ty, s := range want {
		g, ok := got[ty]
		if !ok {
			t.Errorf("no ring for %s", ty)
			continue
		}
		w := card{strconv.FormatFloat(s.AssetPassedRate, 'f', -1, 64) + "%", strconv.Itoa(s.FailedCriticalPolicyItemCount),
			strconv.Itoa(s.FailedHighRiskPolicyItemCount), strconv.Itoa(s.FailedMediumRiskPolicyItemCount), strconv.Itoa(s.FailedLowRiskPolicyItemCount)}
		if g != w {
			t.Errorf("%s: the page shows %+v, baseline summary %+v", ty, g, w)
		}
	}
	if want["container"].FailedAssetCount == 0 {
		t.Fatal("no failing container: the privileged container should fail 5.5")
	}
	f.b.screenshots(f.shots, "overview")
}

// ringToEvidence: the container ring leads to the failing containers, and
// one of them to its evidence.
func ringToEvidence(t *testing.T, f *fixture) {
	f.b.open(f.base, "/console/")
	f.b.click(`a[data-ring=container]`)
	if p := f.b.path(); p != "/console/assets?type=container&result=RESULT_FAILED" {
		t.Fatalf("the container ring leads to %s", p)
	}
	total := summary(t, f.bin, f.data)["container"].FailedAssetCount
	if got := eval[string](f.b, `document.querySelector("[data-figure=rows]").textContent`); !strings.HasSuffix(strings.TrimSpace(got), fmt.Sprintf("of %d assets", total)) {
		t.Errorf("the failing containers: %q, want %d", got, total)
	}
	results := eval[[]string](f.b, `[...document.querySelectorAll("tr[data-asset] .result")].map(e => e.textContent.trim())`)
	for _, r := range results {
		if r != "failed" {
			t.Errorf("a listed container's result is %q", r)
		}
	}
	f.b.screenshots(f.shots, "assets")
	sel := fmt.Sprintf(`//a[text()=%q]`, f.priv)
	href := eval[string](f.b, fmt.Sprintf(`(document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue || {}).getAttribute?.("href") || ""`, sel))
	if href == "" {
		f.b.open(f.base, "/console/assets?type=container&result=RESULT_FAILED&q="+url.QueryEscape(f.priv))
		href = eval[string](f.b, `document.querySelector("tr[data-asset] a").getAttribute("href")`)
	}
	f.b.click(fmt.Sprintf(`a[href=%q]`, href))
	actual := eval[[]string](f.b, `[...document.querySelectorAll("details[data-item='`+item55+`'] tr.bad [data-evidence=actual]")].map(e => e.textContent.trim())`)
	expected := eval[[]string](f.b, `[...document.querySelectorAll("details[data-item='`+item55+`'] tr.bad [data-evidence=expected]")].map(e => e.textContent.trim())`)
	if !slices.Contains(actual, "true") || len(expected) == 0 {
		t.Errorf("the privileged container's evidence for 5.5: actual %q, expected %q", actual, expected)
	}
	f.b.screenshots(f.shots, "asset")
	f.b.click(`details[data-item='` + item55 + `'] summary a`)
	if !strings.HasPrefix(f.b.path(), "/console/item/"+item55) {
		t.Errorf("the item link leads to %s", f.b.path())
	}
	if n := eval[int](f.b, `document.querySelectorAll("details[data-asset] [data-evidence=actual]").length`); n == 0 {
		t.Error("the item page shows no evidence of its failing assets")
	}
	f.b.screenshots(f.shots, "item")
}

// filteredReload: filters, page size and columns live in the URL, and the
// URL shows the same rows again.
func filteredReload(t *testing.T, f *fixture) {
	f.b.open(f.base, "/console/type/container")
	eval[bool](f.b, `document.querySelector("select[name=risk]").value = "RISK_HIGH"; document.querySelector("select[name=per]").value = "20"; true`)
	f.b.navigated(`document.querySelector("form.filters").requestSubmit()`)
	u := f.b.path()
	if !strings.Contains(u, "risk=RISK_HIGH") || !strings.Contains(u, "per=20") {
		t.Fatalf("the filter form leads to %s", u)
	}
	rows := func() []string {
		return eval[[]string](f.b, `[...document.querySelectorAll("tr[data-item]")].map(r => r.dataset.item)`)
	}
	first := rows()
	if len(first) == 0 || len(first) > 20 {
		t.Fatalf("%d rows of high-risk items", len(first))
	}
	risks := eval[[]string](f.b, `[...document.querySelectorAll("tr[data-item] .risk")].map(e => e.textContent)`)
	for _, r := range risks {
		if r != "high" {
			t.Errorf("a row of risk %q under the high filter", r)
		}
	}
	f.b.navigated(`location.reload()`)
	if again := rows(); !slices.Equal(first, again) || f.b.path() != u {
		t.Errorf("reloaded %s shows %v, first %v", f.b.path(), again, first)
	}
	f.b.open(f.base, u)
	if again := rows(); !slices.Equal(first, again) {
		t.Errorf("the URL opened anew shows %v, first %v", again, first)
	}
	if v := eval[string](f.b, `document.querySelector("select[name=risk]").value`); v != "RISK_HIGH" {
		t.Errorf("the risk filter shows %q after reload", v)
	}
}

// figures are the failed and ignored item counts a type page shows.
func figures(t *testing.T, f *fixture) (failed, ignored int) {
	f.b.open(f.base, "/console/type/container")
	return atoi(t, eval[string](f.b, `document.querySelector(".facts [data-figure=failed-items]").textContent`)),
		atoi(t, eval[string](f.b, `document.querySelector(".facts [data-figure=ignored-items]").textContent`))
}

// ignoreAndRestore: ignoring two failing items in batch lowers the failed
// count on the page and in `baseline summary`; un-ignoring them restores it.
func ignoreAndRestore(t *testing.T, f *fixture) {
	failed0, ignored0 := figures(t, f)
	s0 := summary(t, f.bin, f.data)["container"]
	if failed0 != s0.FailedPolicyItemCount || ignored0 != s0.IgnoredPolicyItemCount || failed0 < 2 {
		t.Fatalf("page: %d failed, %d ignored; summary: %d, %d", failed0, ignored0, s0.FailedPolicyItemCount, s0.IgnoredPolicyItemCount)
	}
	f.b.open(f.base, "/console/type/container?result=RESULT_FAILED")
	eval[bool](f.b, `document.querySelector("input[data-tick-all=item]").click(); true`)
	if n := eval[int](f.b, `document.querySelectorAll("tr[data-item] input[name=item]:not(:checked)").length`); n != 0 {
		t.Errorf("ticking every row left %d rows unticked", n)
	}
	eval[bool](f.b, `document.querySelector("input[data-tick-all=item]").click(); true`)
	picked := eval[[]string](f.b, `[...document.querySelectorAll("tr[data-item] input[name=item]")].slice(0, 2).map(c => { c.checked = true; return c.value })`)
	eval[bool](f.b, `document.querySelector("#batch input[name=reason]").value = "accepted for the lab"; true`)
	f.b.click(`button[data-action=ignore-items]`)
	if !strings.HasPrefix(f.b.path(), "/console/type/container") {
		t.Fatalf("after ignoring, the page is %s: %s", f.b.path(), eval[string](f.b, `document.body.innerText`))
	}
	failed1, ignored1 := figures(t, f)
	s1 := summary(t, f.bin, f.data)["container"]
	if failed1 != failed0-2 || ignored1 != ignored0+2 {
		t.Errorf("after ignoring %v: the page shows %d failed, %d ignored (before %d, %d)", picked, failed1, ignored1, failed0, ignored0)
	}
	if s1.FailedPolicyItemCount != failed1 || s1.IgnoredPolicyItemCount != ignored1 {
		t.Errorf("baseline summary: %d failed, %d ignored; the page %d, %d", s1.FailedPolicyItemCount, s1.IgnoredPolicyItemCount, failed1, ignored1)
	}
	f.b.open(f.base, "/console/settings?type=container")
	for _, id := range picked {
		if eval[string](f.b, `(document.querySelector("tr[data-item='`+id+`'] td:nth-child(5)")||{}).textContent||""`) != fullID {
			t.Errorf("the ignore list does not name %s as the author of item %s's entry", fullID, id)
		}
	}
	f.b.screenshots(f.shots, "settings")
	for _, id := range picked {
		eval[bool](f.b, `document.querySelector("tr[data-item='`+id+`'] input[name=entry]").checked = true; true`)
	}
	f.b.click(`button[data-action=unignore]`)
	failed2, ignored2 := figures(t, f)
	s2 := summary(t, f.bin, f.data)["container"]
	if failed2 != failed0 || ignored2 != ignored0 || s2.FailedPolicyItemCount != failed0 || s2.IgnoredPolicyItemCount != ignored0 {
		t.Errorf("after un-ignoring: page %d failed, %d ignored; summary %d, %d; before %d, %d", failed2, ignored2,
			s2.FailedPolicyItemCount, s2.IgnoredPolicyItemCount, failed0, ignored0)
	}
	f.b.screenshots(f.shots, "type")
}

// recheck: rechecking an item from the page starts a task that the tasks
// page follows, reloading itself, until it finishes.
func recheck(t *testing.T, f *fixture) {
	before := len(tasksOf(t, f))
	f.b.open(f.base, "/console/type/container?q="+item55)
	eval[bool](f.b, `document.querySelector("tr[data-item='`+item55+`'] input[name=item]").checked = true; true`)
	f.b.click(`button[data-action=recheck-items]`)
	p := f.b.path()
	if !strings.HasPrefix(p, "/console/tasks?task=") {
		t.Fatalf("a recheck leads to %s: %s", p, eval[string](f.b, `document.body.innerText`))
	}
	id := strings.TrimPrefix(p, "/console/tasks?task=")
	if eval[int](f.b, `document.querySelectorAll("tr[data-task='`+id+`'] progress").length`) != 1 {
		t.Fatalf("the tasks page shows no progress of task %s", id)
	}
	f.b.waitFor(`!!document.querySelector("tr[data-task='` + id + `'][data-status=CHECK_FINISHED]")`)
	if got := eval[string](f.b, `document.querySelector("tr[data-task='`+id+`'] [data-progress]").textContent`); got != "100%" {
		t.Errorf("the finished task shows progress %s", got)
	}
	list := tasksOf(t, f)
	if len(list) != before+1 || strconv.FormatInt(list[0].ID, 10) != id || list[0].Trigger != store.TriggerRecheck {
		t.Errorf("baseline tasks after the recheck: %+v (before: %d tasks)", list, before)
	}
	f.b.screenshots(f.shots, "tasks")
}

func tasksOf(t *testing.T, f *fixture) []store.Task {
	var out struct{ List []store.Task }
	if err := json.Unmarshal(testbin.Run(t, f.bin, "tasks", "--data-dir", f.data, "--format", "json", "--limit", "100"), &out); err != nil {
		t.Fatal(err)
	}
	return out.List
}

// period: the period form refuses a frequency other than 1, 3 or 7 days
// and a time that is no time of day; a valid change is what `baseline
// schedule show` shows.
func period(t *testing.T, f *fixture) {
	form := `document.querySelector("form[data-period=ASSET_CONTAINER]")`
	for _, c := range []struct{ js, want string }{
		{`const s = ` + form + `.querySelector("select[name=every]"); s.add(new Option("2 days", "2")); s.value = "2"`, "every: 1, 3 or 7 days"},
		{`const i = ` + form + `.querySelector("input[name=at]"); i.type = "text"; i.value = "25:61"`, "at: a time of day"},
	} {
		f.b.open(f.base, "/console/settings?type=container")
		f.b.navigated(c.js + `; ` + form + `.submit()`)
		if got := eval[string](f.b, `(document.querySelector("[data-error]")||{}).textContent||""`); !strings.Contains(got, c.want) {
			t.Errorf("the period form with %s: %q, want %q", c.js, got, c.want)
		}
		if st := f.b.status(f.base + "/console/period"); st != http.StatusBadRequest {
			t.Errorf("refused period change answers %d", st)
		}
	}
	f.b.open(f.base, "/console/settings?type=container")
	f.b.navigated(form + `.querySelector("select[name=every]").value = "3"; ` + form + `.querySelector("input[name=at]").value = "02:30:15"; ` +
		form + `.querySelector("input[name=enable]").checked = true; ` + form + `.querySelector("button[data-action=save-period]").click()`)
	var periods []store.PeriodTask
	if err := json.Unmarshal(testbin.Run(t, f.bin, "schedule", "show", "--data-dir", f.data, "--format", "json"), &periods); err != nil {
		t.Fatal(err)
	}
	for _, p := range periods {
		if p.AssetType == "ASSET_CONTAINER" {
			if (p.Rule != store.PeriodRule{Frequency: 3, ExecutionTime: "02:30:15", Enable: true}) {
				t.Errorf("baseline schedule show: %+v after the change", p.Rule)
			}
			return
		}
	}
	t.Error("baseline schedule show lists no container period task")
}

// export: an export started from the page is followed to its end and
// downloads a file that `baseline report verify` accepts with the
// daemon's public key.
func export(t *testing.T, f *fixture) {
	f.b.open(f.base, "/console/export")
	eval[bool](f.b, `document.querySelector("select[name=type]").value = "container"; document.querySelector("input[name=by][value=item]").checked = true; document.querySelector("select[name=format]").value = "csv"; true`)
	f.b.click(`button[data-action=export]`)
	if !strings.HasPrefix(f.b.path(), "/console/export/") {
		t.Fatalf("starting an export leads to %s: %s", f.b.path(), eval[string](f.b, `document.body.innerText`))
	}
	f.b.waitFor(`!!document.querySelector("a[data-action=download]")`)
	f.b.screenshots(f.shots, "export-done")
	href := eval[string](f.b, `document.querySelector("a[data-action=download]").href`)
	body := await[string](f.b, `fetch(`+strconv.Quote(href)+`).then(r => r.ok ? r.text() : Promise.reject(r.status))`)
	dir := t.TempDir()
	file := filepath.Join(dir, "export.csv")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "baseline.pub")
	if err := os.WriteFile(pub, testbin.Run(t, f.bin, "report", "key", "--data-dir", f.data), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(f.bin, "report", "verify", "--key", pub, file)
	cmd.Env = testbin.CleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("baseline report verify: %v\n%s", err, out)
	}
	resp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(raw) != body {
		t.Error("the link downloads another file than the page fetched")
	}
}

// zone: times are shown in the browser's time zone, which every page
// names; the UTC time stays in the element's title.
func zone(t *testing.T, f *fixture) {
	f.b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	defer f.b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{})
		return err
	}))
	f.b.open(f.base, "/console/tasks")
	if z := eval[string](f.b, `document.getElementById("zone").textContent`); z != "Asia/Tokyo" {
		t.Errorf("the page names the zone %q, want Asia/Tokyo", z)
	}
	type shown struct{ Text, Title, DateTime string }
	got := eval[shown](f.b, `(e => ({Text: e.textContent, Title: e.title, DateTime: e.getAttribute("datetime")}))(document.querySelector("time[datetime]"))`)
	utc, err := time.Parse(time.RFC3339, got.DateTime)
	if err != nil {
		t.Fatal(err)
	}
	tokyo := utc.In(time.FixedZone("JST", 9*3600))
	if !strings.Contains(got.Text, tokyo.Format("15:04:05")) || !strings.Contains(got.Text, "GMT+9") {
		t.Errorf("the time %s shows as %q, want %s in GMT+9", got.DateTime, got.Text, tokyo.Format("15:04:05"))
	}
	if got.Title != utc.Format(time.DateTime)+" UTC" {
		t.Errorf("the time's title is %q, want the UTC time", got.Title)
	}
}

// screenshots: the pages not kept by another step.
func screenshots(t *testing.T, f *fixture) {
	for name, path := range map[string]string{"export": "/console/export", "tasks-diff": "/console/tasks?from=1&to=2"} {
		f.b.open(f.base, path)
		f.b.screenshots(f.shots, name)
	}
	f.b.navigated(`document.querySelector("form.logout button").click()`)
	f.b.screenshots(f.shots, "login")
	for _, w := range []string{"390", "1280"} {
		for _, n := range []string{"overview", "type", "assets", "asset", "item", "settings", "tasks", "export", "export-done", "login"} {
			if fi, err := os.Stat(filepath.Join(f.shots, "console-"+n+"-"+w+".png")); err != nil || fi.Size() == 0 {
				t.Errorf("no screenshot of %s at %s px: %v", n, w, err)
			}
		}
	}
}
