package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baselinehq/baseline/store"
)

var _ store.ImageFilesCache = (*DB)(nil)

func TestImageFilesCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := func(i int) string { return fmt.Sprintf("sha256:%064x", i) }
	files := store.ImageFiles{Setuid: []string{"/bin/su"}}

	// Entries not used for 30 days are pruned on the next write; an entry
	// marked used meanwhile stays (reading one does not mark it).
	for i := 0; i < 3; i++ {
		if err := f.db.PutImageFiles(ctx, id(i), files); err != nil {
			t.Fatal(err)
		}
	}
	f.Clock.Step(20 * 24 * time.Hour)
	if _, ok, err := f.db.ImageFiles(ctx, id(1)); !ok || err != nil {
		t.Fatalf("get: %v, %v", ok, err)
	}
	if err := f.db.MarkImageFilesUsed(ctx, []string{id(0), id(9)}); err != nil {
		t.Fatal(err)
	}
	f.Clock.Step(11 * 24 * time.Hour)
	if err := f.db.PutImageFiles(ctx, id(3), files); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, false, true} {
		if _, ok, err := f.db.ImageFiles(ctx, id(i)); ok != want || err != nil {
			t.Errorf("entry %d after 31 days: present %v, want %v (%v)", i, ok, want, err)
		}
	}

	// At most MaxImageFiles entries: the least recently used go first.
	f.db.MaxImageFiles = 3
	for i := 10; i < 14; i++ {
		f.Clock.Step(time.Second)
		if err := f.db.PutImageFiles(ctx, id(i), files); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := f.db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM image_files").Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d entries, want 3 (%v)", n, err)
	}
	for i, want := range map[int]bool{0: false, 3: false, 10: false, 11: true, 12: true, 13: true} {
		if _, ok, _ := f.db.ImageFiles(ctx, id(i)); ok != want {
			t.Errorf("entry %d: present %v, want %v", i, ok, want)
		}
	}
}
