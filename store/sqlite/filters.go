package sqlite

import (
	"fmt"
	"sort"
	"strings"

	"github.com/baselinehq/baseline/store"
)

// column maps a filter name to an SQL expression. conv turns a value into
// its stored form (and makes the match exact).
type column struct {
	expr string
	conv func(string) (any, error)
	// within, when set, is a condition with one %s that each value's
	// comparison is placed in (an EXISTS over related rows).
	within string
}

// clusterName is a Kubernetes asset's cluster name (the cluster itself and
// its nodes carry it).
const clusterName = "json_extract(%s.details, '$.Cluster.ClusterName')"

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// where builds " WHERE ..." from fixed conditions and the query's filters:
// filters are ANDed, the values of one filter ORed, fuzzy unless exact.
func where(base []string, args []any, filters []store.Filter, cols map[string]column) (string, []any, error) {
	conds := append([]string(nil), base...)
	for _, f := range filters {
		col, ok := cols[f.Name]
		if !ok {
			names := make([]string, 0, len(cols))
			for n := range cols {
				names = append(names, n)
			}
			sort.Strings(names)
			return "", nil, fmt.Errorf("%w: Filters.Name %q is not one of %s", store.ErrInvalidParameter, f.Name, strings.Join(names, ", "))
		}
		if len(f.Values) == 0 {
			return "", nil, fmt.Errorf("%w: Filters %q has no Values", store.ErrInvalidParameter, f.Name)
		}
		var ors []string
		for _, v := range f.Values {
			switch {
			case col.conv != nil:
				cv, err := col.conv(v)
				if err != nil {
					return "", nil, fmt.Errorf("%w: Filters %q: %v", store.ErrInvalidParameter, f.Name, err)
				}
				ors = append(ors, col.expr+" = ?")
				args = append(args, cv)
			case f.ExactMatch:
				ors = append(ors, col.expr+" = ?")
				args = append(args, v)
			default:
				ors = append(ors, col.expr+` LIKE ? ESCAPE '\'`)
				args = append(args, "%"+likeEscaper.Replace(v)+"%")
			}
		}
		if col.within != "" {
			for i := range ors {
				ors[i] = fmt.Sprintf(col.within, ors[i])
			}
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}
