// Package sqlite implements the store on an embedded SQLite file
// (modernc.org/sqlite: pure Go, so the binary stays static). Schema
// changes are versioned migrations; every task's results land in one
// transaction, so a killed process never leaves half-written results.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// Readers is how many connections the store keeps unless Options.Conns
// says otherwise.
const Readers = 4

// FileName is the database file's name inside the data directory.
const FileName = "baseline.db"

// DB is the SQLite store.
type DB struct {
	// Store holds the roles written once for the SQL backends.
	*sqlstore.Store
	db *sql.DB
	// sig is the signatures' own file (signatures.go).
	sig  *signatures
	path string
	now  func() time.Time
	log  *slog.Logger
	// pid and host identify this process as a task owner.
	pid  int
	host string
	// alive tells whether a task owner process still runs.
	alive func(host string, pid int) bool
	// stmts are the prepared statements of the results' ingest.
	stmts *stmtCache
}

var _ store.Store = (*DB)(nil)

// Options configure Open.
type Options struct {
	// Now is the clock (default time.Now); tests step it.
	Now    func() time.Time
	Logger *slog.Logger
	// SchemaVersion migrates the schema only this far (0: to
	// store.SchemaVersion). Only a test building an older schema sets it:
	// the store's queries expect the current one.
	SchemaVersion int
	// CacheKiB is the page cache of each connection, in KiB (0:
	// DefaultCacheKiB). A daemon answering reads at fleet size wants the
	// default; a one-shot command, which writes a scan once and reads
	// little back, gains nothing from more than SQLite's own 2 MiB.
	CacheKiB int
	// Conns is how many connections the store keeps open (0: Readers).
	// Each holds its own page cache, schema and prepared statements: a
	// one-shot command, whose scan writes from one goroutine while the
	// others read little, keeps fewer than a daemon answering requests
	// side by side.
	Conns int
}

// pageSize is the page size of a new database file: a scan's results
// (their evidence, a few hundred bytes each) fill half as many pages, and
// the write-ahead log takes half as many writes, as with SQLite's 4 KiB.
// A file created before keeps its own.
const pageSize = 8192

// DefaultCacheKiB is each connection's page cache unless Options.CacheKiB
// says otherwise: 32 MiB, so that a fleet's roll-ups and pages stay in
// memory while the daemon answers.
const DefaultCacheKiB = 32 << 10

// Open opens (creating if needed) the store in dir and migrates its schema.
// A directory it creates is readable by its owner only (0700); an existing
// one that others may read is used as it is, with a warning in the log.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	if err := PrivateDir(dir, logger(opts)); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	return OpenFile(ctx, path, opts)
}

// PrivateDir creates dir, with its missing parents, readable by its owner
// only (0700). An existing directory keeps its permissions; when others
// may read or enter it, a warning says so.
func PrivateDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		log.Warn("directory is open to other users; baseline's files in it are 0600, but consider chmod 700", "dir", dir, "mode", fmt.Sprintf("%#o", perm))
	}
	return nil
}

// createPrivate creates the database file readable and writable by its
// owner only (0600) when it does not exist, so that SQLite, which gives
// its -wal and -shm files the database's permissions, creates those 0600
// too. An existing file keeps its permissions, with a warning when others
// may read it.
func createPrivate(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case !errors.Is(err, os.ErrExist):
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		log.Warn("store file is open to other users; consider chmod 600", "file", path, "mode", fmt.Sprintf("%#o", perm))
	}
	return nil
}

func logger(opts Options) *slog.Logger {
	if opts.Logger != nil {
		return opts.Logger.With("component", "store")
	}
	return slog.Default().With("component", "store")
}

