package server

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
)

// planTypes are struct types that exercise what a plan writes itself, what
// it leaves to encoding/json, and what it refuses.
type (
	planRow struct {
		Zeta     string `json:"zeta"`
		Alpha    int64  `json:",omitempty"`
		Bytes    []byte
		Skipped  string `json:"-"`
		hidden   string
		Small    int8
		Huge     uint64
		Neg      int64
		Flag     bool `json:"Flag,omitempty"`
		List     []planRow
		Nested   planInner
		Ptr      *planInner
		Any      any
		Map      map[string]int
		Text     planText
		Method   planPtrMethod
		Methods  []planPtrMethod
		Floats   [2]float64
		Duration time.Duration
		When     time.Time
		Omitted  []string `json:",omitempty"`
	}
	planInner struct {
		RequestId string
		B, A      uint32
	}
	planText      string
	planPtrMethod struct{ N int }
	// planRefused cannot have a plan: it embeds a struct.
	planRefused struct {
		planInner
		Extra string
	}
	// planHyphen cannot have a plan: its key is not plain.
	planHyphen struct {
		A string `json:"a-b"`
	}
	// planStringOpt cannot have a plan: its field asks for the string option.
	planStringOpt struct {
		N int `json:",string"`
	}
	// planSelf holds itself.
	planSelf struct {
		Name string
		Next []planSelf
	}
	// planResp has a member named RequestId, which the envelope's replaces.
	planResp struct {
		RequestId string
		Rows      []planRow
		Total     int
	}
)

func (t planText) MarshalText() ([]byte, error) { return []byte("text:" + string(t)), nil }

func (m *planPtrMethod) MarshalJSON() ([]byte, error) {
	return []byte(`{"z":1,"a":` + strings.Repeat("9", 17) + `}`), nil
}

// A response written from its type's plan has the bytes of the envelope
// through maps, for the list responses and for types that exercise every
// kind of member, filled with random values (invalid UTF-8, characters
// that need an escape, numbers that a float64 changes, nil and empty
// lists).
func TestPlannedReplyIsReplyMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	types := []reflect.Type{
		reflect.TypeFor[api.DescribeComplianceAssetListResponse](),
		reflect.TypeFor[api.DescribeComplianceTaskPolicyItemSummaryListResponse](),
		reflect.TypeFor[api.DescribeCompliancePolicyItemAffectedAssetListResponse](),
		reflect.TypeFor[api.DescribeComplianceAssetPolicyItemListResponse](),
		reflect.TypeFor[api.DescribeComplianceTaskAssetSummaryResponse](),
		reflect.TypeFor[planResp](),
		reflect.TypeFor[planRow](),
		reflect.TypeFor[planSelf](),
		reflect.TypeFor[planRefused](),
		reflect.TypeFor[planStringOpt](),
		reflect.TypeFor[planHyphen](),
	}
	hidden := planRow{hidden: "never written", Zeta: "z"}
	if got, want := envelope("r", hidden, nil), replyMaps("r", hidden, nil); !bytes.Equal(got, want) {
		t.Errorf("unexported field:\n got %s\nwant %s", got, want)
	}
	for _, typ := range types {
		for i := range 200 {
			v := reflect.New(typ).Elem()
			randomFill(r, v, 3)
			resp := v.Interface()
			if i%2 == 1 {
				resp = v.Addr().Interface()
			}
			if got, want := envelope("req-\u2028", resp, nil), replyMaps("req-\u2028", resp, nil); !bytes.Equal(got, want) {
				t.Fatalf("%s, case %d:\n got %s\nwant %s", typ, i, got, want)
			}
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[planRefused](), reflect.TypeFor[planStringOpt](), reflect.TypeFor[planHyphen]()} {
		if planOf(typ) != nil {
			t.Errorf("%s has a plan", typ)
		}
	}
	for _, typ := range types[:7] {
		if planOf(typ) == nil {
			t.Errorf("%s has no plan", typ)
		}
	}
	if p := planOf(reflect.TypeFor[api.DescribeComplianceAssetListResponse]()); p.fields[0].kind != kindListOfStructs || p.fields[0].elem == nil {
		t.Error("the asset list's rows have no plan of their own")
	}
}

// randomFill sets v (settable) to a random value of its type.
func randomFill(r *rand.Rand, v reflect.Value, depth int) {
	if r.IntN(6) == 0 {
		return // the zero value
	}
	switch v.Kind() {
	case reflect.String:
		s := randomString(r)
		if r.IntN(4) == 0 {
			s += "\xff\xed\xa0\x80" + s
		}
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(r.Uint64()) >> (r.IntN(64)))
		if v.OverflowInt(v.Int()) {
			v.SetInt(-7)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(r.Uint64() >> r.IntN(64))
		if v.OverflowUint(v.Uint()) {
			v.SetUint(7)
		}
	case reflect.Float32, reflect.Float64:
		v.SetFloat(r.NormFloat64() * 1e6)
	default:
		randomFillComposite(r, v, depth)
	}
}

func randomFillComposite(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Slice:
		if depth == 0 {
			return
		}
		n := r.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			randomFill(r, s.Index(i), depth-1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			randomFill(r, v.Index(i), depth)
		}
	case reflect.Pointer:
		if depth > 0 {
			p := reflect.New(v.Type().Elem())
			randomFill(r, p.Elem(), depth-1)
			v.Set(p)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range r.IntN(3) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			randomFill(r, k, depth-1)
			randomFill(r, e, depth-1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Interface:
		if v.NumMethod() == 0 {
			if x := randomValue(r, 2); x != nil {
				v.Set(reflect.ValueOf(x))
			}
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(1<<32), r.Int64N(1e9)).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				randomFill(r, v.Field(i), depth)
			}
		}
	}
}

// The asset list's page of a hundred rows, as the daemon writes it.
func BenchmarkReplyAssetList(b *testing.B) {
	page := api.DescribeComplianceAssetListResponse{TotalCount: 10000}
	for i := range 100 {
		page.AssetInfoList = append(page.AssetInfoList, api.ComplianceAssetInfo{AssetName: "/fleet-container-" + strings.Repeat("x", i%7), AssetType: "ASSET_CONTAINER",
			CheckResult: "RESULT_FAILED", CheckStatus: "CHECK_FINISHED", CustomerAssetId: uint64(8_333_669_940_589_908 - i*7_919), FailedPolicyItemCount: 150 - i,
			HostIP: "10.0.0.42", LastCheckTime: "2026-12-05 00:00:00", NodeName: "node-42", PassedPolicyItemCount: i})
	}
	b.Run("Planned", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = appendReplyBody(buf[:0], page, "req-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encoded", func(b *testing.B) {
		for b.Loop() {
			raw, _ := json.Marshal(page)
			w := canonWriter{out: make([]byte, 0, len(raw)+64)}
			if _, err := w.object(raw, "RequestId", []byte(`"req-1"`)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
