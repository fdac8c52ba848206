package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// ImageFiles returns the files recorded for the image id
// (store.ImageFilesCache). It only reads: a scan reads the entries of its
// images as it goes, and marks them used at once afterwards
// (MarkImageFilesUsed), instead of a write per image while its results
// are being written.
func (s *Store) ImageFiles(ctx context.Context, imageID string) (store.ImageFiles, bool, error) {
	var doc string
	var readAt int64
	err := s.DB.QueryRow(ctx, `SELECT files, read_at FROM image_files WHERE image_id = ?`, imageID).Scan(&doc, &readAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ImageFiles{}, false, nil
	}
	if err != nil {
		return store.ImageFiles{}, false, err
	}
	var f store.ImageFiles
	if err := json.Unmarshal([]byte(doc), &f); err != nil {
		return store.ImageFiles{}, false, fmt.Errorf("image files of %s: %w", imageID, err)
	}
	f.ReadAt = FromUnix(readAt)
	return f, true, nil
}

// MarkImageFilesUsed records the entries of the image ids as used now
// (store.ImageFilesCache), in one transaction.
func (s *Store) MarkImageFilesUsed(ctx context.Context, imageIDs []string) error {
	if len(imageIDs) == 0 {
		return nil
	}
	now := Unix(s.Now())
	return s.Tx(ctx, func(c Conn) error {
		for ids := imageIDs; len(ids) > 0; {
			chunk := ids[:min(len(ids), 500)]
			ids = ids[len(chunk):]
			args := make([]any, 0, len(chunk)+1)
			args = append(args, now)
			for _, id := range chunk {
				args = append(args, id)
			}
			if _, err := c.Exec(ctx, `UPDATE image_files SET used_at = ? WHERE image_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
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
