package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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

// signatures is the signatures' file, opened at its first use: only the
// API's replay guard records signatures, so a command that serves no
// request (a scan, an export) neither creates the file nor keeps a
// connection to it.
type signatures struct {
	db   *sql.DB // opened without connecting: database/sql connects on use
	path string
	log  *slog.Logger

	mu    sync.Mutex
	ready atomic.Bool // the file exists, private, with its table
}

// newSignatures prepares the signatures' file at path, without touching
// it.
func newSignatures(path string, log *slog.Logger) (*signatures, error) {
	// A signature's write is small: writers wait for each other, never
	// long; readers do not wait (write-ahead log).
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(60000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	return &signatures{db: db, path: path, log: log}, nil
}

// open returns the signatures' database, creating the file (0600) and its
// table at the first call; a failed first use is tried again at the next.
func (s *signatures) open(ctx context.Context) (*sql.DB, error) {
	if s.ready.Load() {
		return s.db, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready.Load() {
		if err := createPrivate(s.path, s.log); err != nil {
			return nil, err
		}
		if err := s.createTable(ctx); err != nil {
			return nil, err
		}
		s.ready.Store(true)
	}
	return s.db, nil
}

// createTable creates the signatures' table. Two processes on the store
// may create the file at the same moment (two daemons' first requests):
// while one turns the new file to write-ahead logging, the other's
// connection is refused as busy at once, without waiting, so a busy
// refusal is tried again (for up to about a second).
func (s *signatures) createTable(ctx context.Context) error {
	wait := time.Millisecond
	for {
		_, err := s.db.ExecContext(ctx, signaturesSchema)
		var e *sqlitedriver.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY || wait > 512*time.Millisecond {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// signaturesConn runs the signature statements outside a transaction
// (sqlstore.Store.Signatures) once the file is open.
type signaturesConn struct {
	sig *signatures
	c   dbConn
}

func (c signaturesConn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if _, err := c.sig.open(ctx); err != nil {
		return 0, err
	}
	return c.c.Exec(ctx, q, args...)
}

func (c signaturesConn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	if _, err := c.sig.open(ctx); err != nil {
		return nil, err
	}
	return c.c.Query(ctx, q, args...)
}

func (c signaturesConn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Scanner {
	if _, err := c.sig.open(ctx); err != nil {
		return failedRow{err}
	}
	return c.c.QueryRow(ctx, q, args...)
}

// failedRow is a row whose query could not run.
type failedRow struct{ err error }

func (r failedRow) Scan(...any) error { return r.err }

// signatureTx runs f in one transaction of the signatures' file
// (sqlstore.Store.SignatureTx): it never waits for the store's write lock.
func (s *DB) signatureTx(ctx context.Context, f func(sqlstore.Conn) error) error {
	sig, err := s.sig.open(ctx)
	if err != nil {
		return err
	}
	tx, err := sig.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(sqlConn{q: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// moveSignatures copies the signatures recorded in the store's file (tx,
// the migration that then drops them) into the signatures' file, keeping
// of a signature in both the record that expires last.
func moveSignatures(ctx context.Context, tx *sql.Tx, sigs *signatures) error {
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
	if len(uses) == 0 {
		return nil // a new store's: nothing to move, and no file to create
	}
	sig, err := sigs.open(ctx)
	if err != nil {
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
