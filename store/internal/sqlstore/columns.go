package sqlstore

import "fmt"

// Dialect is what the filter columns write differently per backend.
type Dialect struct {
	// ClusterName is a Kubernetes asset's cluster name, with one %s for the
	// assets table's alias (the cluster itself and its nodes carry it).
	ClusterName string
	// Concat joins an expression's values with spaces, with one %s for it
	// (an aggregate).
	Concat string
	// Like is the operator of a fuzzy filter, which ignores case (default
	// LIKE, as SQLite's does for ASCII).
	Like string
	// InIDs tests an expression written before it against a list of ids
	// passed as one parameter, made by IDs.
	InIDs string
	// IDs makes a list of ids one parameter of InIDs.
	IDs func([]uint64) any
	// Offset skips rows without a limit, followed by a placeholder (SQLite
	// needs a LIMIT before OFFSET).
	Offset string
	// Ignored is 1 for a row of latest that an active ignore-list entry
	// covers, else 0.
	Ignored string
	// JSONText reads a JSON column as text, with one %s for the column.
	JSONText string
	// JSONMember reads a member of an object in a JSON column as text
	// (NULL when absent), with a %s for the column, the object's key and
	// the member's key.
	JSONMember string
	// ListOrder follows the assets table (a) where a page of current
	// assets in list order is read, to name the index that holds them so
	// (migration 11), for a planner that would choose another without
	// statistics; empty when the planner needs no hint.
	ListOrder string
	// ItemsFrom joins the items (i) to their standards (st) where the
	// active items of enabled standards are counted and paged, reading
	// the items from the index of active items in list order (migration
	// 13) after their standards, for a planner that would read every
	// item's row without statistics; empty for the plain join.
	ItemsFrom string
}

// TaskColumnsFilter are the filters of the task list: Trigger, CheckStatus.
var TaskColumnsFilter = map[string]Column{
	"Trigger":     {Expr: "trigger", Conv: ConvTrigger},
	"CheckStatus": {Expr: "status", Conv: ConvStatus},
}

// FailedColumns are the filters of the scan-failed list.
var FailedColumns = map[string]Column{
	"AssetType": {Expr: "a.type"},
	"AssetName": {Expr: "a.name"},
	"NodeName":  {Expr: "a.node_name"},
}

// Columns are a backend's filter columns of each list.
type Columns struct {
	Asset, Result, Item, Whitelist map[string]Column
}

// ScanFailedExpr is true for an asset (a, its failure af, its roll-up r)
// whose last scan failed or on which some check could not be carried out.
const ScanFailedExpr = "(af.asset_id IS NOT NULL OR COALESCE(r.check_failed, 0) > 0)"

// AssetResultExpr is the asset's result: FAILED when a non-ignored item
// failed, PASSED otherwise, empty when its scan failed.
const AssetResultExpr = "CASE WHEN " + ScanFailedExpr + " THEN '' WHEN COALESCE(r.failed, 0) > 0 THEN 'RESULT_FAILED' ELSE 'RESULT_PASSED' END"

// ItemResultExpr is an item's (roll-up r) result.
const ItemResultExpr = "CASE WHEN COALESCE(r.failed, 0) > 0 THEN 'RESULT_FAILED' WHEN COALESCE(r.passed, 0) > 0 THEN 'RESULT_PASSED' ELSE '' END"

// ColumnsOf builds the filter columns in a dialect.
func ColumnsOf(d Dialect) Columns {
	assetsOf := func(col string) string {
		return fmt.Sprintf("(SELECT "+d.Concat+" FROM whitelist_assets wa JOIN assets a ON a.id = wa.asset_id WHERE wa.whitelist_id = w.id)", col)
	}
	return Columns{
		Asset: map[string]Column{
			"AssetType":       {Expr: "a.type"},
			"AssetName":       {Expr: "a.name"},
			"NodeName":        {Expr: "a.node_name"},
			"HostIP":          {Expr: "a.host_ip"},
			"CustomerAssetId": {Expr: "CAST(a.id AS TEXT)"},
			"CheckResult":     {Expr: AssetResultExpr},
			"ClusterName":     {Expr: fmt.Sprintf(d.ClusterName, "a")},
		},
		Result: map[string]Column{
			"CheckResult":          {Expr: "l.result", Conv: ConvResult},
			"CheckStatus":          {Expr: "l.status", Conv: ConvStatus},
			"RiskLevel":            {Expr: "i.risk"},
			"ItemType":             {Expr: "i.category"},
			"Category":             {Expr: "i.category"},
			"StandardId":           {Expr: "i.standard_id"},
			"Name":                 {Expr: "i.name"},
			"CustomerPolicyItemId": {Expr: "CAST(i.id AS TEXT)"},
			"NodeName":             {Expr: "a.node_name"},
			"AssetName":            {Expr: "a.name"},
			"AssetType":            {Expr: "a.type"},
			"Ignored":              {Expr: "CASE l.ignored WHEN 1 THEN 'true' ELSE 'false' END"},
			"ClusterName":          {Expr: fmt.Sprintf(d.ClusterName, "a")},
		},
		Item: map[string]Column{
			"ItemType":             {Expr: "i.category"},
			"Category":             {Expr: "i.category"},
			"StandardId":           {Expr: "i.standard_id"},
			"RiskLevel":            {Expr: "i.risk"},
			"AssetType":            {Expr: "i.asset_type"},
			"Name":                 {Expr: "i.name"},
			"CustomerPolicyItemId": {Expr: "CAST(i.id AS TEXT)"},
			"BasePolicyItemId":     {Expr: "i.base_id"},
			"CheckResult":          {Expr: ItemResultExpr},
			"ClusterName": {Expr: fmt.Sprintf(d.ClusterName, "ca"),
				Within: "EXISTS (SELECT 1 FROM latest cl JOIN assets ca ON ca.id = cl.asset_id WHERE cl.item_id = i.id AND ca.type = 'ASSET_K8S' AND ca.removed_at = 0 AND %s)"},
		},
		Whitelist: map[string]Column{
			"Name":                 {Expr: "i.name"},
			"CustomerPolicyItemId": {Expr: "CAST(w.item_id AS TEXT)"},
			"StandardId":           {Expr: "i.standard_id"},
			"AssetType":            {Expr: "i.asset_type"},
			"AssetName":            {Expr: assetsOf("a.name")},
			"HostName":             {Expr: assetsOf("a.node_name")},
			"HostIP":               {Expr: assetsOf("a.host_ip")},
		},
	}
}
