package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// refreshIgnores brings the ignored flags of the items' latest results in
// line with the whitelist and rebuilds the roll-ups they change: of the
// items, of the assets whose failed counts change, and of their types.
func refreshIgnores(ctx context.Context, c conn, items []uint64) error {
	if len(items) == 0 {
		return nil
	}
	changed := map[uint64]bool{}
	for _, item := range items {
		// Only a finished, failed result's flag changes an asset's roll-up.
		rows, err := c.query(ctx, "UPDATE latest SET ignored = "+ignoredExpr+" WHERE item_id = ? AND ignored <> "+ignoredExpr+
			" RETURNING asset_id, (status = 2 AND result = 2)", item)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a uint64
			var counts bool
			if err := rows.Scan(&a, &counts); err != nil {
				rows.Close()
				return err
			}
			if counts {
				changed[a] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	ids := make([]uint64, 0, len(changed))
	for a := range changed {
		ids = append(ids, a)
	}
	if err := rebuildRollups(ctx, c, ids, items); err != nil {
		return err
	}
	return rebuildTypeRollups(ctx, c, ids, nil)
}

// lapse ends the entries whose expiry has passed on the injected clock;
// they stay listed, marked lapsed, and stop ignoring at once.
func (s *DB) lapse(ctx context.Context) error {
	now := unix(s.now())
	var n int
	if err := s.db().queryRow(ctx, "SELECT COUNT(*) FROM whitelist WHERE lapsed = 0 AND expires_at > 0 AND expires_at <= ?", now).Scan(&n); err != nil || n == 0 {
		return err
	}
	return s.tx(ctx, func(c conn) error {
		rows, err := c.query(ctx, "UPDATE whitelist SET lapsed = 1 WHERE lapsed = 0 AND expires_at > 0 AND expires_at <= ? RETURNING item_id", now)
		if err != nil {
			return err
		}
		items, err := pgx.CollectRows(rows, pgx.RowTo[uint64])
		if err != nil {
			return err
		}
		if len(items) == 0 { // another daemon lapsed them first
			return nil
		}
		s.log.Info("whitelist entries lapsed", "items", items)
		return refreshIgnores(ctx, c, items)
	})
}

// AddWhitelist adds or extends entries: one per item, for every asset or
// for the listed assets. Ignoring takes effect at once.
func (s *DB) AddWhitelist(ctx context.Context, req store.WhitelistRequest) ([]store.WhitelistEntry, error) {
	if len(req.Items) == 0 {
		return nil, fmt.Errorf("%w: at least one item is required", store.ErrInvalidParameter)
	}
	if !req.All && len(req.Assets) == 0 {
		return nil, fmt.Errorf("%w: give assets, or ignore the items on all assets", store.ErrInvalidParameter)
	}
	if err := store.CheckIDs("CustomerPolicyItemId", req.Items...); err != nil {
		return nil, err
	}
	if err := store.CheckIDs("CustomerAssetId", req.Assets...); err != nil {
		return nil, err
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(s.now()) {
		return nil, fmt.Errorf("%w: expiry %s is not in the future", store.ErrInvalidParameter, req.ExpiresAt.Format("2006-01-02 15:04:05"))
	}
	if err := s.lapse(ctx); err != nil {
		return nil, err
	}
	var ids []int64
	err := s.tx(ctx, func(c conn) error {
		for _, item := range req.Items {
			if err := exists(ctx, c, "SELECT 1 FROM items WHERE id = ?", item); err != nil {
				return fmt.Errorf("%w: item %d", err, item)
			}
		}
		for _, a := range req.Assets {
			if err := exists(ctx, c, "SELECT 1 FROM assets WHERE id = ?", a); err != nil {
				return fmt.Errorf("%w: asset %d", err, a)
			}
		}
		now := unix(s.now())
		for _, item := range req.Items {
			id, err := upsertEntry(ctx, c, item, req, now)
			if err != nil {
				return err
			}
			for _, a := range req.Assets {
				if _, err := c.exec(ctx, "INSERT INTO whitelist_assets(whitelist_id, asset_id) VALUES (?,?) ON CONFLICT DO NOTHING", id, a); err != nil {
					return err
				}
			}
			ids = append(ids, id)
		}
		return refreshIgnores(ctx, c, req.Items)
	})
	if err != nil {
		return nil, err
	}
	return s.whitelistByIDs(ctx, ids)
}

// upsertEntry adds the item's active entry of the request's kind, or
// renews the one there is, and returns its id.
func upsertEntry(ctx context.Context, c conn, item uint64, req store.WhitelistRequest, now int64) (int64, error) {
	var id int64
	err := c.queryRow(ctx, "SELECT id FROM whitelist WHERE item_id = ? AND all_assets = ? AND lapsed = 0", item, req.All).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = c.queryRow(ctx, "INSERT INTO whitelist(item_id, all_assets, reason, created_by, created_at, updated_at, expires_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
			item, req.All, req.Reason, req.CreatedBy, now, now, unix(req.ExpiresAt)).Scan(&id)
	case err == nil:
		_, err = c.exec(ctx, "UPDATE whitelist SET reason = ?, created_by = ?, updated_at = ?, expires_at = ? WHERE id = ?",
			req.Reason, req.CreatedBy, now, unix(req.ExpiresAt), id)
	}
	return id, err
}

func exists(ctx context.Context, c conn, q string, args ...any) error {
	var one int
	if err := c.queryRow(ctx, q, args...).Scan(&one); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	}
	return nil
}

// RemoveWhitelist deletes entries; normal checking resumes at once.
func (s *DB) RemoveWhitelist(ctx context.Context, ids []int64) error {
	return s.tx(ctx, func(c conn) error {
		var items []uint64
		for _, id := range ids {
			var item uint64
			if err := c.queryRow(ctx, "DELETE FROM whitelist WHERE id = ? RETURNING item_id", id).Scan(&item); err != nil {
				return notFound(err, fmt.Sprintf("whitelist entry %d", id))
			}
			items = append(items, item)
		}
		return refreshIgnores(ctx, c, items)
	})
}

// RemoveWhitelistAssets takes assets off the items' per-asset entries; an
// entry left without assets is deleted.
func (s *DB) RemoveWhitelistAssets(ctx context.Context, items, assetIDs []uint64) error {
	if len(items) == 0 || len(assetIDs) == 0 {
		return fmt.Errorf("%w: give items and assets", store.ErrInvalidParameter)
	}
	if err := store.CheckIDs("CustomerPolicyItemId", items...); err != nil {
		return err
	}
	if err := store.CheckIDs("CustomerAssetId", assetIDs...); err != nil {
		return err
	}
	return s.tx(ctx, func(c conn) error {
		tag, err := c.exec(ctx, `DELETE FROM whitelist_assets WHERE asset_id = ANY(?) AND whitelist_id IN
			(SELECT id FROM whitelist WHERE item_id = ANY(?) AND all_assets = 0)`, ids(assetIDs), ids(items))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: no whitelist entry covers those items on those assets", store.ErrNotFound)
		}
		if _, err := c.exec(ctx, `DELETE FROM whitelist WHERE all_assets = 0 AND NOT EXISTS
			(SELECT 1 FROM whitelist_assets wa WHERE wa.whitelist_id = whitelist.id)`); err != nil {
			return err
		}
		return refreshIgnores(ctx, c, items)
	})
}

