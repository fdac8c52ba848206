package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baselinehq/baseline/store"
)

func scanUint64(sc Scanner) (uint64, error) {
	var v uint64
	err := sc.Scan(&v)
	return v, err
}

// refreshIgnores brings the ignored flags of the items' latest results in
// line with the whitelist and rebuilds the roll-ups they change: of the
// items, of the assets whose failed counts change, and of their types.
func (s *Store) refreshIgnores(ctx context.Context, c Conn, items []uint64) error {
	if len(items) == 0 {
		return nil
	}
	ignored := s.Dialect.Ignored
	changed := map[uint64]bool{}
	for _, item := range items {
		// Only a finished, failed result's flag changes an asset's roll-up.
		rows, err := c.Query(ctx, "UPDATE latest SET ignored = "+ignored+" WHERE item_id = ? AND ignored <> "+ignored+
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
	list := make([]uint64, 0, len(changed))
	for a := range changed {
		list = append(list, a)
	}
	return s.Rollups(ctx, c, list, items)
}

// Lapse ends the entries whose expiry has passed on the injected clock;
// they stay listed, marked lapsed, and stop ignoring at once.
func (s *Store) Lapse(ctx context.Context) error {
	now := Unix(s.Now())
	var n int
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*) FROM whitelist WHERE lapsed = 0 AND expires_at > 0 AND expires_at <= ?", now).Scan(&n); err != nil || n == 0 {
		return err
	}
	return s.Tx(ctx, func(c Conn) error {
		items, err := List(ctx, c, scanUint64, "UPDATE whitelist SET lapsed = 1 WHERE lapsed = 0 AND expires_at > 0 AND expires_at <= ? RETURNING item_id", now)
		if err != nil {
			return err
		}
		if len(items) == 0 { // another process lapsed them first
			return nil
		}
		s.Log.Info("whitelist entries lapsed", "items", items)
		return s.refreshIgnores(ctx, c, items)
	})
}

// AddWhitelist adds or extends entries: one per item, for every asset or
// for the listed assets. Ignoring takes effect at once.
func (s *Store) AddWhitelist(ctx context.Context, req store.WhitelistRequest) ([]store.WhitelistEntry, error) {
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
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(s.Now()) {
		return nil, fmt.Errorf("%w: expiry %s is not in the future", store.ErrInvalidParameter, req.ExpiresAt.Format("2006-01-02 15:04:05"))
	}
	if err := s.Lapse(ctx); err != nil {
		return nil, err
	}
	var ids []uint64
	err := s.Tx(ctx, func(c Conn) error {
		for _, item := range req.Items {
			if err := Exists(ctx, c, "SELECT 1 FROM items WHERE id = ?", item); err != nil {
				return fmt.Errorf("%w: item %d", err, item)
			}
		}
		for _, a := range req.Assets {
			if err := Exists(ctx, c, "SELECT 1 FROM assets WHERE id = ?", a); err != nil {
				return fmt.Errorf("%w: asset %d", err, a)
			}
		}
		now := Unix(s.Now())
		for _, item := range req.Items {
			id, err := upsertEntry(ctx, c, item, req, now)
			if err != nil {
				return err
			}
			for _, a := range req.Assets {
				if _, err := c.Exec(ctx, "INSERT INTO whitelist_assets(whitelist_id, asset_id) VALUES (?,?) ON CONFLICT DO NOTHING", id, a); err != nil {
					return err
				}
			}
			ids = append(ids, uint64(id))
		}
		return s.refreshIgnores(ctx, c, req.Items)
	})
	if err != nil {
		return nil, err
	}
	return s.whitelistByIDs(ctx, ids)
}

// upsertEntry adds the item's active entry of the request's kind, or
// renews the one there is, and returns its id.
func upsertEntry(ctx context.Context, c Conn, item uint64, req store.WhitelistRequest, now int64) (int64, error) {
	var id int64
	err := c.QueryRow(ctx, "SELECT id FROM whitelist WHERE item_id = ? AND all_assets = ? AND lapsed = 0", item, req.All).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = c.QueryRow(ctx, "INSERT INTO whitelist(item_id, all_assets, reason, created_by, created_at, updated_at, expires_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
			item, req.All, req.Reason, req.CreatedBy, now, now, Unix(req.ExpiresAt)).Scan(&id)
	case err == nil:
		_, err = c.Exec(ctx, "UPDATE whitelist SET reason = ?, created_by = ?, updated_at = ?, expires_at = ? WHERE id = ?",
			req.Reason, req.CreatedBy, now, Unix(req.ExpiresAt), id)
	}
	return id, err
}

