package server

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
)

// The one-pass envelope gives the bytes of the envelope through maps, for
// responses of every shape: nested structs and maps with keys out of
// order, strings that need escapes, numbers that a float64 changes, raw
// JSON with escapes of its own, a response member named RequestId, and
// random nested values.
func TestReplyBodyIsReplyMaps(t *testing.T) {
	type inner struct {
		Zed    string
		Alpha  int64
		Nested map[string]any `json:"nested,omitempty"`
	}
	type resp struct {
		TotalCount int
		List       []inner
		When       time.Time
		Ptr        *inner
		Raw        json.RawMessage
		F32        float32
		F64        float64
		Big        uint64
		Neg        int
		Empty      []string
		NilSlice   []string
		Any        any
	}
	cases := []any{
		resp{},
		resp{TotalCount: 3, List: []inner{{Zed: "<a&b>", Alpha: -1}, {Zed: "é\u2028\u2029\x01\"\\", Alpha: 1 << 40, Nested: map[string]any{"b": 1, "a": []any{2.5, "x", nil, true}}}},
			When: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Ptr: &inner{}, Raw: json.RawMessage(`{"z":"\u00e9\u003c","a":[1e3,-0,0.1E-7,12345678901234567890]}`),
			F32: 0.1, F64: 1e21, Big: 1<<53 + 1, Neg: -42, Empty: []string{}, Any: map[string]any{"é": 1, "e": 2, "\u00e8": 3, "a\"b": 4}},
		map[string]any{"RequestId": "from the response", "b": map[string]any{"d": 1, "c": 2}},
		map[string]any{"f": []float64{math.SmallestNonzeroFloat64, 1e-6, 1e-7, 123456789012345678, math.Copysign(0, -1), 1.5e300}},
		struct{ A, B string }{"\xff invalid utf-8", strings.Repeat("x", 5000)},
		&api.Error{Code: "X", Message: "<script>"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		cases = append(cases, map[string]any{"V": randomValue(r, 4)})
	}
	onePass := 0
	for i, c := range cases {
		if _, err := replyBody(c, "req-1"); err == nil {
			onePass++
		}
		if got, want := envelope("req-1", c, nil), replyMaps("req-1", c, nil); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
	// All but the keys that need an escape (case 1's "a\"b", and random
	// keys) go in one pass.
	if onePass < 5 || onePass == len(cases) {
		t.Errorf("%d of %d cases encoded in one pass", onePass, len(cases))
	}
	t.Logf("%d of %d cases encoded in one pass", onePass, len(cases))
}

// A response that is not an object is left to the path through maps.
func TestReplyBodyNotObject(t *testing.T) {
	for _, c := range []any{[]int{1}, (*api.Error)(nil), "s", 1} {
		if _, err := replyBody(c, "req-1"); err == nil {
			t.Errorf("%#v: encoded in one pass", c)
		}
	}
}

func randomValue(r *rand.Rand, depth int) any {
	switch k := r.IntN(9); {
	case depth == 0 || k == 0:
		return randomString(r)
	case k == 1:
		return r.Int64N(1<<62) - 1<<61
	case k == 2:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(50)-25))
	case k == 3:
		return r.IntN(2) == 0
	case k == 4:
		return nil
	case k <= 6:
		out := make([]any, r.IntN(4))
		for i := range out {
			out[i] = randomValue(r, depth-1)
		}
		return out
	default:
		out := map[string]any{}
		for range r.IntN(5) {
			out[randomString(r)] = randomValue(r, depth-1)
		}
		return out
	}
}

func randomString(r *rand.Rand) string {
	const alphabet = "aZ09<>&\"\\/\n\t\x00é\u2028€𝄞 "
	runes := []rune(alphabet)
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

// BenchmarkReply encodes a 100-row page's envelope both ways.
func BenchmarkReply(b *testing.B) {
	type row struct {
		AssetID, AssetName, AssetType, NodeName, HostIP, CheckResult         string
		PassedPolicyItemCount, FailedPolicyItemCount, IgnoredPolicyItemCount int
		LastCheckTime                                                        string
		Labels                                                               map[string]string
	}
	page := struct {
		TotalCount    int
		AssetInfoList []row
	}{TotalCount: 10000}
	for i := range 100 {
		page.AssetInfoList = append(page.AssetInfoList, row{AssetID: "c0123456789ab", AssetName: "/fleet-container", AssetType: "ASSET_CONTAINER",
			NodeName: "node-42", HostIP: "10.0.0.42", CheckResult: "RESULT_FAILED", PassedPolicyItemCount: i, FailedPolicyItemCount: 150 - i,
			LastCheckTime: "2026-12-05 00:00:00", Labels: map[string]string{"app": "web", "tier": "front"}})
	}
	b.Run("OnePass", func(b *testing.B) {
		for b.Loop() {
			if _, err := replyBody(page, "req-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Maps", func(b *testing.B) {
		for b.Loop() {
			replyMaps("req-1", page, nil)
		}
	})
}
