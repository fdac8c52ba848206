package sqlstore

import (
	"strings"

	"github.com/baselinehq/baseline/checks"
)

// A catalog is recorded at every start of a scan or a daemon, and rarely
// changes: these statements write only the standards and items that did
// (new, changed, or active again), so that recording an unchanged catalog
// reads its rows and writes none.
const (
	// StandardUpsert records a standard (id, name, version, description,
	// origin, enabled); its enabled switch, once set, is kept.
	StandardUpsert = `INSERT INTO standards(id, name, version, description, origin, enabled) VALUES (?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET name=excluded.name, version=excluded.version, description=excluded.description, origin=excluded.origin
		WHERE standards.name IS DISTINCT FROM excluded.name OR standards.version IS DISTINCT FROM excluded.version
		OR standards.description IS DISTINCT FROM excluded.description OR standards.origin IS DISTINCT FROM excluded.origin`
	// ItemUpsert records an item as active (ItemArgs gives its values).
	ItemUpsert = `INSERT INTO items(id, base_id, standard_id, name, category, asset_type, risk, automated, scored, description, procedure, remediation, active)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1)
		ON CONFLICT(id) DO UPDATE SET base_id=excluded.base_id, standard_id=excluded.standard_id, name=excluded.name, category=excluded.category,
		asset_type=excluded.asset_type, risk=excluded.risk, automated=excluded.automated, scored=excluded.scored, description=excluded.description,
		procedure=excluded.procedure, remediation=excluded.remediation, active=1
		WHERE items.active = 0 OR items.base_id IS DISTINCT FROM excluded.base_id OR items.standard_id IS DISTINCT FROM excluded.standard_id
		OR items.name IS DISTINCT FROM excluded.name OR items.category IS DISTINCT FROM excluded.category
		OR items.asset_type IS DISTINCT FROM excluded.asset_type OR items.risk IS DISTINCT FROM excluded.risk
		OR items.automated IS DISTINCT FROM excluded.automated OR items.scored IS DISTINCT FROM excluded.scored
		OR items.description IS DISTINCT FROM excluded.description OR items.procedure IS DISTINCT FROM excluded.procedure
		OR items.remediation IS DISTINCT FROM excluded.remediation`
)

// StandardArgs are a standard's values for StandardUpsert.
func StandardArgs(st *checks.Standard) []any {
	return []any{st.ID, st.Name, st.Version, st.Description, st.Origin, st.Enabled}
}

// ItemArgs are an item's values for ItemUpsert.
func ItemArgs(st *checks.Standard, it *checks.Item) []any {
	return []any{it.ID, it.Number, st.ID, it.Title, it.Category, string(it.AssetType), string(it.Risk),
		it.Automated, it.Scored, it.Description, it.Procedure, it.Remediation}
}

// Deactivation marks inactive the active items that the catalog no longer
// defines (their results are history), with its arguments: the ids the
// catalog defines.
func Deactivation(cat *checks.Catalog) (string, []any) {
	var ids []any
	for _, st := range cat.Standards {
		for _, it := range st.Items {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) == 0 {
		return "UPDATE items SET active = 0 WHERE active = 1", nil
	}
	return "UPDATE items SET active = 0 WHERE active = 1 AND id NOT IN (?" + strings.Repeat(",?", len(ids)-1) + ")", ids
}