// OpenFile opens the store in one database file, creating it 0600.
func OpenFile(ctx context.Context, path string, opts Options) (*DB, error) {
	log := logger(opts)
	if err := createPrivate(path, log); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Every connection gets the same settings. Writers take the write lock
	// when their transaction begins (immediate) and wait up to a minute for
	// another writer (a fleet-size ingest takes seconds); readers never
	// wait, thanks to the write-ahead log. journal_size_limit keeps the log
	// from staying as large as the biggest task once checkpointed. The
	// page size applies to a new file only (journal_mode comes after the
	// _pragma list: once in WAL mode, the size is fixed).
	dsn := "file:" + path + "?_pragma=busy_timeout(60000)&_pragma=page_size(" + strconv.Itoa(pageSize) + ")&_journal_mode=WAL&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)" +
		"&_pragma=cache_size(-" + strconv.Itoa(cacheKiB(opts)) + ")&_pragma=temp_store(MEMORY)&_pragma=journal_size_limit(67108864)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Several connections so that API reads run side by side; SQLite
	// serializes the writers. Each is kept while requests come (with the
	// default of two idle connections, a burst of requests closed the
	// others as they finished and opened new ones, each with an empty page
	// cache and its schema to read again), and closed after a minute
	// unused.
	conns := opts.Conns
	if conns <= 0 {
		conns = Readers
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(time.Minute)
	stmts := newStmtCache(db)
	sig, err := newSignatures(SignaturesPath(path), log)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &DB{db: db, sig: sig, path: path, now: opts.Now, log: log, pid: os.Getpid(), alive: processAlive, stmts: stmts}
	if s.now == nil {
		s.now = time.Now
	}
	s.host, _ = os.Hostname()
	s.Store = &sqlstore.Store{Dialect: dialect, DB: dbConn{db: db, stmts: stmts}, Tx: s.sharedTx, Now: s.now, Log: s.log, Columns: columns, Rollups: rollups,
		ResultPage: s.results, SignatureTx: s.signatureTx, Signatures: signaturesConn{sig: sig, c: dbConn{db: sig.db, stmts: newStmtCache(sig.db)}}}
	n := opts.SchemaVersion
	if n == 0 {
		n = store.SchemaVersion
	}
	if err := migrateTo(ctx, s.db, s.sig, n); err != nil {
		s.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// cacheKiB is the page cache the options ask for.
func cacheKiB(opts Options) int {
	if opts.CacheKiB > 0 {
		return opts.CacheKiB
	}
	return DefaultCacheKiB
}

// Path is the database file.
func (s *DB) Path() string { return s.path }

// Close closes the database and the signatures' file.
func (s *DB) Close() error {
	s.stmts.close()
	return errors.Join(s.db.Close(), s.sig.db.Close())
}

// tx runs f in one immediate (write-locking) transaction (connTx).
func (s *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	return s.connTx(ctx, func(tx *sql.Tx, _ *sql.Conn) error { return f(tx) })
}

// connTx runs f in one immediate (write-locking) transaction, tx, on
// the connection conn: the ingest writes its results rows through the
// driver's own statements on conn, between tx's statements (rawResults).
func (s *DB) connTx(ctx context.Context, f func(tx *sql.Tx, conn *sql.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx, conn); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sharedTx runs f in one immediate transaction (sqlstore.Store.Tx).
func (s *DB) sharedTx(ctx context.Context, f func(sqlstore.Conn) error) error {
	return s.connTx(ctx, func(tx *sql.Tx, conn *sql.Conn) error { return f(sqlConn{q: tx, conn: conn}) })
}

// sqlConn runs the shared roles' statements on the database or a
// transaction (q), and for a transaction of connTx, knows its
// connection (conn).
type sqlConn struct {
	q interface {
		ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	}
	conn *sql.Conn
}

func (c sqlConn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqlConn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	r, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (c sqlConn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Scanner {
	return c.q.QueryRowContext(ctx, q, args...)
}

// sqlRows are database/sql's rows as sqlstore.Rows.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// processAlive reports whether a process of this host still runs.
func processAlive(host string, pid int) bool {
	me, _ := os.Hostname()
	if host != me {
		return true // another host's task: only its own recovery may end it
	}
	if pid == os.Getpid() {
		return true
	}
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil || !errors.Is(err, os.ErrNotExist)
}

// unix is a stored time (unix milliseconds).
var unix = sqlstore.Unix
