package runner

import (
	"context"
	"testing"

	"github.com/baselinehq/baseline/store"
)

type fakeFiles struct{ f store.ImageFiles }

func (c fakeFiles) ImageFiles(context.Context, string) (store.ImageFiles, bool, error) {
	return c.f, true, nil
}
func (c fakeFiles) PutImageFiles(context.Context, string, store.ImageFiles) error { return nil }

// An entry recorded before secret-looking files were read says nothing of
// them: the scan reads the image again instead of taking it as "none".
func TestImageFilesEntryWithoutSecretsIsRead(t *testing.T) {
	ctx := context.Background()
	if _, ok, _ := (imageFilesCache{fakeFiles{store.ImageFiles{Setuid: []string{}}}}).Get(ctx, "sha256:x"); ok {
		t.Error("an entry without secret-looking files was used")
	}
	e, ok, _ := (imageFilesCache{fakeFiles{store.ImageFiles{Setuid: []string{"/su"}, Secrets: []string{}}}}).Get(ctx, "sha256:x")
	if !ok || len(e.Files.Setuid) != 1 || e.Files.Secrets == nil || e.History != nil {
		t.Errorf("an entry with its secret-looking files: ok %v, %+v", ok, e)
	}
}
