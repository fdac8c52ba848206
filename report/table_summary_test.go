package report_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
)

const dockerDown = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running? (error during connect: dial unix /var/run/docker.sock: connect: no such file or directory)"

// fleetReport is a host with 36 containers and 5 images: every container
// fails some items, most with their finding in words (a shipped standard
// with wording), one without (a user benchmark); an image item could not
// be checked on two images.
func fleetReport() *results.Report {
	start := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	cis := &checks.Standard{ID: "cis-docker-1.6.0", Name: "CIS Docker Benchmark", Version: "1.6.0",
		AssetTypes: []assets.Type{assets.Host, assets.Container, assets.Image}, Enabled: true, Origin: "builtin"}
	item := func(id uint64, num string, at assets.Type, risk checks.Risk, title, finding, fix string) *checks.Item {
		it := &checks.Item{ID: id, Number: num, Title: title, AssetType: at, Risk: risk, Automated: true, Scored: true,
			Finding: finding, Remediation: fix, Standard: cis, Source: &checks.Source{Kind: checks.SourceContainer}}
		cis.Items = append(cis.Items, it)
		return it
	}
	icc := item(100202, "2.2", assets.Host, checks.RiskMedium, "Ensure network traffic is restricted between containers on the default bridge",
		"containers on the default bridge can talk to each other", "Add \"icc\": false to /etc/docker/daemon.json and restart the daemon. Containers that need to talk should share a user-defined network.")
	icc.Source = &checks.Source{Kind: checks.SourceDaemonConfig}
	privileged := item(100505, "5.5", assets.Container, checks.RiskCritical, "Ensure that privileged containers are not used",
		"the container is privileged", "Do not run containers with the --privileged flag. A privileged container has every capability.")
	user := item(100401, "4.1", assets.Container, checks.RiskHigh, "Ensure that a user for the container has been created",
		"the container runs as root", "Run the container with --user, e.g. --user 1000, or set USER in its image. See the Dockerfile reference for the USER instruction and how to create a user with a fixed uid in the image.")
	memory := item(100511, "5.11", assets.Container, checks.RiskMedium, "Ensure that the memory usage for containers is limited",
		"", "Run the container with --memory.")
	health := item(100427, "4.6", assets.Image, checks.RiskLow, "Ensure that HEALTHCHECK instructions have been added to container images",
		"the image has no health check", "Add a HEALTHCHECK instruction to the Dockerfile.")
	health.Source = &checks.Source{Kind: checks.SourceImage}
	rep := &results.Report{StartedAt: start, FinishedAt: start.Add(4200 * time.Millisecond), Standards: []*checks.Standard{cis},
		Items: []*checks.Item{icc, privileged, user, memory, health}}
	id := uint64(4503599627370001)
	add := func(a assets.Asset) assets.Asset {
		a.ID = id
		id++
		rep.Assets = append(rep.Assets, a)
		return a
	}
	res := func(it *checks.Item, a assets.Asset, v checks.Verdict) {
		rep.Results = append(rep.Results, results.Result{ItemID: it.ID, AssetID: a.ID, CheckedAt: start, Verdict: v})
	}
	failed := func(subject, actual, expected, words string) checks.Verdict {
		return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultFailed, Evidence: []checks.Evidence{
			{Source: "container inspect", Subject: subject, Actual: actual, Expected: expected, Text: words}}}
	}
	passed := checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed}
	host := add(assets.Asset{Type: assets.Host, Name: "node-1"})
	res(icc, host, failed("{.icc}", "not set", "'{.icc}' is equal to 'false'", "icc is not set (expected false)"))
	names := []string{"web", "db", "cache", "queue", "api", "worker"}
	for i := range 36 {
		c := add(assets.Asset{Type: assets.Container, Name: fmt.Sprintf("%s-%d", names[i%len(names)], i/len(names)+1)})
		if i%9 == 0 {
			res(privileged, c, failed("{.HostConfig.Privileged}", "true", "'{.HostConfig.Privileged}' is equal to 'false'", "privileged is true (expected false)"))
		} else {
			res(privileged, c, passed)
		}
		res(user, c, failed("{.Config.User}", "root", "'{.Config.User}' is not equal to 'root'", "the user is root (expected a non-root user)"))
		res(memory, c, failed("{.HostConfig.Memory}", "0", "'{.HostConfig.Memory}' is greater than '0'", ""))
	}
	for i := range 5 {
		img := add(assets.Asset{Type: assets.Image, Name: fmt.Sprintf("registry.example/app-%d:1.%d", i, i)})
		switch {
		case i < 2:
			res(health, img, checks.Failed("Error response from daemon: No such image: app-"+fmt.Sprint(i)))
		default:
			res(health, img, failed("{.Config.Healthcheck}", "not set", "'{.Config.Healthcheck}' is set", "the health check is not set (expected a HEALTHCHECK instruction)"))
		}
	}
	return rep
}

