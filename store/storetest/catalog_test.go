package storetest_test

import (
	"context"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/checks"
)

// catalogOf loads a one-standard catalog of the given items (lines of
// YAML after "items:").
func catalogOf(t *testing.T, items string) *checks.Catalog {
	t.Helper()
	def := "standard: {id: cs, name: CS, version: \"1\", asset_types: [container]}\ncategory: Runtime\nasset_type: container\nitems:\n" + items
	cat, err := checks.Load(checks.Tree{FS: fstest.MapFS{"cs/standard.yaml": {Data: []byte(def)}}, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// Recording the catalog keeps every item ever defined, the ones no longer
// defined marked inactive (and active again when they come back), takes
// an item's changed title, and keeps a standard's enabled switch.
func TestSyncCatalogRecordsWhatChanged(t *testing.T) { eachPlace(t, tSyncCatalog) }

func tSyncCatalog(t *testing.T, p *place) {
	ctx := context.Background()
	db := p.open(t, time.Now, 0)
	item := func(id, title string) string {
		return "  - {id: " + id + ", number: \"" + id + "\", title: " + title + ", risk: low, assessment: manual}\n"
	}
	first := catalogOf(t, item("41", "First")+item("42", "Second"))
	second := catalogOf(t, item("41", "First renamed")+item("43", "Third"))
	items := func() []string {
		return p.query(t, "SELECT CAST(id AS TEXT) || ' ' || name || ' ' || CASE WHEN active = 1 THEN 'active' ELSE 'inactive' END FROM items ORDER BY id")
	}
	for i, step := range []struct {
		cat  *checks.Catalog
		want []string
	}{
		{first, []string{"41 First active", "42 Second active"}},
		{second, []string{"41 First renamed active", "42 Second inactive", "43 Third active"}},
		{second, []string{"41 First renamed active", "42 Second inactive", "43 Third active"}},
		{first, []string{"41 First active", "42 Second active", "43 Third inactive"}},
	} {
		if err := db.SyncCatalog(ctx, step.cat); err != nil {
			t.Fatal(err)
		}
		if got := items(); !slices.Equal(got, step.want) {
			t.Errorf("items %q, want %q", got, step.want)
		}
		if i == 0 { // switched off once: every later sync must keep it off
			if err := db.SetStandardEnabled(ctx, "cs", false); err != nil {
				t.Fatal(err)
			}
		}
		if off, err := db.DisabledStandards(ctx); err != nil || !slices.Equal(off, []string{"cs"}) {
			t.Errorf("sync %d: standards switched off: %v %v, want cs kept off", i+1, off, err)
		}
	}
}
