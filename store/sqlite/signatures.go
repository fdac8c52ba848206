package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// The request signatures that the replay guard records (store.ReplayGuard)
// are kept in a database file of their own beside the store's, with its
// own connections. A commit to a file makes every other connection to it
// drop its page cache before its next read, and a signature is committed
// at every API call: in the store's file, each call made the readers read
// their pages again. Every process on the store opens the same signatures
// file, so a signature used through one daemon is refused by the others.

// signaturesSchema is the signatures' table (as migration 6 made it in the
// store's file before migration store.SignaturesMoved).
const signaturesSchema = `
CREATE TABLE IF NOT EXISTS signatures (
	signature  TEXT PRIMARY KEY,
	action     TEXT NOT NULL,
	used_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS signatures_expiry ON signatures(expires_at);
`

// SignaturesPath is the signatures' file of the store file path:
// baseline-signatures.db beside baseline.db.
func SignaturesPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-signatures" + ext
}

// openSignatures opens (creating it 0600) the signatures' file at path,
// with its table.
func openSignatures(ctx context.Context, path string, log *slog.Logger) (*sql.DB, error) {
	if err := createPrivate(path, log); err != nil {
		return nil, err
	}
	// A signature's write is small: writers wait for each other, never
	// long; readers do not wait (write-ahead log).
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(60000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	if _, err := db.ExecContext(ctx, signaturesSchema); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// signatureTx runs f in one transaction of the signatures' file
// (sqlstore.Store.SignatureTx): it never waits for the store's write lock.
func (s *DB) signatureTx(ctx context.Context, f func(sqlstore.Conn) error) error {
	tx, err := s.sig.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(sqlConn{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// moveSignatures copies the signatures recorded in the store's file (tx,
// the migration that then drops them) into the signatures' file, keeping
// of a signature in both the record that expires last.
func moveSignatures(ctx context.Context, tx *sql.Tx, sig *sql.DB) error {
	type use struct {
		signature, action string
		used, expires     int64
	}
	var tables int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'signatures'`).Scan(&tables); err != nil || tables == 0 {
		return err // none to move
	}
	rows, err := tx.QueryContext(ctx, `SELECT signature, action, used_at, expires_at FROM signatures`)
	if err != nil {
		return err
	}
	var uses []use
	for rows.Next() {
		var u use
		if err := rows.Scan(&u.signature, &u.action, &u.used, &u.expires); err != nil {
			rows.Close()
			return err
		}
		uses = append(uses, u)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	stx, err := sig.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, u := range uses {
		if _, err := stx.ExecContext(ctx, `INSERT INTO signatures(signature, action, used_at, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT(signature) DO UPDATE SET action = excluded.action, used_at = excluded.used_at, expires_at = excluded.expires_at
WHERE signatures.expires_at < excluded.expires_at`, u.signature, u.action, u.used, u.expires); err != nil {
			_ = stx.Rollback()
			return err
		}
	}
	return stx.Commit()
}
