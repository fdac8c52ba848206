// Package postgres implements the store on a PostgreSQL database
// (github.com/jackc/pgx/v5 and its pool), for a central daemon whose fleet
// outgrows one file, and for several daemons sharing one database. Its
// schema walks the same versioned migrations as the SQLite store; every
// task's results land in one transaction; writes are serialized across
// every handle on the database by an advisory lock, as SQLite serializes
// its writers, and a task's owner is a handle holding a session lock, so
// that a task whose daemon died (its connection gone) is recovered by any
// other.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// Advisory lock keys. Writers take writeLock for their transaction; each
// handle holds (ownerClass, its owner key) for its life.
const (
	writeLock   int64 = 0x62736c6e_00000001 // "bsln", 1
	migrateLock int64 = 0x62736c6e_00000002
	ownerClass  int32 = 0x62736c6e
	periodClass int32 = 0x62736c70 // "bslp"
)

// DB is the PostgreSQL store.
type DB struct {
	// Store holds the roles written once for the SQL backends.
	*sqlstore.Store
	pool *pgxpool.Pool
	// writer admits one of this handle's write transactions at a time to
	// the pool (see tx).
	writer chan struct{}
	// ownerConn holds this handle's owner lock; owner is its key.
	ownerMu   sync.Mutex
	ownerConn *pgx.Conn
	owner     int32
	dsn       string // masked
	now       func() time.Time
	log       *slog.Logger
	pid       int
	host      string
	closeOnce sync.Once
	// locks are the connections holding period locks, closed by Close.
	locksMu sync.Mutex
	locks   map[*pgx.Conn]bool
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
}

// Open connects to the database that dsn names (a postgres:// URL or
// key=value settings), migrates its schema and takes this handle's owner
// lock. Errors and logs never show the DSN's password.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	masked := MaskDSN(dsn)
	db, err := open(ctx, dsn, masked, opts)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", masked, redact(err, dsn))
	}
	return db, nil
}

func open(ctx context.Context, dsn, masked string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("the DSN is not a PostgreSQL URL or key=value list")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &DB{dsn: masked, now: opts.Now, log: log.With("component", "store"), pid: os.Getpid(), writer: make(chan struct{}, 1)}
	if s.now == nil {
		s.now = time.Now
	}
	s.host, _ = os.Hostname()
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, err
	}
	s.Store = &sqlstore.Store{Dialect: dialect, DB: s.db(), Tx: s.sharedTx, SignatureTx: s.plainTx, RowTx: s.plainTx, Now: s.now, Log: s.log, Columns: columns, Rollups: rollups,
		ResultPage: s.results}
	n := opts.SchemaVersion
	if n == 0 {
		n = store.SchemaVersion
	}
	if err := s.migrate(ctx, n); err != nil {
		s.pool.Close()
		return nil, err
	}
	if err := s.takeOwner(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	s.log.Info("store opened", "backend", "postgres", "dsn", masked)
	return s, nil
}

// takeOwner takes a free owner key on a connection of its own, held until
// Close (or until the process dies and the server drops the connection).
func (s *DB) takeOwner(ctx context.Context) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := c.Hijack()
	for range 100 {
		key := rand.Int32()
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", ownerClass, key).Scan(&ok); err != nil {
			_ = conn.Close(ctx)
			return err
		}
		if ok {
			s.ownerConn, s.owner = conn, key
			return nil
		}
	}
	_ = conn.Close(ctx)
	return errors.New("no free task owner key")
}

// currentOwner is this handle's owner key, taken again on a new
// connection if the one holding it ended (the server restarted, the
// network failed): the tasks begun under the old key are then another
// handle's to recover, as if this daemon had died.
func (s *DB) currentOwner(ctx context.Context) (int32, error) {
	s.ownerMu.Lock()
	defer s.ownerMu.Unlock()
	if s.ownerConn != nil && s.ownerConn.Ping(ctx) == nil {
		return s.owner, nil
	}
	if s.ownerConn != nil {
		_ = s.ownerConn.Close(ctx)
		s.ownerConn = nil
		s.log.Warn("the connection holding the task owner lock ended; taking a new one", "old_owner", s.owner)
	}
	if err := s.takeOwner(ctx); err != nil {
		return 0, err
	}
	return s.owner, nil
}

// ownerAlive reports whether the handle owning key still holds its lock.
func (s *DB) ownerAlive(ctx context.Context, key int32) (bool, error) {
	s.ownerMu.Lock()
	mine := key == s.owner && s.ownerConn != nil
	s.ownerMu.Unlock()
	if mine {
		return true, nil
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return true, err
	}
	defer c.Release()
	var free bool
	if err := c.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", ownerClass, key).Scan(&free); err != nil {
		return true, err
	}
	if free {
		_, err = c.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", ownerClass, key)
	}
	return !free, err
}

// DSN is the database's DSN with its password masked.
func (s *DB) DSN() string { return s.dsn }

