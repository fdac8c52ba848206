package console

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/store"
)

type settingsData struct {
	Periods []api.PeriodTaskInfo
	Types   []assets.Type
	Type    string
	Q       string
	Host    string
	Zone    string
	Entries []store.WhitelistEntry
	Pager   pager
	Back    string
}

func (settingsData) title() string { return "Baseline settings" }

// settings shows the period tasks (through the API's own listing, which
// gives the StandardIds its writes take) and the ignore list.
func (c *Console) settings(w http.ResponseWriter, r *http.Request, o *session) {
	q := r.URL.Query()
	d := settingsData{Types: assets.Types, Q: strings.TrimSpace(q.Get("q")), Host: strings.TrimSpace(q.Get("host")), Back: r.URL.RequestURI(), Zone: c.loc.String()}
	var filters []store.Filter
	if v := q.Get("type"); v != "" {
		t, err := typeParam(v)
		if err != nil {
			c.readErr(w, r, o, err)
			return
		}
		d.Type = string(t)
		filters = append(filters, store.Filter{Name: "AssetType", Values: []string{d.Type}, ExactMatch: true})
	}
	if d.Q != "" {
		filters = append(filters, store.Filter{Name: "Name", Values: []string{d.Q}})
	}
	if d.Host != "" { // a host name, or an IP address
		name := "HostName"
		if net.ParseIP(d.Host) != nil || strings.Trim(d.Host, "0123456789.:abcdefABCDEF") == "" && strings.ContainsAny(d.Host, ".:") {
			name = "HostIP"
		}
		filters = append(filters, store.Filter{Name: name, Values: []string{d.Host}})
	}
	resp, err := c.api.Call(r.Context(), o.key, api.DescribeCompliancePeriodTaskList, api.DescribeCompliancePeriodTaskListRequest{AssetType: d.Type, Limit: store.MaxLimit})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d.Periods = resp.(api.DescribeCompliancePeriodTaskListResponse).PeriodTaskSet
	if d.Pager, err = newPager(q, 50); err != nil {
		c.readErr(w, r, o, err)
		return
	}
	entries, total, err := c.store.Whitelist(r.Context(), store.Query{Offset: d.Pager.offset(), Limit: d.Pager.Per, Filters: filters})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d.Entries = entries
	d.Pager.done(r.URL, total, len(entries))
	c.render(w, r, o, http.StatusOK, "settings", d)
}

type tasksData struct {
	Tasks    []store.Task
	Running  bool
	Focus    int64
	Pager    pager
	From, To string
	Diff     *store.Diff
}

func (tasksData) title() string { return "Tasks" }

func (d tasksData) refresh() int {
	if d.Running {
		return 2
	}
	return 0
}

// tasks lists running and recent tasks (the page reloads itself while one
// runs), and the diff of two tasks.
func (c *Console) tasks(w http.ResponseWriter, r *http.Request, o *session) {
	q := r.URL.Query()
	d := tasksData{From: q.Get("from"), To: q.Get("to")}
	var err error
	if v := q.Get("task"); v != "" {
		if d.Focus, err = strconv.ParseInt(v, 10, 64); err != nil {
			c.readErr(w, r, o, fmt.Errorf("%w: task: %q is not a task id", store.ErrInvalidParameter, v))
			return
		}
	}
	if d.Pager, err = newPager(q, 20); err != nil {
		c.readErr(w, r, o, err)
		return
	}
	list, total, err := c.store.Tasks(r.Context(), store.Query{Offset: d.Pager.offset(), Limit: d.Pager.Per})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d.Tasks = list
	d.Pager.done(r.URL, total, len(list))
	for _, t := range list {
		if t.Status == "CHECK_RUNNING" {
			d.Running = true
		}
	}
	if d.From != "" || d.To != "" {
		from, err1 := strconv.ParseInt(d.From, 10, 64)
		to, err2 := strconv.ParseInt(d.To, 10, 64)
		if err1 != nil || err2 != nil {
			c.readErr(w, r, o, fmt.Errorf("%w: from and to: two task ids", store.ErrInvalidParameter))
			return
		}
		diff, err := c.store.Diff(r.Context(), from, to)
		if err != nil {
			c.readErr(w, r, o, err)
			return
		}
		d.Diff = &diff
	}
	c.render(w, r, o, http.StatusOK, "tasks", d)
}

type exportData struct {
	Types   []assets.Type
	Formats []string
	Job     string
	Status  api.DescribeExportJobResultResponse
}

func (exportData) title() string { return "Export" }

func (d exportData) refresh() int {
	if d.Job != "" && d.Status.ExportStatus == "RUNNING" {
		return 1
	}
	return 0
}

func (c *Console) exportPage(w http.ResponseWriter, r *http.Request, o *session) {
	d := exportData{Types: assets.Types}
	for _, e := range report.Encoders() {
		d.Formats = append(d.Formats, e.Format())
	}
	c.render(w, r, o, http.StatusOK, "export", d)
}

// exportJob shows an export job's progress (the page reloads itself while
// it runs) and, once done, its download link.
func (c *Console) exportJob(w http.ResponseWriter, r *http.Request, o *session) {
	d := exportData{Job: r.PathValue("job")}
	resp, err := c.api.Call(r.Context(), o.key, api.DescribeExportJobResult, api.DescribeExportJobResultRequest{JobId: d.Job})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d.Status = resp.(api.DescribeExportJobResultResponse)
	c.render(w, r, o, http.StatusOK, "exportjob", d)
}
