package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// rawMinRows is the number of results from which an insert runs its full
// batches through the driver's own statement, prepared for the call
// (a variable for tests). Below it, preparing that statement costs more
// than database/sql's conversion of the arguments, which the cached
// statements pay at each batch: at 2,048 results (the runner's
// AddResults) both take about as long, the driver's statement with half
// the allocations.
var rawMinRows = 8 * batchRows

// resultCols is how many columns a results row binds (resultsBatch).
const resultCols = 8

// rawCols is how many values a results row of rawResults binds.
const rawCols = 7

// rawResultsSQL is the statement of rawResults: rows of rawCols values,
// the task's id written in (it is the same for all), and an empty
// reason, as most are, bound as NULL, which the driver binds without
// copying a string into the C heap for it.
func rawResultsSQL(taskID int64) string {
	row := "(" + strconv.FormatInt(taskID, 10) + ",?,?,?,?,COALESCE(?,''),?,?)"
	return resultsBatch(context.Background(), nil).prefix + strings.TrimSuffix(strings.Repeat(row+",", batchRows), ",")
}

// rawResults writes the results of order (whole batches of batchRows) on
// dc, the driver's connection of the ingest's transaction, through a
// statement prepared for the call, binding the rows from one slice of
// arguments that every batch reuses: through database/sql, each batch's
// call converted its 1,600 arguments into a new slice of its own (half of
// a fleet ingest's allocations). It appends the results' keys to keys.
func rawResults(ctx context.Context, dc any, taskID int64, rs []results.Result, order []int, keys []sqlstore.ResultKey) ([]sqlstore.ResultKey, error) {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, errors.New("sqlite driver: no prepared statements with a context")
	}
	ds, err := pc.PrepareContext(ctx, rawResultsSQL(taskID))
	if err != nil {
		return nil, err
	}
	defer func() { _ = ds.Close() }()
	st, ok := ds.(driver.StmtExecContext)
	if !ok {
		return nil, errors.New("sqlite driver: no statement execution with a context")
	}
	args := make([]driver.NamedValue, batchRows*rawCols)
	for i := range args {
		args[i].Ordinal = i + 1
	}
	// An asset's id, which its next rows share, is boxed once.
	asset, lastAsset := any(nil), uint64(0)
	buf, ends := make([]byte, 0, 64<<10), make([]int, 0, batchRows)
	for len(order) > 0 {
		chunk := order[:batchRows]
		order = order[batchRows:]
		a := args
		var err error
		buf, ends, err = eachResult(buf, ends, rs, chunk, func(r *results.Result, key sqlstore.ResultKey, evidence string) error {
			keys = append(keys, key)
			if asset == nil || r.AssetID != lastAsset {
				asset, lastAsset = int64(r.AssetID), r.AssetID
			}
			var reason any
			if r.Reason != "" {
				reason = r.Reason
			}
			a[0].Value, a[1].Value, a[2].Value, a[3].Value = asset, int64(r.ItemID), int64(key.Status), int64(key.Result)
			a[4].Value, a[5].Value, a[6].Value = reason, evidence, key.CheckedAt
			a = a[rawCols:]
			return nil
		})
		if err != nil {
			return nil, err
		}
		if _, err := st.ExecContext(ctx, args); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// eachResult calls f for each result of chunk (indexes into rs) with its
// key and its evidence as stored. The chunk's evidence is encoded into
// buf, then copied into one string that the rows slice: one allocation
// per chunk instead of one per result. It returns buf and ends (the
// rows' ends in it) for the next chunk to reuse: passed and given back
// by value, a caller's buffers of a constant size stay on its stack.
func eachResult(buf []byte, ends []int, rs []results.Result, chunk []int,
	f func(r *results.Result, key sqlstore.ResultKey, evidence string) error) ([]byte, []int, error) {
	buf, ends = buf[:0], ends[:0]
	for _, i := range chunk {
		buf = sqlstore.AppendEvidence(buf, rs[i].Evidence)
		ends = append(ends, len(buf))
	}
	evidence, start := string(buf), 0
	for k, i := range chunk {
		r := &rs[i]
		if err := f(r, sqlstore.KeyOf(r), evidence[start:ends[k]]); err != nil {
			return buf, ends, err
		}
		start = ends[k]
	}
	return buf, ends, nil
}

// queryInts runs q, which takes no argument and whose cols columns are
// integers (never NULL), on conn, the transaction's connection (see
// DB.connTx), and calls f with each row's values. It reads the driver's
// rows itself: through database/sql, each row's values were converted
// into the scanned variables one by one (for the 1.5 million latest rows
// that a fleet's second task replaces, a quarter of their reading).
func queryInts(ctx context.Context, conn *sql.Conn, q string, cols int, f func(v []int64)) error {
	if conn == nil {
		return errors.New("sqlite: a query of integers outside a transaction of the store")
	}
	v := make([]int64, cols)
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return errors.New("sqlite driver: no queries with a context")
		}
		rows, err := qc.QueryContext(ctx, q, nil)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		dest := make([]driver.Value, cols)
		for {
			if err := rows.Next(dest); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			for i, d := range dest {
				n, ok := d.(int64)
				if !ok {
					return fmt.Errorf("%s: column %d is %T, not an integer", q, i+1, d)
				}
				v[i] = n
			}
			f(v)
		}
	})
}
