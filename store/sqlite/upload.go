package sqlite

import (
	"context"
	"database/sql"

	"github.com/baselinehq/baseline/results"
)

// checkUploadNodes refuses, inside the upload's transaction, an upload for
// node that carries an asset last recorded for another node
// (sqlstore.Dialect.CheckUploadNodes).
func checkUploadNodes(ctx context.Context, tx *sql.Tx, node string, rep *results.Report) error {
	return dialect.CheckUploadNodes(ctx, sqlConn{q: tx}, node, rep)
}
