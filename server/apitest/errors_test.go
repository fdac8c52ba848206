package apitest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// Error paths over real HTTP: the SDK where it can express the fault,
// hand-signed requests (api.CanonicalRequest and api.Sign) where it
// cannot. No Docker engine is needed: the store is empty.
func TestErrorPaths(t *testing.T) {
	bin := binary(t)
	data := t.TempDir()
	d := startDaemon(t, bin, data)
	full := newClient(t, d.addr, fullID, fullKey)
	summary := []byte(`{"AssetTypeSet":["ASSET_CONTAINER"]}`)
	now := func() int64 { return time.Now().Unix() }

	t.Run("Control", func(t *testing.T) {
		// The hand-built request is right when nothing is tampered with, so
		// each refusal below is due to its one fault.
		r := do(t, signed(t, d.addr, fullID, fullKey, "DescribeComplianceTaskAssetSummary", now(), summary, summary))
		wantRaw(t, "a correctly signed request", r, "")
		var s summaryResp
		full.ok("DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}, &s)
		if s.Status != "USER_NORMAL" {
			t.Errorf("Status %q on a started daemon", s.Status)
		}
	})

	t.Run("SDK", func(t *testing.T) {
		params := map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}}
		newClient(t, d.addr, fullID, "not-the-secret").fails(api.AuthFailureSignature, "DescribeComplianceTaskAssetSummary", params)
		newClient(t, d.addr, "AKIDnobody", fullKey).fails(api.AuthFailureSecretIDNotFound, "DescribeComplianceTaskAssetSummary", params, "AKIDnobody")
		unsigned := newClientProfile(t, d.addr, fullID, fullKey, func(p *profile.ClientProfile) { p.UnsignedPayload = true })
		unsigned.fails(api.AuthFailureSignature, "DescribeComplianceTaskAssetSummary", params, "unsigned")

		full.fails(api.MissingParameter, "DescribeComplianceAssetDetailInfo", map[string]any{}, "CustomerAssetId")
		full.fails(api.MissingParameter, "DescribeComplianceAssetDetailInfo", nil, "CustomerAssetId")
		full.fails(api.MissingParameter, "DescribeComplianceTaskAssetSummary", map[string]any{}, "AssetTypeSet")
		full.fails(api.InvalidParameterValue, "DescribeComplianceTaskAssetSummary", map[string]any{"AssetTypeSet": []string{"ASSET_NOPE"}}, "ASSET_NOPE")
		full.fails(api.InvalidParameterValue, "DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Limit": 101}, "Limit")
		full.ok("DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Limit": 100}, nil)
		full.fails(api.InvalidParameterValue, "DescribeCompliancePolicyItemAffectedAssetList", map[string]any{"CustomerPolicyItemId": item55, "Offset": -1}, "Offset")
		full.fails(api.InvalidAction, "DescribeNothingAtAll", map[string]any{}, "DescribeNothingAtAll")
		full.fails(api.InvalidParameter, "DescribeComplianceAssetList", map[string]any{"AssetTypeSet": []string{"ASSET_CONTAINER"}, "Bogus": 1}, "Bogus")
		full.fails(api.InvalidParameter, "DescribeComplianceAssetDetailInfo", map[string]any{"CustomerAssetId": "abc"}, "CustomerAssetId")
		full.fails(api.MissingParameter, "DescribeComplianceWhitelistItemList", map[string]any{"Filters": []map[string]any{{"Values": []string{"x"}}}}, "Filters.Name")
		full.fails(api.MissingParameter, "AddCompliancePolicyItemToWhitelist", map[string]any{}, "CustomerPolicyItemIdSet")
		full.fails(api.InvalidParameterValue, "AddCompliancePolicyItemToWhitelist", map[string]any{"CustomerPolicyItemIdSet": []uint64{item55}, "ExpireTime": "tomorrow"}, "ExpireTime")
		full.fails(api.MissingParameter, "DeleteCompliancePolicyItemFromWhitelist", map[string]any{}, "WhitelistIdSet")
		full.fails(api.MissingParameter, "ModifyCompliancePeriodTask", map[string]any{}, "PeriodTaskId")
		full.fails(api.InvalidParameterValue, "CreateComplianceTask", map[string]any{"PolicySetId": 1}, "PolicySetId")
		_, err := full.callVersion("2017-03-12", "DescribeComplianceTaskAssetSummary", params)
		checkSDKError(t, err, api.InvalidParameterValue, "X-TC-Version 2017-03-12", "X-TC-Version")
	})

	t.Run("HandSigned", func(t *testing.T) {
		const action = "DescribeComplianceTaskAssetSummary"
		wantRaw(t, "timestamp 10 minutes old", do(t, signed(t, d.addr, fullID, fullKey, action, now()-600, summary, summary)), api.AuthFailureSignatureExpire)
		wantRaw(t, "timestamp 10 minutes ahead", do(t, signed(t, d.addr, fullID, fullKey, action, now()+600, summary, summary)), api.AuthFailureSignatureExpire)
		wantRaw(t, "timestamp 4 minutes old", do(t, signed(t, d.addr, fullID, fullKey, action, now()-240, summary, summary)), "")
		wantRaw(t, "tampered body", do(t, signed(t, d.addr, fullID, fullKey, action, now(), summary, []byte(`{"AssetTypeSet":["ASSET_HOST"]}`))), api.AuthFailureSignature)
		wantRaw(t, "wrong secret key", do(t, signed(t, d.addr, fullID, "wrong", action, now(), summary, summary)), api.AuthFailureSignature)
		wantRaw(t, "unknown SecretId", do(t, signed(t, d.addr, "AKIDnobody", fullKey, action, now(), summary, summary)), api.AuthFailureSecretIDNotFound)

		// Signed for another host than the one the request reaches.
		port := d.addr[strings.LastIndexByte(d.addr, ':')+1:]
		req := signed(t, "localhost:"+port, fullID, fullKey, action, now(), summary, summary)
		req.URL.Host, req.Host = d.addr, d.addr
		wantRaw(t, "signed for another host", do(t, req), api.AuthFailureSignature)

		// Signed, then a header of the request changed: the action.
		req = signed(t, d.addr, fullID, fullKey, action, now(), summary, summary)
		req.Header.Set("X-TC-Timestamp", strconv.FormatInt(now()-1, 10))
		wantRaw(t, "timestamp changed after signing", do(t, req), api.AuthFailureSignature)

		req = signed(t, d.addr, fullID, fullKey, action, now(), summary, summary)
		req.Header.Del("Authorization")
		wantRaw(t, "no Authorization header", do(t, req), "AuthFailure.")
		req = signed(t, d.addr, fullID, fullKey, action, now(), summary, summary)
		req.Header.Set("Authorization", "Bearer abc")
		wantRaw(t, "another scheme", do(t, req), "AuthFailure.")

		req, _ = http.NewRequest(http.MethodGet, "http://"+d.addr+"/?Action="+action, nil)
		wantRaw(t, "GET", do(t, req), api.UnsupportedProtocol)

		big := bytes.Repeat([]byte(" "), 2<<20)
		r := do(t, signed(t, d.addr, fullID, fullKey, action, now(), big, big))
		wantRaw(t, "a 2 MiB body", r, api.RequestSizeLimitExceeded)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("a 2 MiB body: HTTP %d", r.Status)
		}
	})

	t.Run("FailedAuthTouchesNothing", func(t *testing.T) {
		add := []byte(`{"CustomerPolicyItemIdSet":[100505]}`)
		scan := []byte(`{"AssetTypeSet":["ASSET_CONTAINER"]}`)
		period := []byte(`{"PeriodTaskId":1,"PeriodRule":{"Frequency":7,"ExecutionTime":"03:00:00","Enable":true}}`)
		for _, c := range []struct {
			what string
			req  *http.Request
		}{
			{"wrong key", signed(t, d.addr, fullID, "wrong", "AddCompliancePolicyItemToWhitelist", now(), add, add)},
			{"expired", signed(t, d.addr, fullID, fullKey, "AddCompliancePolicyItemToWhitelist", now()-600, add, add)},
			{"tampered", signed(t, d.addr, fullID, fullKey, "AddCompliancePolicyItemToWhitelist", now(), []byte(`{"CustomerPolicyItemIdSet":[1]}`), add)},
			{"unknown id", signed(t, d.addr, "AKIDnobody", fullKey, "CreateComplianceTask", now(), scan, scan)},
			{"wrong key", signed(t, d.addr, fullID, "wrong", "CreateComplianceTask", now(), scan, scan)},
			{"expired", signed(t, d.addr, fullID, fullKey, "ModifyCompliancePeriodTask", now()-600, period, period)},
			{"read-only key", signed(t, d.addr, roID, roKey, "AddCompliancePolicyItemToWhitelist", now(), add, add)},
			{"read-only key", signed(t, d.addr, roID, roKey, "CreateComplianceTask", now(), scan, scan)},
		} {
			wantRaw(t, c.what+" "+c.req.Header.Get("X-TC-Action"), do(t, c.req), "AuthFailure.")
		}
		time.Sleep(300 * time.Millisecond) // a task wrongly started would be recorded by now
		if n := len(tasks(t, bin, data)); n != 0 {
			t.Errorf("refused requests started %d tasks", n)
		}
		var w whitelistResp
		full.ok("DescribeComplianceWhitelistItemList", nil, &w)
		if w.TotalCount != 0 {
			t.Errorf("refused requests changed the whitelist: %+v", w)
		}
		var p periodTaskResp
		full.ok("DescribeCompliancePeriodTaskList", nil, &p)
		for _, pt := range p.PeriodTaskSet {
			if pt.PeriodRule.Enable {
				t.Errorf("a refused request changed period task %d: %+v", pt.PeriodTaskId, pt.PeriodRule)
			}
		}
		// The same write with the right key goes through (so the above
		// were refused for their fault, not for the request itself).
		wantRaw(t, "the full key", do(t, signed(t, d.addr, fullID, fullKey, "AddCompliancePolicyItemToWhitelist", now(), add, add)), "")
		full.ok("DescribeComplianceWhitelistItemList", nil, &w)
		if w.TotalCount != 1 {
			t.Errorf("whitelist after the accepted request: %+v", w)
		}
	})
}
