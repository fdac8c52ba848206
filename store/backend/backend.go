// Package backend chooses the store's backend from one setting: a
// PostgreSQL URL (postgres:// or postgresql://) opens the PostgreSQL
// store; no setting opens the embedded SQLite store in the data
// directory, the default.
package backend

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
	"github.com/baselinehq/baseline/store/sqlite"
)

// Options configure Open.
type Options struct {
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// CacheKiB is the SQLite store's page cache per connection, in KiB
	// (0: the store's default, sized for a daemon).
	CacheKiB int
	// Conns is how many connections the SQLite store keeps open (0: the
	// store's default, sized for a daemon).
	Conns int
}

// ErrSetting refuses a store setting that names no backend.
var ErrSetting = errors.New("the store setting is not a postgres:// or postgresql:// URL (leave it empty for the SQLite store in the data directory)")

// Check refuses a setting that names no backend, without showing it (it
// may hold a password).
func Check(setting string) error {
	if setting == "" || postgres.IsDSN(setting) {
		return nil
	}
	return ErrSetting
}

// Open opens the store that setting names, or the SQLite store in dataDir
// when setting is empty.
func Open(ctx context.Context, setting, dataDir string, opts Options) (store.Store, error) {
	if err := Check(setting); err != nil {
		return nil, err
	}
	if setting != "" {
		return postgres.Open(ctx, setting, postgres.Options{Now: opts.Now, Logger: opts.Logger})
	}
	db, err := sqlite.Open(ctx, dataDir, sqlite.Options{Now: opts.Now, Logger: opts.Logger, CacheKiB: opts.CacheKiB, Conns: opts.Conns})
	if err != nil {
		return nil, err
	}
	return db, nil
}

// Describe says where the store is, for people and logs: the PostgreSQL
// URL with its password masked, or the SQLite file.
func Describe(setting, dataDir string) string {
	if setting != "" {
		return postgres.MaskDSN(setting)
	}
	return filepath.Join(dataDir, sqlite.FileName)
}
