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
		{`{"Err\u006fr":{"Code":"AuthFailure"},"RequestId":"r"}`, true},
		{`{"\u0065rror":1}`, true},
		{`{"X":"\u00"}`, true},   // cut short
		{`{"X":"\u00zz"}`, true}, // not hexadecimal
		{`{"Evidence":[{"Actual":"\u003cnot set\u003e","Expected":"\"set\" \\ \/ \n"}],"RequestId":"r"}`, false},
		{`{"X":"a\\u0045rror"}`, false}, // an escaped backslash, then text
	} {
		if got := mayHoldError([]byte(c.resp)); got != c.want {
			t.Errorf("mayHoldError(%s) = %v, want %v", c.resp, got, c.want)
		}
	}
}

// decodeOnce decodes a response without an error as the general path
// does, and leaves every other response to it.
func TestDecodeOnce(t *testing.T) {
	type page struct {
		AssetInfoList []struct {
			AssetName string
			Count     int
		}
		TotalCount int
	}
	ok := `{"Response":{"AssetInfoList":[{"AssetName":"web","Count":3}],"RequestId":"r","TotalCount":1}}` + "\n"
	var got page
	if !decodeOnce([]byte(ok), &got) {
		t.Fatalf("decodeOnce(%s) left it to the general path", ok)
	}
	if len(got.AssetInfoList) != 1 || got.AssetInfoList[0].AssetName != "web" || got.AssetInfoList[0].Count != 3 || got.TotalCount != 1 {
		t.Errorf("decodeOnce(%s) = %+v", ok, got)
	}
	escaped := `{"Response":{"AssetInfoList":[{"AssetName":"\u003cweb\u003e \"1\"","Count":3}],"RequestId":"r","TotalCount":1}}`
	var esc page
	if !decodeOnce([]byte(escaped), &esc) || len(esc.AssetInfoList) != 1 || esc.AssetInfoList[0].AssetName != `<web> "1"` {
		t.Errorf("decodeOnce(%s) = %+v", escaped, esc)
	}
	for _, raw := range []string{
		`{"Response":{"Error":{"Code":"AuthFailure","Message":"x"},"RequestId":"r"}}`,
		`{"Response":{"AssetInfoList":[],"RequestId":"r"},"Response":null}`,
		`{"Response":{"AssetInfoList":"x","RequestId":"r"}}`,
		`{"Other":{},"Response":{"RequestId":"r"}}`,
		`{"Response":{"RequestId":"r"}`,
		`<html>`,
	} {
		var p page
		if decodeOnce([]byte(raw), &p) {
			t.Errorf("decodeOnce(%s) decoded it: %+v", raw, p)
		}
	}
	if decodeOnce([]byte(ok), nil) {
		t.Error("decodeOnce decoded into nil")
	}
}
