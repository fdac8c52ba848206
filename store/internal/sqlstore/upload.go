package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// BindUploadKey binds an upload key to node unless it is bound already,
// and returns the node it is bound to.
func (s *Store) BindUploadKey(ctx context.Context, secretID, node string) (string, error) {
	if secretID == "" || node == "" {
		return "", fmt.Errorf("%w: an upload key is bound to a node by their names", store.ErrInvalidParameter)
	}
	var bound string
	err := s.Tx(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, "INSERT INTO upload_keys(secret_id, node_name, bound_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
			secretID, node, Unix(s.Now())); err != nil {
			return err
		}
		return c.QueryRow(ctx, "SELECT node_name FROM upload_keys WHERE secret_id = ?", secretID).Scan(&bound)
	})
	return bound, err
}

// AssetNodes gives the node each listed asset was last recorded for.
func (s *Store) AssetNodes(ctx context.Context, list []uint64) (map[uint64]string, error) {
	out := map[uint64]string{}
	if len(list) == 0 {
		return out, nil
	}
	if err := store.CheckIDs("CustomerAssetId", list...); err != nil {
		return nil, err
	}
	rows, err := s.DB.Query(ctx, "SELECT id, scope_node FROM assets WHERE scope_node <> '' AND id "+s.Dialect.InIDs, s.Dialect.IDs(list))
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

// CheckUploadNodes refuses, inside the upload's transaction c, an upload
// for node that carries an asset last recorded for another node, or a
// host that is another node's asset.
func (d Dialect) CheckUploadNodes(ctx context.Context, c Conn, node string, rep *results.Report) error {
	list := TouchedAssets(rep)
	if rep.Host.ID != 0 {
		list = append(list, rep.Host.ID)
	}
	if len(list) == 0 {
		return nil
	}
	var id uint64
	var name, other string
	err := c.QueryRow(ctx, `SELECT id, name, scope_node FROM assets WHERE scope_node NOT IN ('', ?)
		AND id `+d.InIDs+` ORDER BY id LIMIT 1`, node, d.IDs(list)).Scan(&id, &name, &other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: asset %d (%s) is recorded for node %q; an upload for node %q may not rewrite it", store.ErrForbidden, id, name, other, node)
}
