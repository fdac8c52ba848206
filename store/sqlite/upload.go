package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// BindUploadKey binds an upload key to node unless it is bound already,
// and returns the node it is bound to.
func (s *DB) BindUploadKey(ctx context.Context, secretID, node string) (string, error) {
	if secretID == "" || node == "" {
		return "", fmt.Errorf("%w: an upload key is bound to a node by their names", store.ErrInvalidParameter)
	}
	var bound string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO upload_keys(secret_id, node_name, bound_at) VALUES (?,?,?)",
			secretID, node, unix(s.now())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT node_name FROM upload_keys WHERE secret_id = ?", secretID).Scan(&bound)
	})
	return bound, err
}

// AssetNodes gives the node each listed asset was last recorded for.
func (s *DB) AssetNodes(ctx context.Context, ids []uint64) (map[uint64]string, error) {
	out := map[uint64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	if err := store.CheckIDs("CustomerAssetId", ids...); err != nil {
		return nil, err
	}
	list, _ := json.Marshal(ids)
	rows, err := s.db.QueryContext(ctx, "SELECT id, scope_node FROM assets WHERE scope_node != '' AND id IN (SELECT value FROM json_each(?))", string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id uint64
		var node string
		if err := rows.Scan(&id, &node); err != nil {
			return nil, err
		}
		out[id] = node
	}
	return out, rows.Err()
}

// checkUploadNodes refuses, inside the upload's transaction, an upload for
// node that carries an asset last recorded for another node, or a host
// that is another node's asset.
func checkUploadNodes(ctx context.Context, tx *sql.Tx, node string, rep *results.Report) error {
	ids := sqlstore.TouchedAssets(rep)
	if rep.Host.ID != 0 {
		ids = append(ids, rep.Host.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	list, _ := json.Marshal(ids)
	var id uint64
	var name, other string
	err := tx.QueryRowContext(ctx, `SELECT id, name, scope_node FROM assets WHERE scope_node NOT IN ('', ?)
		AND id IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT 1`, node, string(list)).Scan(&id, &name, &other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: asset %d (%s) is recorded for node %q; an upload for node %q may not rewrite it", store.ErrForbidden, id, name, other, node)
}