const whitelistSelect = `SELECT w.id, w.item_id, i.name, i.standard_id, s.name, i.asset_type, w.all_assets = 1, w.reason, w.created_by,
	w.created_at, w.updated_at, w.expires_at, w.lapsed = 1,
	CASE WHEN w.all_assets = 1 THEN (SELECT COUNT(*) FROM assets a WHERE a.type = i.asset_type AND a.removed_at = 0)
	ELSE (SELECT COUNT(*) FROM whitelist_assets wa WHERE wa.whitelist_id = w.id) END
	FROM whitelist w JOIN items i ON i.id = w.item_id JOIN standards s ON s.id = i.standard_id`

// Whitelist lists the entries, newest first. Filters: Name (item name),
// StandardId, AssetType, AssetName, HostName, HostIP.
func (s *DB) Whitelist(ctx context.Context, q store.Query) ([]store.WhitelistEntry, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if err := s.lapse(ctx); err != nil {
		return nil, 0, err
	}
	w, args, err := where(nil, nil, q.Filters, columns.Whitelist)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db().queryRow(ctx, "SELECT COUNT(*) FROM whitelist w JOIN items i ON i.id = w.item_id"+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := s.entries(ctx, whitelistSelect+w+" ORDER BY w.id DESC LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	return out, total, err
}

func (s *DB) whitelistByIDs(ctx context.Context, list []int64) ([]store.WhitelistEntry, error) {
	if len(list) == 0 {
		return nil, nil
	}
	return s.entries(ctx, whitelistSelect+" WHERE w.id = ANY(?) ORDER BY w.id", list)
}

// entries reads entries with their assets.
func (s *DB) entries(ctx context.Context, q string, args ...any) ([]store.WhitelistEntry, error) {
	out, err := list(ctx, s.db(), sqlstore.ScanWhitelist, q, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].AllAssets {
			continue
		}
		rows, err := s.db().query(ctx, "SELECT asset_id FROM whitelist_assets WHERE whitelist_id = ? ORDER BY asset_id", out[i].ID)
		if err != nil {
			return nil, err
		}
		if out[i].AssetIDs, err = pgx.CollectRows(rows, pgx.RowTo[uint64]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
