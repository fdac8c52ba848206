package sqlite

import (
	"encoding/json"

	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// clusterName is a Kubernetes asset's cluster name (the cluster itself and
// its nodes carry it).
const clusterName = "json_extract(%s.details, '$.Cluster.ClusterName')"

// columns are the filter columns of each list.
// dialect is how SQLite writes what the backends write differently.
var dialect = sqlstore.Dialect{
	ClusterName: clusterName, Concat: "group_concat(%s, ' ')",
	InIDs: "IN (SELECT value FROM json_each(?))", IDs: jsonIDs,
	Offset: "LIMIT -1 OFFSET ?", Ignored: ignoredExpr,
	JSONText: "%s", JSONMember: "json_extract(%s, '$.%s.%s')",
	ListOrder: " INDEXED BY assets_list",
	ItemsFrom: " FROM standards st CROSS JOIN items i INDEXED BY items_list ON i.standard_id = st.id",
}

// jsonIDs passes a list of ids as one JSON array, which json_each reads.
func jsonIDs(list []uint64) any {
	b, _ := json.Marshal(list)
	return string(b)
}

var columns = sqlstore.ColumnsOf(dialect)

// where builds " WHERE ..." from fixed conditions and the query's filters.
var where = sqlstore.Where
