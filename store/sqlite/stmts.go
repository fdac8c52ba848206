package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// maxCachedStatements bounds the statements kept prepared: the queries
// that the API's reads run are a few dozen texts, and a query whose text
// comes after the bound (a rare combination of filters) is prepared each
// time it runs, as every query was before.
const maxCachedStatements = 64

// stmtCache keeps the queries run outside transactions prepared, by their
// text: compiling a statement cost SQLite more than running the summary's
// small ones. database/sql prepares a cached statement on each connection
// of the pool the first time it runs there. Statements are never evicted
// (a statement in use stays valid), only bounded in number.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement of q, preparing it when the cache
// has room; nil when it has none (or q does not compile: running it
// unprepared reports the error).
func (c *stmtCache) stmt(ctx context.Context, q string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.m[q]
	full := len(c.m) >= maxCachedStatements
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if other, ok := c.m[q]; ok { // prepared meanwhile by another request
		_ = st.Close()
		return other
	}
	if len(c.m) >= maxCachedStatements {
		_ = st.Close()
		return nil
	}
	c.m[q] = st
	return st
}

// get returns the prepared statement of q, preparing and keeping it
// whatever the bound: the ingest's statements (a batch of results in each
// of a few fixed sizes) are few, and compiling one of a thousand
// parameters costs as much as running it.
func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[q]; st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.m[q] = st
	return st, nil
}

// close closes every kept statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	clear(c.m)
}

// dbConn runs the shared roles' statements outside transactions, through
// the statement cache.
type dbConn struct {
	db    *sql.DB
	stmts *stmtCache
}

func (c dbConn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return sqlConn{q: c.db}.Exec(ctx, q, args...)
}

func (c dbConn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	st := c.stmts.stmt(ctx, q)
	if st == nil {
		return sqlConn{q: c.db}.Query(ctx, q, args...)
	}
	r, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (c dbConn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Scanner {
	st := c.stmts.stmt(ctx, q)
	if st == nil {
		return c.db.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
