package sqlite

import (
	"context"
	"database/sql"

	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// ignoredExpr says whether a latest row is ignored by an active entry.
const ignoredExpr = `(EXISTS (SELECT 1 FROM whitelist w WHERE w.item_id = latest.item_id AND w.lapsed = 0 AND w.all_assets = 1)
	OR EXISTS (SELECT 1 FROM whitelist w JOIN whitelist_assets wa ON wa.whitelist_id = w.id
		WHERE w.item_id = latest.item_id AND w.lapsed = 0 AND wa.asset_id = latest.asset_id))`

// txOf is the transaction that sharedTx handed the shared roles.
func txOf(c sqlstore.Conn) *sql.Tx { return c.(sqlConn).q.(*sql.Tx) }

// lapse ends the entries whose expiry has passed (sqlstore.Store.Lapse).
func (s *DB) lapse(ctx context.Context) error { return s.Lapse(ctx) }

// rollups rebuilds, inside the ignore-list change's transaction, the
// roll-ups its ignored flags change (sqlstore.Store.Rollups).
func rollups(ctx context.Context, c sqlstore.Conn, assetIDs, itemIDs []uint64) error {
	tx := txOf(c)
	if err := rebuildRollups(ctx, tx, assetIDs, itemIDs); err != nil {
		return err
	}
	return rebuildTypeRollups(ctx, tx, assetIDs, nil)
}
