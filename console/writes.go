package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/store"
)

// taskOf is the task id of a started recheck's response.
func taskOf(resp any) int64 {
	switch v := resp.(type) {
	case api.CreateComplianceTaskResponse:
		return v.TaskId
	case api.ScanComplianceAssetsResponse:
		return v.TaskId
	case api.ScanCompliancePolicyItemsResponse:
		return v.TaskId
	case api.ScanComplianceAssetsByPolicyItemResponse:
		return v.TaskId
	}
	return 0
}

// recheck starts a task, as the API's actions do: the ticked items on
// every asset (item), the listed assets (asset; with item, that item on
// them), the scan-failed assets (failed), or a whole type (type).
func (c *Console) recheck(w http.ResponseWriter, r *http.Request, o *session) {
	f := r.PostForm
	items, err := parseIDs("item", f["item"])
	if err != nil {
		c.fail(w, r, o, http.StatusBadRequest, err.Error())
		return
	}
	assetIDs, err := parseIDs("asset", f["asset"])
	if err != nil {
		c.fail(w, r, o, http.StatusBadRequest, err.Error())
		return
	}
	var action string
	var params any
	switch {
	case f.Get("failed") != "":
		action, params = api.ScanComplianceScanFailedAssets, api.ScanComplianceScanFailedAssetsRequest{CustomerAssetIdSet: assetIDs}
	case len(items) > 0 && len(assetIDs) > 0:
		c.recheckItemsOn(w, r, o, items, assetIDs)
		return
	case len(assetIDs) > 0:
		action, params = api.ScanComplianceAssets, api.ScanComplianceAssetsRequest{CustomerAssetIdSet: assetIDs}
	case len(items) > 0:
		action, params = api.ScanCompliancePolicyItems, api.ScanCompliancePolicyItemsRequest{CustomerPolicyItemIdSet: items}
	case f.Get("type") != "":
		t, err := typeParam(f.Get("type"))
		if err != nil {
			c.fail(w, r, o, http.StatusBadRequest, err.Error())
			return
		}
		action, params = api.CreateComplianceTask, api.CreateComplianceTaskRequest{AssetTypeSet: []string{string(t)}}
	default:
		c.fail(w, r, o, http.StatusBadRequest, "tick at least one item or asset to recheck")
		return
	}
	resp, ok := c.call(w, r, o, action, params)
	if !ok {
		return
	}
	http.Redirect(w, r, prefix+"tasks?task="+strconv.FormatInt(taskOf(resp), 10), http.StatusSeeOther)
}

// maxItemTasks bounds the tasks one recheck of ticked items on assets
// starts (one per item, as the API's ScanComplianceAssetsByPolicyItem).
const maxItemTasks = 20

// recheckItemsOn rechecks each ticked item on the listed assets: one task
// per item (tasks of different items do not overlap).
func (c *Console) recheckItemsOn(w http.ResponseWriter, r *http.Request, o *session, items, assetIDs []uint64) {
	if len(items) > maxItemTasks {
		c.fail(w, r, o, http.StatusBadRequest, fmt.Sprintf("item: tick at most %d items to recheck on an asset (or recheck the whole asset)", maxItemTasks))
		return
	}
	var first int64
	for _, it := range items {
		resp, ok := c.call(w, r, o, api.ScanComplianceAssetsByPolicyItem, api.ScanComplianceAssetsByPolicyItemRequest{CustomerPolicyItemId: it, CustomerAssetIdSet: assetIDs})
		if !ok {
			return
		}
		if first == 0 {
			first = taskOf(resp)
		}
	}
	http.Redirect(w, r, prefix+"tasks?task="+strconv.FormatInt(first, 10), http.StatusSeeOther)
}

// expiry reads the "expires" field: a number of days from now, or empty
// for never; it gives the API's ExpireTime.
func (c *Console) expiry(v string) (string, error) {
	if v == "" || v == "never" {
		return "", nil
	}
	days, err := strconv.Atoi(v)
	if err != nil || days < 1 || days > 3650 {
		return "", fmt.Errorf("expires: a number of days from 1 to 3650, or never (got %q)", v)
	}
	return c.now().UTC().AddDate(0, 0, days).Format(time.DateTime), nil
}