// Close releases the owner lock and closes the pool.
func (s *DB) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.ownerMu.Lock()
		if s.ownerConn != nil {
			_ = s.ownerConn.Close(ctx)
			s.ownerConn = nil
		}
		s.ownerMu.Unlock()
		s.locksMu.Lock()
		for c := range s.locks {
			_ = c.Close(ctx)
		}
		s.locks = nil
		s.locksMu.Unlock()
		s.pool.Close()
	})
	return nil
}

// migrate applies store.Migrations up to version n, each in its own
// transaction with the version bump, under a lock so that daemons
// starting together migrate once.
func (s *DB) migrate(ctx context.Context, n int) error {
	for {
		done := false
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
				return err
			}
			var v int
			err := tx.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&v)
			if errors.Is(err, pgx.ErrNoRows) {
				_, err = tx.Exec(ctx, "INSERT INTO schema_version(version) VALUES (0)")
			}
			switch {
			case err != nil:
				return err
			case v > store.SchemaVersion:
				return fmt.Errorf("schema version %d is newer than this program knows (%d): upgrade baseline", v, store.SchemaVersion)
			case v >= n:
				done = true
				return nil
			}
			if _, err := tx.Exec(ctx, store.Migrations[v].Postgres); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			_, err = tx.Exec(ctx, "UPDATE schema_version SET version = $1", v+1)
			return err
		})
		if err != nil || done {
			return err
		}
	}
}

// SchemaVersionOf reads the schema version the database is at.
func (s *DB) SchemaVersionOf(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&v)
	return v, err
}

// querier runs statements: the pool, or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// conn runs statements written with ? placeholders, as the SQLite store's
// are, with arguments made storable: booleans as 0 or 1, text without NUL
// bytes or invalid UTF-8 (which PostgreSQL's text refuses).
type conn struct{ q querier }

func (c conn) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.q.Exec(ctx, rebind(sql), storable(args)...)
}

func (c conn) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.q.Query(ctx, rebind(sql), storable(args)...)
}

func (c conn) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return c.q.QueryRow(ctx, rebind(sql), storable(args)...)
}

// db runs statements on the pool.
func (s *DB) db() conn { return conn{s.pool} }

// tx runs f in one transaction holding the write lock.
//
// Only one of this handle's write transactions at a time takes a
// connection and waits there for the lock: the others wait for their turn
// here, holding none. Waiting on the lock would otherwise hold one
// connection each, and the transaction that has the lock, which writes
// its results on a second connection (writeResults), could find the pool
// empty and wait for ever for the writers that wait for it (32 uploads at
// once on a pool of 4 hung every one).
func (s *DB) tx(ctx context.Context, f func(conn) error) error {
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", writeLock); err != nil {
			return err
		}
		return f(conn{tx})
	})
}

// sharedTx runs f in one transaction holding the write lock
// (sqlstore.Store.Tx).
func (s *DB) sharedTx(ctx context.Context, f func(sqlstore.Conn) error) error {
	return s.tx(ctx, func(c conn) error { return f(c) })
}

// plainTx runs f in one transaction that does not take the write lock
// (sqlstore.Store.SignatureTx).
func (s *DB) plainTx(ctx context.Context, f func(sqlstore.Conn) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return f(conn{tx}) })
}

// Exec runs a statement and returns how many rows it changed
// (sqlstore.Conn).
func (c conn) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := c.exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

// Query runs a query (sqlstore.Conn).
func (c conn) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return c.query(ctx, sql, args...)
}

// QueryRow reads one row (sqlstore.Conn); no row is sql.ErrNoRows.
func (c conn) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Scanner {
	return row{c.queryRow(ctx, sql, args...)}
}

// row is a pgx row whose missing row is database/sql's error, as the
// shared roles expect.
type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}

// rebind numbers a statement's ? placeholders ($1, $2, …), leaving quoted
// text alone.
func rebind(q string) string {
	var b strings.Builder
	n, quoted := 0, false
	for _, r := range q {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '?' && !quoted:
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func storable(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case bool:
			if v {
				args[i] = 1
			} else {
				args[i] = 0
			}
		case string:
			args[i] = cleanText(v)
		}
	}
	return args
}

// cleanText makes text storable: NUL bytes and invalid UTF-8 become U+FFFD.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// cleanJSON makes a JSON document storable as jsonb, which refuses the
// escaped NUL character: each \u0000 escape becomes \ufffd.
func cleanJSON(doc string) string {
	if !strings.Contains(doc, `\u0000`) {
		return doc
	}
	var b strings.Builder
	for i := 0; i < len(doc); i++ {
		if doc[i] == '\\' && i+1 < len(doc) {
			if strings.HasPrefix(doc[i:], `\u0000`) {
				b.WriteString(`\ufffd`)
				i += 5
				continue
			}
			b.WriteString(doc[i : i+2]) // an escape: its next byte is not one
			i++
			continue
		}
		b.WriteByte(doc[i])
	}
	return b.String()
}

// ids turns ids into an array parameter.
func ids(list []uint64) []int64 {
	out := make([]int64, len(list))
	for i, v := range list {
		out[i] = int64(v)
	}
	return out
}

// unix is a stored time (unix milliseconds).
var unix = sqlstore.Unix
