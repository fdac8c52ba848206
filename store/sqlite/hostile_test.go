package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/store"
)

// Parameters out of range are refused as invalid, never as an SQL error:
// 1,000 filter values (once an expression tree too large for SQLite), a
// NUL in a substring filter (once a match of every row), ids of 2^63 and
// more (beyond SQLite's integers). The largest filters the bounds allow
// run, on every list.
func TestOutOfRangeParametersAreInvalid(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.standard(t)
	many := make([]string, 1000)
	for i := range many {
		many[i] = "x"
	}
	invalid := func(what string, err error, want string) {
		t.Helper()
		if !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrInvalidParameter naming %q", what, err, want)
		}
	}
	_, _, err := f.db.Assets(ctx, store.Query{Filters: []store.Filter{{Name: "AssetName", Values: many}}})
	invalid("1,000 values", err, "at most 100 values")
	_, _, err = f.db.Assets(ctx, store.Query{Filters: []store.Filter{{Name: "AssetName", Values: []string{"\x00"}}}})
	invalid("NUL", err, "NUL")

	// The bounds at their maximum: 20 filters of 100 values of 256 bytes.
	var full []store.Filter
	long := strings.Repeat("y", store.MaxFilterValueBytes)
	for range store.MaxFilters {
		vals := make([]string, store.MaxFilterValues)
		for i := range vals {
			vals[i] = long
		}
		full = append(full, store.Filter{Name: "ClusterName", Values: vals})
	}
	q := store.Query{Filters: full}
	if _, _, err := f.db.Assets(ctx, q); err != nil {
		t.Errorf("assets with the largest filters: %v", err)
	}
	if _, _, err := f.db.Items(ctx, q); err != nil { // ClusterName is an EXISTS per value here
		t.Errorf("items with the largest filters: %v", err)
	}
	if _, _, err := f.db.AssetItems(ctx, ctrA, q); err != nil {
		t.Errorf("asset items with the largest filters: %v", err)
	}
	q.Filters = full[:]
	for i := range q.Filters {
		q.Filters[i].Name = "HostName"
	}
	if _, _, err := f.db.Whitelist(ctx, q); err != nil {
		t.Errorf("whitelist with the largest filters: %v", err)
	}

	const big = uint64(1) << 63
	_, err = f.db.Asset(ctx, big)
	invalid("Asset(2^63)", err, "CustomerAssetId 9223372036854775808")
	_, err = f.db.Item(ctx, big+5)
	invalid("Item(2^63+5)", err, "CustomerPolicyItemId 9223372036854775813")
	_, _, err = f.db.AssetItems(ctx, big, store.Query{})
	invalid("AssetItems(2^63)", err, "CustomerAssetId")
	_, _, err = f.db.ItemAssets(ctx, ^uint64(0), store.Query{})
	invalid("ItemAssets(2^64-1)", err, "CustomerPolicyItemId")
	_, err = f.db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21}, Assets: []uint64{ctrA, big}})
	invalid("AddWhitelist on asset 2^63", err, "CustomerAssetId")
	_, err = f.db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{big}, All: true})
	invalid("AddWhitelist of item 2^63", err, "CustomerPolicyItemId")
	invalid("RemoveWhitelistAssets", f.db.RemoveWhitelistAssets(ctx, []uint64{21}, []uint64{big}), "CustomerAssetId")
	rep := f.buildReport(map[uint64][]string{ctrA: {P, P, P, M}})
	rep.Assets[0].ID = big
	for i := range rep.Results {
		rep.Results[i].AssetID = big
	}
	task, err := f.db.BeginTask(ctx, store.TriggerManual, store.Scope{Assets: []uint64{ctrA}})
	if err != nil {
		t.Fatal(err)
	}
	invalid("a report naming asset 2^63", f.db.CompleteTask(ctx, task.ID, rep), "CustomerAssetId")
}
