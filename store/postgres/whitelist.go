package postgres

import (
	"context"

	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// lapse ends the entries whose expiry has passed (sqlstore.Store.Lapse).
func (s *DB) lapse(ctx context.Context) error { return s.Lapse(ctx) }

// rollups rebuilds, inside the ignore-list change's transaction, the
// roll-ups its ignored flags change (sqlstore.Store.Rollups).
func rollups(ctx context.Context, c sqlstore.Conn, assetIDs, itemIDs []uint64) error {
	tx := c.(conn) // sharedTx hands the shared roles its transaction
	if err := rebuildRollups(ctx, tx, assetIDs, itemIDs); err != nil {
		return err
	}
	return rebuildTypeRollups(ctx, tx, assetIDs, nil)
}
