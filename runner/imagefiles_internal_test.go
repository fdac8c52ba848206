package runner

import (
	"context"
	"slices"
	"testing"

	"github.com/baselinehq/baseline/store"
)

type fakeFiles struct {
	f    store.ImageFiles
	used *[]string
}

func (c fakeFiles) ImageFiles(context.Context, string) (store.ImageFiles, bool, error) {
	return c.f, true, nil
}
func (c fakeFiles) PutImageFiles(context.Context, string, store.ImageFiles) error { return nil }
func (c fakeFiles) MarkImageFilesUsed(_ context.Context, ids []string) error {
	*c.used = append(*c.used, ids...)
	return nil
}

func newCache(f store.ImageFiles, used *[]string) *imageFilesCache {
	return &imageFilesCache{c: fakeFiles{f: f, used: used}, used: map[string]bool{}}
}

// An entry recorded before secret-looking files were read says nothing of
// them: the scan reads the image again instead of taking it as "none".
func TestImageFilesEntryWithoutSecretsIsRead(t *testing.T) {
	ctx := context.Background()
	var used []string
	old := newCache(store.ImageFiles{Setuid: []string{}}, &used)
	if _, ok, _ := old.Get(ctx, "sha256:x"); ok {
		t.Error("an entry without secret-looking files was used")
	}
	if err := old.markUsed(ctx); err != nil || len(used) != 0 {
		t.Errorf("an entry not used was marked used: %v %v", used, err)
	}
	c := newCache(store.ImageFiles{Setuid: []string{"/su"}, Secrets: []string{}}, &used)
	e, ok, _ := c.Get(ctx, "sha256:x")
	if !ok || len(e.Files.Setuid) != 1 || e.Files.Secrets == nil || e.History != nil {
		t.Errorf("an entry with its secret-looking files: ok %v, %+v", ok, e)
	}
}

// The entries a scan used are marked used once, together, when it ends.
func TestImageFilesUsedMarkedOnce(t *testing.T) {
	ctx := context.Background()
	var used []string
	c := newCache(store.ImageFiles{Setuid: []string{}, Secrets: []string{}}, &used)
	for _, id := range []string{"sha256:b", "sha256:a", "sha256:b"} {
		if _, ok, _ := c.Get(ctx, id); !ok {
			t.Fatalf("entry %s not found", id)
		}
	}
	if len(used) != 0 {
		t.Errorf("entries marked used while the scan ran: %v", used)
	}
	if err := c.markUsed(ctx); err != nil || !slices.Equal(used, []string{"sha256:a", "sha256:b"}) {
		t.Errorf("marked used: %v (%v), want each entry once", used, err)
	}
}
