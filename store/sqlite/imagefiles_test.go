package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/baselinehq/baseline/store"
)

var _ store.ImageFilesCache = (*DB)(nil)

func TestImageFilesCache(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

	// A miss.
	if _, ok, err := f.db.ImageFiles(ctx, id); ok || err != nil {
		t.Fatalf("empty cache: ok %v, %v", ok, err)
	}
	// Put, then get: the lists and when they were read.
	readAt := f.clock.now().Add(-time.Minute)
	put := store.ImageFiles{Setuid: []string{"/usr/bin/passwd", "/usr/bin/su"}, Setgid: []string{"/usr/bin/wall"}, ReadAt: readAt}
	if err := f.db.PutImageFiles(ctx, id, put); err != nil {
		t.Fatal(err)
	}
	got, ok, err := f.db.ImageFiles(ctx, id)
	if err != nil || !ok || !reflect.DeepEqual(got.Setuid, put.Setuid) || !reflect.DeepEqual(got.Setgid, put.Setgid) || !got.ReadAt.Equal(readAt) {
		t.Fatalf("get = %+v, %v, %v; want %+v", got, ok, err, put)
	}
	// Empty lists stay lists, not nil.
	empty := "sha256:" + fmt.Sprintf("%064d", 1)
	if err := f.db.PutImageFiles(ctx, empty, store.ImageFiles{}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.db.ImageFiles(ctx, empty); err != nil || !ok || got.Setuid == nil || got.Setgid == nil || len(got.Setuid) != 0 ||
		!got.ReadAt.Equal(f.clock.now()) {
		t.Errorf("empty lists = %+v, %v, %v", got, ok, err)
	}
	// A different id is a miss: the key is the id, nothing else.
	if _, ok, _ := f.db.ImageFiles(ctx, "sha256:"+fmt.Sprintf("%064d", 2)); ok {
		t.Error("an unknown id hit")
	}
	if err := f.db.PutImageFiles(ctx, "", put); err == nil {
		t.Error("an entry without an id was recorded")
	}
}

func TestImageFilesCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := func(i int) string { return fmt.Sprintf("sha256:%064x", i) }
	files := store.ImageFiles{Setuid: []string{"/bin/su"}}

	// Entries not used for 30 days are pruned on the next write; an entry
	// read meanwhile stays.
	for i := 0; i < 3; i++ {
		if err := f.db.PutImageFiles(ctx, id(i), files); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.step(20 * 24 * time.Hour)
	if _, ok, err := f.db.ImageFiles(ctx, id(0)); !ok || err != nil {
		t.Fatalf("get: %v, %v", ok, err)
	}
	f.clock.step(11 * 24 * time.Hour)
	if err := f.db.PutImageFiles(ctx, id(3), files); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, false, true} {
		if _, ok, err := f.db.ImageFiles(ctx, id(i)); ok != want || err != nil {
			t.Errorf("entry %d after 31 days: present %v, want %v (%v)", i, ok, want, err)
		}
	}

	// At most maxImageFiles entries: the least recently used go first.
	defer func(n int) { maxImageFiles = n }(maxImageFiles)
	maxImageFiles = 3
	for i := 10; i < 14; i++ {
		f.clock.step(time.Second)
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

// A store at the previous schema version (6, before the cache) migrates,
// keeps its data, and then caches image files.
func TestMigrationToImageFilesCache(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/v6.db"
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, db, 6); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO signatures VALUES ('sig', 'DescribeTasks', 1000, 2000)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	up, err := OpenFile(ctx, path, Options{})
	if err != nil {
		t.Fatalf("migrating from version 6: %v", err)
	}
	defer up.Close()
	var v, sigs int
	if err := up.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != store.SchemaVersion || v != 7 {
		t.Fatalf("version %d, want %d (%v)", v, store.SchemaVersion, err)
	}
	if err := up.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM signatures").Scan(&sigs); err != nil || sigs != 1 {
		t.Errorf("signatures after the migration: %d, %v", sigs, err)
	}
	id := "sha256:" + fmt.Sprintf("%064d", 7)
	if err := up.PutImageFiles(ctx, id, store.ImageFiles{Setgid: []string{"/usr/bin/wall"}}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := up.ImageFiles(ctx, id); err != nil || !ok || len(got.Setgid) != 1 {
		t.Errorf("after the migration: %+v, %v, %v", got, ok, err)
	}
}
