package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSlicePagesAListInMemory(t *testing.T) {
	list := []int{0, 1, 2, 3, 4}
	cases := []struct {
		q    Query
		want []int
	}{
		{Query{Offset: 0, Limit: 2}, []int{0, 1}},
		{Query{Offset: 3, Limit: 10}, []int{3, 4}},
		{Query{Offset: 5, Limit: 10}, []int{}},
		{Query{Offset: math.MaxInt, Limit: 100}, []int{}},
	}
	for _, c := range cases {
		if got := Slice(list, c.q); !slices.Equal(got, c.want) {
			t.Errorf("Slice(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestAllReadsEveryPage(t *testing.T) {
	const n = 2*MaxLimit + 7
	calls := 0
	fetch := func(_ context.Context, q Query) ([]int, int, error) {
		calls++
		var page []int
		for i := q.Offset; i < min(q.Offset+q.Limit, n); i++ {
			page = append(page, i)
		}
		return page, n, nil
	}
	all, err := All(context.Background(), fetch)
	if err != nil || len(all) != n || all[n-1] != n-1 || calls != 3 {
		t.Fatalf("All gave %d rows in %d calls (%v), want %d in 3", len(all), calls, err, n)
	}
	boom := fmt.Errorf("boom")
	if _, err := All(context.Background(), func(context.Context, Query) ([]int, int, error) { return nil, 0, boom }); err != boom {
		t.Errorf("All's error = %v, want the fetch's", err)
	}
}

// Normalize refuses, naming the parameter, paging beyond MaxOffset and
// filters beyond their bounds (count, values, bytes, NUL); what is within
// the bounds passes.
func TestNormalizeBoundsPagingAndFilters(t *testing.T) {
	vals := func(n int, v string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	filters := func(n int) []Filter {
		out := make([]Filter, n)
		for i := range out {
			out[i] = Filter{Name: "AssetName", Values: vals(MaxFilterValues, strings.Repeat("v", MaxFilterValueBytes))}
		}
		return out
	}
	cases := []struct {
		name string
		q    Query
		want string // "" when the query is within bounds
	}{
		{"largest offset", Query{Offset: MaxOffset}, ""},
		{"every bound at its maximum", Query{Limit: MaxLimit, Filters: filters(MaxFilters)}, ""},
		{"negative offset", Query{Offset: -1}, "Offset"},
		{"offset past the maximum", Query{Offset: MaxOffset + 1}, "Offset"},
		{"largest int offset", Query{Offset: math.MaxInt}, "Offset"},
		{"negative limit", Query{Limit: -1}, "Limit"},
		{"too many filters", Query{Filters: filters(MaxFilters + 1)}, "Filters: at most 20 filters (got 21)"},
		{"too many values", Query{Filters: []Filter{{Name: "AssetName", Values: vals(1000, "x")}}}, `Filters[0] "AssetName": at most 100 values (got 1000)`},
		{"value too long", Query{Filters: []Filter{{Name: "NodeName", Values: []string{"a", strings.Repeat("x", 257)}}}}, `Filters[0] "NodeName": Values[1]: at most 256 bytes (got 257)`},
		{"NUL in a value", Query{Filters: []Filter{{Name: "AssetName", Values: []string{"\x00"}}}}, `Values[0] contains a NUL character`},
		{"NUL in a name", Query{Filters: []Filter{{Name: "Asset\x00Name", Values: []string{"x"}}}}, `Filters[0].Name contains a NUL`},
		{"name too long", Query{Filters: []Filter{{Name: strings.Repeat("N", 65), Values: []string{"x"}}}}, `Filters[0].Name: at most 64 bytes`},
	}
	for _, c := range cases {
		err := c.q.Normalize()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrInvalidParameter) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want ErrInvalidParameter naming %q", c.name, err, c.want)
		}
	}
}

// Ids above MaxID (SQLite's largest integer) are refused, naming what.
func TestCheckIDs(t *testing.T) {
	if err := CheckIDs("CustomerAssetId", 1, MaxID); err != nil {
		t.Errorf("ids within range: %v", err)
	}
	err := CheckIDs("CustomerAssetId", 7, MaxID+1)
	if !errors.Is(err, ErrInvalidParameter) || !strings.Contains(err.Error(), "CustomerAssetId 9223372036854775808 is out of range") {
		t.Errorf("id 2^63: %v", err)
	}
}