// engineDownReport is a scan with no Docker engine: 62 engine items on
// three assets could not be checked for one reason; two host file items
// were checked, one manual and one not applicable.
func engineDownReport() *results.Report {
	start := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	cis := &checks.Standard{ID: "cis-docker-1.6.0", Name: "CIS Docker Benchmark", Version: "1.6.0",
		AssetTypes: []assets.Type{assets.Host, assets.Container, assets.Image}, Enabled: true, Origin: "builtin"}
	rep := &results.Report{StartedAt: start, FinishedAt: start.Add(900 * time.Millisecond), Standards: []*checks.Standard{cis}}
	host := assets.Asset{ID: 1, Type: assets.Host, Name: "node-1"}
	web := assets.Asset{ID: 2, Type: assets.Container, Name: "web-1"}
	img := assets.Asset{ID: 3, Type: assets.Image, Name: "nginx:1.25"}
	rep.Assets = []assets.Asset{host, web, img}
	add := func(num string, a assets.Asset, kind checks.SourceKind, v checks.Verdict) {
		it := &checks.Item{ID: uint64(100000 + len(rep.Items)), Number: num, Title: "item " + num, AssetType: a.Type,
			Risk: checks.RiskMedium, Automated: true, Standard: cis, Source: &checks.Source{Kind: kind}}
		cis.Items = append(cis.Items, it)
		rep.Items = append(rep.Items, it)
		rep.Results = append(rep.Results, results.Result{ItemID: it.ID, AssetID: a.ID, CheckedAt: start, Verdict: v})
	}
	for i := range 62 {
		a, kind := host, checks.SourceDaemonInfo
		switch {
		case i == 0:
			kind = checks.SourceFile // a path read from the engine
		case i >= 50:
			a, kind = img, checks.SourceImage
		case i >= 30:
			a, kind = web, checks.SourceContainer
		}
		// the scan names the source that needed the engine
		add(fmt.Sprintf("%d.%d", i/10+2, i%10+1), a, kind, checks.Failed(string(kind)+": docker engine unavailable: docker engine: "+dockerDown))
	}
	add("1.1.1", host, checks.SourceFile, checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultManual})
	add("1.1.2", host, checks.SourceFile, checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable})
	return rep
}

func summaryView(t *testing.T, rep *results.Report, opts report.TableOptions) string {
	t.Helper()
	var buf bytes.Buffer
	opts.View = report.BySummary
	if err := report.WriteTableWith(&buf, rep, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGoldenTableSummary(t *testing.T) {
	for name, rep := range map[string]*results.Report{
		"table_summary.golden":             goldenReport(),
		"table_summary_fleet.golden":       fleetReport(),
		"table_summary_engine_down.golden": engineDownReport(),
	} {
		t.Run(name, func(t *testing.T) { golden(t, name, []byte(summaryView(t, rep, report.TableOptions{}))) })
	}
}

// The default view of a host with 36 containers fits a screen and names
// every failed item.
func TestSummaryViewFitsAScreen(t *testing.T) {
	out := summaryView(t, fleetReport(), report.TableOptions{Width: 200})
	if n := strings.Count(out, "\n"); n >= 60 {
		t.Errorf("the summary view has %d lines, want fewer than 60:\n%s", n, out)
	}
	for _, num := range []string{"2.2 ", "5.5 ", "4.1 ", "5.11", "4.6 "} {
		if !strings.Contains(out, "FAILED "+riskOf(num)+num) {
			t.Errorf("failed item %s is not listed:\n%s", num, out)
		}
	}
	for _, want := range []string{
		"on 36 containers: web-1, db-1, cache-1 +33 more",
		"the container runs as root: the user is root (expected a non-root user)",
		"fix: Run the container with --user, e.g. --user 1000, or set USER in its image.",
		// no wording: the title and the technical evidence
		"Ensure that the memory usage for containers is limited: {.HostConfig.Memory}: 0 (expected '{.HostConfig.Memory}' is greater than '0')",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary view lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "web-2") {
		t.Errorf("the summary view lists more than three assets of an item:\n%s", out)
	}
	first, crit := strings.Index(out, "FAILED high"), strings.Index(out, "FAILED critical")
	if crit < 0 || first < crit {
		t.Errorf("critical items must come first:\n%s", out)
	}
}

func riskOf(num string) string {
	switch num {
	case "5.5 ":
		return "critical "
	case "4.1 ":
		return "high     "
	case "4.6 ":
		return "low      "
	}
	return "medium   "
}

// With no Docker engine, the reason every engine item could not be checked
// is said once.
func TestSummaryViewCollapsesReasons(t *testing.T) {
	out := summaryView(t, engineDownReport(), report.TableOptions{Width: 200})
	if n := strings.Count(out, "Cannot connect to the Docker daemon"); n != 1 {
		t.Errorf("the reason appears %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "CHECK FAILED 62 engine items could not be checked on 3 assets: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.") {
		t.Errorf("no collapsed line:\n%s", out)
	}
	if !strings.Contains(out, "Also 1 item to review by hand (manual), 1 item not applicable: list every item with --by item") {
		t.Errorf("manual and not-applicable items are not counted:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n > 20 {
		t.Errorf("%d lines:\n%s", n, out)
	}
	narrow := summaryView(t, engineDownReport(), report.TableOptions{Width: 80})
	for _, l := range strings.Split(narrow, "\n") {
		if strings.HasPrefix(l, "CHECK FAILED") && len([]rune(l)) > 80 {
			t.Errorf("line wider than 80 columns: %q", l)
		}
	}
}

// Colour only when asked: red for failures and critical or high risks,
// yellow for medium, cyan for low.
func TestSummaryViewColor(t *testing.T) {
	plain := summaryView(t, fleetReport(), report.TableOptions{})
	if strings.Contains(plain, "\x1b[") {
		t.Errorf("escape sequences without colour:\n%q", plain)
	}
	out := summaryView(t, fleetReport(), report.TableOptions{Color: true})
	for _, want := range []string{"\x1b[31mFAILED\x1b[0m", "\x1b[31mcritical", "\x1b[31mhigh", "\x1b[33mmedium", "\x1b[36mlow"} {
		if !strings.Contains(out, want) {
			t.Errorf("colour output lacks %q:\n%q", want, out)
		}
	}
}