// ignore puts the ticked items on the ignore list: everywhere, or on the
// listed asset only, with the reason, the session's SecretId as author,
// and the expiry.
func (c *Console) ignore(w http.ResponseWriter, r *http.Request, o *session) {
	f := r.PostForm
	items, err := parseIDs("item", f["item"])
	if err == nil && len(items) == 0 {
		err = fmt.Errorf("tick at least one item to ignore")
	}
	if err != nil {
		c.fail(w, r, o, http.StatusBadRequest, err.Error())
		return
	}
	reason := strings.TrimSpace(f.Get("reason"))
	if reason == "" {
		c.fail(w, r, o, http.StatusBadRequest, "reason: say why the items are ignored")
		return
	}
	if len(reason) > 1024 {
		c.fail(w, r, o, http.StatusBadRequest, "reason: at most 1024 bytes")
		return
	}
	exp, err := c.expiry(f.Get("expires"))
	if err != nil {
		c.fail(w, r, o, http.StatusBadRequest, err.Error())
		return
	}
	opts := api.WhitelistOptions{Reason: reason, Operator: o.key.SecretID, ExpireTime: exp}
	var action string
	var params any
	if a := f.Get("asset"); a != "" {
		ids, err := parseIDs("asset", []string{a})
		if err != nil || len(ids) != 1 {
			c.fail(w, r, o, http.StatusBadRequest, "asset: one asset id")
			return
		}
		action = api.AddComplianceAssetPolicySetToWhitelist
		params = api.AddComplianceAssetPolicySetToWhitelistRequest{WhitelistOptions: opts,
			AssetPolicySetList: []api.ComplianceAssetPolicySetItem{{CustomerAssetItemId: ids[0], CustomerPolicyItemIdSet: items}}}
	} else {
		action, params = api.AddCompliancePolicyItemToWhitelist, api.AddCompliancePolicyItemToWhitelistRequest{CustomerPolicyItemIdSet: items, WhitelistOptions: opts}
	}
	if _, ok := c.call(w, r, o, action, params); ok {
		http.Redirect(w, r, back(r), http.StatusSeeOther)
	}
}

// unignore removes the ticked ignore-list entries.
func (c *Console) unignore(w http.ResponseWriter, r *http.Request, o *session) {
	var ids []int64
	for _, v := range r.PostForm["entry"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			c.fail(w, r, o, http.StatusBadRequest, fmt.Sprintf("entry: %q is not an ignore-list entry", v))
			return
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		c.fail(w, r, o, http.StatusBadRequest, "tick at least one entry to un-ignore")
		return
	}
	if _, ok := c.call(w, r, o, api.DeleteCompliancePolicyItemFromWhitelist, api.DeleteCompliancePolicyItemFromWhitelistRequest{WhitelistIdSet: ids}); ok {
		http.Redirect(w, r, back(r), http.StatusSeeOther)
	}
}

// period changes a period task: every 1, 3 or 7 days at a time of day,
// on or off, and which standards it runs.
func (c *Console) period(w http.ResponseWriter, r *http.Request, o *session) {
	f := r.PostForm
	id, err := strconv.ParseInt(f.Get("period"), 10, 64)
	if err != nil || id < 1 {
		c.fail(w, r, o, http.StatusBadRequest, "period: not a period task")
		return
	}
	every, err := strconv.Atoi(f.Get("every"))
	if err != nil || (every != 1 && every != 3 && every != 7) {
		c.fail(w, r, o, http.StatusBadRequest, fmt.Sprintf("every: 1, 3 or 7 days (got %q)", f.Get("every")))
		return
	}
	at := f.Get("at")
	if len(at) == len("15:04") {
		at += ":00"
	}
	if _, err := time.Parse(time.TimeOnly, at); err != nil {
		c.fail(w, r, o, http.StatusBadRequest, fmt.Sprintf("at: a time of day HH:MM or HH:MM:SS (got %q)", f.Get("at")))
		return
	}
	req := api.ModifyCompliancePeriodTaskRequest{PeriodTaskId: id, PeriodRule: &store.PeriodRule{Frequency: every, ExecutionTime: at, Enable: f.Get("enable") == "on"}}
	on := map[string]bool{}
	for _, v := range f["standard_on"] {
		on[v] = true
	}
	for _, v := range f["standard"] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			c.fail(w, r, o, http.StatusBadRequest, fmt.Sprintf("standard: %q is not a StandardId", v))
			return
		}
		req.StandardSettings = append(req.StandardSettings, api.ComplianceBenchmarkStandardEnable{StandardId: n, Enable: on[v]})
	}
	if _, ok := c.call(w, r, o, api.ModifyCompliancePeriodTask, req); ok {
		http.Redirect(w, r, back(r), http.StatusSeeOther)
	}
}

// startExport starts an export job and shows its progress.
func (c *Console) startExport(w http.ResponseWriter, r *http.Request, o *session) {
	f := r.PostForm
	t, err := assets.ParseType(f.Get("type"))
	if err != nil {
		c.fail(w, r, o, http.StatusBadRequest, "type: "+err.Error())
		return
	}
	if _, err := report.EncoderFor(f.Get("format")); err != nil {
		c.fail(w, r, o, http.StatusBadRequest, "format: "+strings.TrimPrefix(err.Error(), "--format: "))
		return
	}
	ids, err := parseIDs("ids", []string{f.Get("ids")})
	if err != nil {
		c.fail(w, r, o, http.StatusBadRequest, err.Error())
		return
	}
	byAsset, all := f.Get("by") != "item", len(ids) == 0
	req := api.CreateExportComplianceStatusListJobRequest{AssetType: string(t), ExportByAsset: &byAsset, ExportAll: &all, IdList: ids, Format: f.Get("format")}
	resp, ok := c.call(w, r, o, api.CreateExportComplianceStatusListJob, req)
	if !ok {
		return
	}
	job := resp.(api.CreateExportComplianceStatusListJobResponse).JobId
	http.Redirect(w, r, prefix+"export/"+job, http.StatusSeeOther)
}
