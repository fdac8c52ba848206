package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets/docker"
)

// fakeImageFiles is an image files cache in memory; err, when set, is what
// every Get and Put returns.
type fakeImageFiles struct {
	mu      sync.Mutex
	entries map[string]ImageEntry
	gets    []string
	err     error
}

func (c *fakeImageFiles) Get(_ context.Context, id string) (ImageEntry, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets = append(c.gets, id)
	if c.err != nil {
		return ImageEntry{}, false, c.err
	}
	e, ok := c.entries[id]
	return e, ok, nil
}

func (c *fakeImageFiles) Put(_ context.Context, id string, e ImageEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.entries == nil {
		c.entries = map[string]ImageEntry{}
	}
	c.entries[id] = e
	return nil
}

const cacheTestID = "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904aa7b1f0e4a7b8e6c1f7a1d2e"

// imageFilesHost is a host whose exports are counted and give one setuid
// file, without an engine.
func imageFilesHost(cache ImageFilesCache, exports *int) *hostContext {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	return &hostContext{
		imageFiles: cache,
		now:        func() time.Time { return at },
		log:        slog.New(slog.DiscardHandler),
		exportFiles: func(context.Context, string) (docker.SpecialFiles, error) {
			*exports++
			return docker.SpecialFiles{Setuid: []string{"/usr/bin/passwd"}, Setgid: []string{}}, nil
		},
	}
}

func TestImageFilesCacheMissThenHit(t *testing.T) {
	ctx := context.Background()
	cache := &fakeImageFiles{}
	exports := 0

	// First scan: a miss exports the image and records its files under
	// its id, read at the scan's clock.
	first, err := (&assetFacts{host: imageFilesHost(cache, &exports), ref: cacheTestID}).observeImageFiles(ctx)
	if err != nil || exports != 1 {
		t.Fatalf("miss: %d exports, %v", exports, err)
	}
	if got := first.Subjects[0].Name; got != "image file system" {
		t.Errorf("exported subject = %q", got)
	}
	e, ok := cache.entries[cacheTestID]
	if !ok || len(e.Files.Setuid) != 1 || !e.ReadAt.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("cache after the miss = %+v", cache.entries)
	}

	// Second scan (a new host context): a hit, no export; the evidence
	// names the id the lists were cached from and when they were read.
	second, err := (&assetFacts{host: imageFilesHost(cache, &exports), ref: cacheTestID}).observeImageFiles(ctx)
	if err != nil || exports != 1 {
		t.Fatalf("hit: %d exports, %v", exports, err)
	}
	want := "image file system (cached from " + cacheTestID + " at 2026-03-01T10:00:00Z)"
	if got := second.Subjects[0].Name; got != want {
		t.Errorf("cached subject = %q, want %q", got, want)
	}
	if a, b := first.Subjects[0].Doc, second.Subjects[0].Doc; !reflect.DeepEqual(a, b) || !strings.Contains(fmt.Sprint(b), "/usr/bin/passwd") {
		t.Errorf("lists differ: exported %v, cached %v", a, b)
	}
}

func TestImageFilesCacheFailureExports(t *testing.T) {
	cache := &fakeImageFiles{err: errors.New("disk full")}
	exports := 0
	obs, err := (&assetFacts{host: imageFilesHost(cache, &exports), ref: cacheTestID}).observeImageFiles(context.Background())
	if err != nil || exports != 1 || len(obs.Subjects) != 1 || obs.Subjects[0].Name != "image file system" {
		t.Fatalf("a failing cache: %d exports, %+v, %v; want the export's lists", exports, obs, err)
	}
}

func TestImageFilesCacheKeyIsTheFullID(t *testing.T) {
	cache := &fakeImageFiles{}
	exports := 0
	for i := 0; i < 2; i++ {
		if _, err := (&assetFacts{host: imageFilesHost(cache, &exports), ref: "baseline-test/setuid:1"}).observeImageFiles(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if exports != 2 || len(cache.gets) != 0 || len(cache.entries) != 0 {
		t.Errorf("a name, not an id: %d exports, gets %v, entries %v; want no cache use", exports, cache.gets, cache.entries)
	}
	// Without a cache, every scan exports.
	exports = 0
	if _, err := (&assetFacts{host: imageFilesHost(nil, &exports), ref: cacheTestID}).observeImageFiles(context.Background()); err != nil || exports != 1 {
		t.Errorf("no cache: %d exports, %v", exports, err)
	}
}

func TestImageFilesCacheSubjectNamesTheID(t *testing.T) {
	cache := &fakeImageFiles{entries: map[string]ImageEntry{cacheTestID: {ReadAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}}
	exports := 0
	obs, err := (&assetFacts{host: imageFilesHost(cache, &exports), ref: cacheTestID}).observeImageFiles(context.Background())
	if err != nil || exports != 0 || !strings.Contains(obs.Subjects[0].Name, cacheTestID) {
		t.Errorf("%d exports, %+v, %v", exports, obs, err)
	}
}

// An image whose cache entry holds its history is judged from it without
// an engine, in the engine's field names and types, and the subject names
// the id it was cached from and when it was read.
func TestImageHistoryFromCache(t *testing.T) {
	at := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	step := docker.HistoryStep{ID: "<missing>", Created: 1700000000, CreatedBy: "/bin/sh -c #(nop) ADD file:abc in /", Size: 42}
	cache := &fakeImageFiles{entries: map[string]ImageEntry{cacheTestID: {ReadAt: at, History: []docker.HistoryStep{step}, HistoryAt: at}}}
	exports := 0
	obs, err := (&assetFacts{host: imageFilesHost(cache, &exports), ref: cacheTestID}).observeHistory(context.Background())
	if err != nil || len(obs.Subjects) != 1 {
		t.Fatalf("history from the cache: %+v, %v", obs, err)
	}
	want := "image history (cached from " + cacheTestID + " at 2026-02-01T09:00:00Z)"
	if got := obs.Subjects[0].Name; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	hist := obs.Subjects[0].Doc.(map[string]any)["history"].([]any)
	if len(hist) != 1 || hist[0].(map[string]any)["Size"] != int64(42) || hist[0].(map[string]any)["CreatedBy"] != step.CreatedBy {
		t.Errorf("history = %v, want the cached step as the engine gives it", hist)
	}
	if len(cache.entries) != 1 || exports != 0 {
		t.Errorf("a cache hit wrote or exported: entries %v, %d exports", cache.entries, exports)
	}
}
