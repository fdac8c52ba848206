package client

import "testing"

// mayHoldError says no only for a response without any string that could
// be an Error key.
func TestMayHoldError(t *testing.T) {
	for _, c := range []struct {
		resp string
		want bool
	}{
		{`{"Error":{"Code":"AuthFailure","Message":"x"},"RequestId":"r"}`, true},
		{`{"error":{"Code":"AuthFailure"},"RequestId":"r"}`, true},
		{`{"ERROR":{"Code":"AuthFailure"},"RequestId":"r"}`, true},
		{`{"\u0045rror":{"Code":"AuthFailure"},"RequestId":"r"}`, true},
		{`{"AssetInfoList":[{"AssetName":"Error"}],"RequestId":"r"}`, true}, // a value: decoded again, harmlessly
		{`{"AssetInfoList":[{"AssetName":"web","CheckResult":"RESULT_FAILED"}],"TotalCount":1,"RequestId":"r"}`, false},
		{`{"Errors":1,"RequestId":"r"}`, false},
		{`{"TaskId":7,"RequestId":"error-7"}`, false},
		{`{}`, false},
	} {
		if got := mayHoldError([]byte(c.resp)); got != c.want {
			t.Errorf("mayHoldError(%s) = %v, want %v", c.resp, got, c.want)
		}
	}
}
