package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// Conn runs statements written with ? placeholders: a backend's database,
// or one of its transactions.
type Conn interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow reads one row; its Scan returns sql.ErrNoRows when there is
	// none, whatever the driver.
	QueryRow(ctx context.Context, query string, args ...any) Scanner
}

// Rows are a query's rows, read one at a time.
type Rows interface {
	Scanner
	Next() bool
	Err() error
	Close()
}

// Store implements the store's roles that the SQL backends write alike,
// over a backend's connections; a backend embeds it and adds what differs
// (opening, locks, migrations, the bulk ingest).
type Store struct {
	Dialect Dialect
	// DB runs statements outside a transaction.
	DB Conn
	// Tx runs f in one transaction holding the store's write lock.
	Tx func(ctx context.Context, f func(Conn) error) error
	// SignatureTx, when set, runs f in one transaction without the write
	// lock, for writes whose keys decide between processes on their own
	// (request signatures); unset, they take Tx.
	SignatureTx func(ctx context.Context, f func(Conn) error) error
	// RowTx, when set, runs f in one transaction without the write lock,
	// on the store's own tables, for writes of one row that need not wait
	// for an ingest (a task's progress, the image files cache); unset,
	// they take Tx.
	RowTx func(ctx context.Context, f func(Conn) error) error
	// Signatures, when set, runs the signature statements outside a
	// transaction (pruning, a single use) on the connections SignatureTx
	// uses, when the signatures are kept apart from the rest; unset, DB.
	Signatures Conn
	// Now is the clock.
	Now func() time.Time
	Log *slog.Logger
	// Columns are the backend's filter columns of each list.
	Columns Columns
	// Rollups rebuilds, inside the transaction c, the roll-ups of the
	// assets and items whose ignored flags changed, and of the assets'
	// types.
	Rollups func(ctx context.Context, c Conn, assetIDs, itemIDs []uint64) error
	// ResultPage reads one page of latest results matching cond (with one
	// placeholder, for id), in order, and their total: the backend's query,
	// whose plan differs between backends.
	ResultPage func(ctx context.Context, cond string, id uint64, order string, q store.Query) ([]results.Row, int, error)
	// MaxImageFiles bounds the image files cache (0:
	// DefaultMaxImageFiles).
	MaxImageFiles int
	// signaturesPruned is when expired request signatures were last
	// deleted (unix ms).
	signaturesPruned atomic.Int64
	// staged keeps the keys of the results that AddResults stored for
	// this handle's running tasks.
	staged Staging
	// pruned remembers which old tasks Prune has already pruned.
	pruned pruneMemo
}

// NotFound turns a missing row into store.ErrNotFound naming what.
func NotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", store.ErrNotFound, what)
	}
	return err
}
