package store

import (
	"context"
	"fmt"
	"math"
	"slices"
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
