package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/baselinehq/baseline/store"
)

// The image files cache's bound: entries not used for imageFilesUnused are
// deleted, and at most MaxImageFiles entries (the most recently used) are
// kept. Both are applied on each write.
const (
	imageFilesUnused = 30 * 24 * time.Hour
	// DefaultMaxImageFiles is MaxImageFiles when it is not set.
	DefaultMaxImageFiles = 10_000
)

// imageFilesUseStep is how long ago an entry may have been last used
// before a read records its use again: a scan reads every image's entry,
// and a write per image and scan would cost more than the bound needs
// (entries unused for imageFilesUnused go, the least recently used first).
const imageFilesUseStep = time.Hour

// ImageFiles returns the files recorded for the image id
// (store.ImageFilesCache) and marks the entry used (its use time kept to
// within imageFilesUseStep).
func (s *Store) ImageFiles(ctx context.Context, imageID string) (store.ImageFiles, bool, error) {
	var doc string
	var readAt, usedAt int64
	err := s.DB.QueryRow(ctx, `SELECT files, read_at, used_at FROM image_files WHERE image_id = ?`, imageID).Scan(&doc, &readAt, &usedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ImageFiles{}, false, nil
	}
	if err != nil {
		return store.ImageFiles{}, false, err
	}
	if now := Unix(s.Now()); now-usedAt >= imageFilesUseStep.Milliseconds() {
		err := s.rowWrite(ctx, func(c Conn) error {
			_, err := c.Exec(ctx, `UPDATE image_files SET used_at = ? WHERE image_id = ? AND used_at < ?`, now, imageID, now)
			return err
		})
		if err != nil {
			return store.ImageFiles{}, false, err
		}
	}
	var f store.ImageFiles
	if err := json.Unmarshal([]byte(doc), &f); err != nil {
		return store.ImageFiles{}, false, fmt.Errorf("image files of %s: %w", imageID, err)
	}
	f.ReadAt = FromUnix(readAt)
	return f, true, nil
}

// PutImageFiles records the files read from the image id
// (store.ImageFilesCache), replacing any entry for it, and prunes the
// entries beyond the cache's bound.
func (s *Store) PutImageFiles(ctx context.Context, imageID string, files store.ImageFiles) error {
	if imageID == "" {
		return errors.New("image files: no image id")
	}
	if files.Setuid == nil {
		files.Setuid = []string{}
	}
	if files.Setgid == nil {
		files.Setgid = []string{}
	}
	if files.Secrets == nil {
		files.Secrets = []string{}
	}
	doc, err := json.Marshal(files)
	if err != nil {
		return err
	}
	now := s.Now()
	readAt := files.ReadAt
	if readAt.IsZero() {
		readAt = now
	}
	keep := s.MaxImageFiles
	if keep <= 0 {
		keep = DefaultMaxImageFiles
	}
	return s.Tx(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, `
INSERT INTO image_files(image_id, files, read_at, used_at) VALUES (?, ?, ?, ?)
ON CONFLICT(image_id) DO UPDATE SET files = excluded.files, read_at = excluded.read_at, used_at = excluded.used_at`,
			imageID, string(doc), Unix(readAt), Unix(now)); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `DELETE FROM image_files WHERE used_at < ?`, Unix(now.Add(-imageFilesUnused))); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `DELETE FROM image_files WHERE image_id IN
	(SELECT image_id FROM image_files ORDER BY used_at DESC, image_id `+s.Dialect.Offset+`)`, keep)
		return err
	})
}