// RemoveWhitelist deletes entries; normal checking resumes at once.
func (s *Store) RemoveWhitelist(ctx context.Context, ids []int64) error {
	return s.Tx(ctx, func(c Conn) error {
		var items []uint64
		for _, id := range ids {
			var item uint64
			if err := c.QueryRow(ctx, "DELETE FROM whitelist WHERE id = ? RETURNING item_id", id).Scan(&item); err != nil {
				return NotFound(err, fmt.Sprintf("whitelist entry %d", id))
			}
			items = append(items, item)
		}
		return s.refreshIgnores(ctx, c, items)
	})
}

// RemoveWhitelistAssets takes assets off the items' per-asset entries; an
// entry left without assets is deleted.
func (s *Store) RemoveWhitelistAssets(ctx context.Context, items, assetIDs []uint64) error {
	if len(items) == 0 || len(assetIDs) == 0 {
		return fmt.Errorf("%w: give items and assets", store.ErrInvalidParameter)
	}
	if err := store.CheckIDs("CustomerPolicyItemId", items...); err != nil {
		return err
	}
	if err := store.CheckIDs("CustomerAssetId", assetIDs...); err != nil {
		return err
	}
	d := s.Dialect
	return s.Tx(ctx, func(c Conn) error {
		n, err := c.Exec(ctx, `DELETE FROM whitelist_assets WHERE asset_id `+d.InIDs+` AND whitelist_id IN
			(SELECT id FROM whitelist WHERE item_id `+d.InIDs+` AND all_assets = 0)`, d.IDs(assetIDs), d.IDs(items))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: no whitelist entry covers those items on those assets", store.ErrNotFound)
		}
		if _, err := c.Exec(ctx, `DELETE FROM whitelist WHERE all_assets = 0 AND NOT EXISTS
			(SELECT 1 FROM whitelist_assets wa WHERE wa.whitelist_id = whitelist.id)`); err != nil {
			return err
		}
		return s.refreshIgnores(ctx, c, items)
	})
}

const whitelistSelect = `SELECT w.id, w.item_id, i.name, i.standard_id, s.name, i.asset_type, w.all_assets = 1, w.reason, w.created_by,
	w.created_at, w.updated_at, w.expires_at, w.lapsed = 1,
	CASE WHEN w.all_assets = 1 THEN (SELECT COUNT(*) FROM assets a WHERE a.type = i.asset_type AND a.removed_at = 0)
	ELSE (SELECT COUNT(*) FROM whitelist_assets wa WHERE wa.whitelist_id = w.id) END
	FROM whitelist w JOIN items i ON i.id = w.item_id JOIN standards s ON s.id = i.standard_id`

// Whitelist lists the entries, newest first. Filters: Name (item name),
// StandardId, AssetType, AssetName, HostName, HostIP.
func (s *Store) Whitelist(ctx context.Context, q store.Query) ([]store.WhitelistEntry, int, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if err := s.Lapse(ctx); err != nil {
		return nil, 0, err
	}
	w, args, err := s.Dialect.Where(nil, nil, q.Filters, s.Columns.Whitelist)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.DB.QueryRow(ctx, "SELECT COUNT(*) FROM whitelist w JOIN items i ON i.id = w.item_id"+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := s.entries(ctx, whitelistSelect+w+" ORDER BY w.id DESC LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	return out, total, err
}

func (s *Store) whitelistByIDs(ctx context.Context, list []uint64) ([]store.WhitelistEntry, error) {
	if len(list) == 0 {
		return nil, nil
	}
	return s.entries(ctx, whitelistSelect+" WHERE w.id "+s.Dialect.InIDs+" ORDER BY w.id", s.Dialect.IDs(list))
}

// entries reads entries with their assets.
func (s *Store) entries(ctx context.Context, q string, args ...any) ([]store.WhitelistEntry, error) {
	out, err := List(ctx, s.DB, ScanWhitelist, q, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].AllAssets {
			continue
		}
		if out[i].AssetIDs, err = List(ctx, s.DB, scanUint64, "SELECT asset_id FROM whitelist_assets WHERE whitelist_id = ? ORDER BY asset_id", out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
