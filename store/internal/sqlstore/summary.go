package sqlstore

import (
	"context"
	"math"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// The summary is read from roll-ups that writes keep: type_rollup for its
// assets (one row per asset type), and item_rollup joined to the items of
// enabled standards for its items (a few hundred rows). The statements
// are written in the SQL that SQLite and PostgreSQL share.

// TypeRollupSelect counts, per asset type, the current assets, those
// passed, failed and scan-failed, and their nodes: the rows of type_rollup
// recomputed from the roll-ups per asset and the scan failures. The caller
// appends a condition on a.type and " GROUP BY a.type".
const TypeRollupSelect = `SELECT a.type, COUNT(*),
	SUM(CASE WHEN NOT ` + ScanFailedExpr + ` AND COALESCE(r.failed, 0) = 0 THEN 1 ELSE 0 END),
	SUM(CASE WHEN NOT ` + ScanFailedExpr + ` AND COALESCE(r.failed, 0) > 0 THEN 1 ELSE 0 END),
	SUM(CASE WHEN ` + ScanFailedExpr + ` THEN 1 ELSE 0 END),
	COUNT(DISTINCT a.node_name)
	FROM assets a LEFT JOIN asset_rollup r ON r.asset_id = a.id LEFT JOIN asset_failures af ON af.asset_id = a.id
	WHERE a.removed_at = 0`

// SummaryTypes reads the kept roll-ups per asset type (ScanType).
const SummaryTypes = "SELECT asset_type, assets, passed, failed, scan_failed, nodes FROM type_rollup"

// itemFailed is true for an item (roll-up r) failed on some asset.
const itemFailed = "COALESCE(r.failed, 0) > 0"

// SummaryItems counts, per asset type, the active items of enabled
// standards: all, passed, failed, failed by risk, and those some active
// entry ignores (ScanItems). The cross join keeps SQLite's join order
// (PostgreSQL plans it as an inner join): each enabled standard, then its
// items of each asset type from their index, rather than every item of
// every standard.
var SummaryItems = `SELECT i.asset_type, COUNT(*),
	SUM(CASE WHEN COALESCE(r.passed, 0) > 0 AND COALESCE(r.failed, 0) = 0 THEN 1 ELSE 0 END),
	SUM(CASE WHEN ` + itemFailed + ` THEN 1 ELSE 0 END),
	SUM(CASE WHEN ` + itemFailed + ` AND i.risk = 'RISK_CRITICAL' THEN 1 ELSE 0 END),
	SUM(CASE WHEN ` + itemFailed + ` AND i.risk = 'RISK_HIGH' THEN 1 ELSE 0 END),
	SUM(CASE WHEN ` + itemFailed + ` AND i.risk = 'RISK_MEDIUM' THEN 1 ELSE 0 END),
	SUM(CASE WHEN ` + itemFailed + ` AND i.risk = 'RISK_LOW' THEN 1 ELSE 0 END),
	SUM(CASE WHEN ` + itemFailed + ` AND i.risk = 'RISK_NOTICE' THEN 1 ELSE 0 END),
	SUM(CASE WHEN EXISTS (SELECT 1 FROM whitelist w WHERE w.item_id = i.id AND w.lapsed = 0) THEN 1 ELSE 0 END)
	FROM standards st CROSS JOIN items i LEFT JOIN item_rollup r ON r.item_id = i.id
	WHERE st.enabled = 1 AND i.asset_type IN (` + typeList() + `) AND i.standard_id = st.id AND i.active = 1 GROUP BY i.asset_type`

// typeList is every asset type as SQL string literals, separated by
// commas.
func typeList() string {
	quoted := make([]string, len(assets.Types))
	for i, t := range assets.Types {
		quoted[i] = "'" + strings.ReplaceAll(string(t), "'", "''") + "'"
	}
	return strings.Join(quoted, ", ")
}

// SummaryIgnoredEverywhere counts, per asset type, the items that an
// active entry ignores on every asset (ScanIgnoredEverywhere).
const SummaryIgnoredEverywhere = `SELECT i.asset_type, COUNT(DISTINCT w.item_id) FROM whitelist w JOIN items i ON i.id = w.item_id
	WHERE w.lapsed = 0 AND w.all_assets = 1 GROUP BY i.asset_type`

// Summaries gathers the summary of each asset type from the rows of
// SummaryTypes, SummaryItems and SummaryIgnoredEverywhere.
type Summaries struct {
	sums              map[assets.Type]*store.AssetSummary
	ignoredEverywhere map[assets.Type]int
}

// NewSummaries is an empty gathering.
func NewSummaries() *Summaries {
	return &Summaries{sums: map[assets.Type]*store.AssetSummary{}, ignoredEverywhere: map[assets.Type]int{}}
}

func (s *Summaries) of(t string) *store.AssetSummary {
	at := assets.Type(t)
	sum := s.sums[at]
	if sum == nil {
		sum = &store.AssetSummary{AssetType: at}
		s.sums[at] = sum
	}
	return sum
}

// ScanType reads a row of SummaryTypes (or of TypeRollupSelect).
func (s *Summaries) ScanType(sc Scanner) error {
	var t string
	var c store.AssetSummary
	if err := sc.Scan(&t, &c.AssetCount, &c.PassedAssetCount, &c.FailedAssetCount, &c.ScanFailedAssetCount, &c.DetectHostCount); err != nil {
		return err
	}
	sum := s.of(t)
	sum.AssetCount, sum.PassedAssetCount, sum.FailedAssetCount = c.AssetCount, c.PassedAssetCount, c.FailedAssetCount
	sum.ScanFailedAssetCount, sum.DetectHostCount = c.ScanFailedAssetCount, c.DetectHostCount
	return nil
}

// ScanItems reads a row of SummaryItems.
func (s *Summaries) ScanItems(sc Scanner) error {
	var t string
	var c store.AssetSummary
	if err := sc.Scan(&t, &c.TotalPolicyItemCount, &c.PassedPolicyItemCount, &c.FailedPolicyItemCount,
		&c.FailedCriticalPolicyItemCount, &c.FailedHighRiskPolicyItemCount, &c.FailedMediumRiskPolicyItemCount,
		&c.FailedLowRiskPolicyItemCount, &c.NoticePolicyItemCount, &c.IgnoredPolicyItemCount); err != nil {
		return err
	}
	sum := s.of(t)
	sum.TotalPolicyItemCount, sum.PassedPolicyItemCount, sum.FailedPolicyItemCount = c.TotalPolicyItemCount, c.PassedPolicyItemCount, c.FailedPolicyItemCount
	sum.FailedCriticalPolicyItemCount, sum.FailedHighRiskPolicyItemCount = c.FailedCriticalPolicyItemCount, c.FailedHighRiskPolicyItemCount
	sum.FailedMediumRiskPolicyItemCount, sum.FailedLowRiskPolicyItemCount = c.FailedMediumRiskPolicyItemCount, c.FailedLowRiskPolicyItemCount
	sum.NoticePolicyItemCount, sum.IgnoredPolicyItemCount = c.NoticePolicyItemCount, c.IgnoredPolicyItemCount
	return nil
}

// ScanIgnoredEverywhere reads a row of SummaryIgnoredEverywhere.
func (s *Summaries) ScanIgnoredEverywhere(sc Scanner) error {
	var t string
	var n int
	if err := sc.Scan(&t, &n); err != nil {
		return err
	}
	s.ignoredEverywhere[assets.Type(t)] = n
	return nil
}

// Listed gives the types (every type when none are given) that Of
// lists: those that have items or assets.
func (s *Summaries) Listed(types []assets.Type) []assets.Type {
	if len(types) == 0 {
		types = assets.Types
	}
	var out []assets.Type
	for _, t := range types {
		if got := s.sums[t]; got != nil && (got.TotalPolicyItemCount != 0 || got.AssetCount != 0) {
			out = append(out, t)
		}
	}
	return out
}

// Of gives the summaries of the types (every type when none are given)
// that have items or assets, with the check information of the newest
// tasks (newest first; SummaryTasks).
func (s *Summaries) Of(types []assets.Type, tasks []store.Task) []store.AssetSummary {
	var out []store.AssetSummary
	for _, t := range s.Listed(types) {
		sum := *s.sums[t]
		sum.AssetType, sum.CheckStatus, sum.IsCustomerFirstCheck = t, checks.CheckInit, true
		sum.OpenPolicyItemCount = sum.TotalPolicyItemCount - s.ignoredEverywhere[t]
		sum.AssetPassedRate = results.Percent(t, results.Tally{PassedAssets: sum.PassedAssetCount, Assets: sum.AssetCount,
			PassedItems: sum.PassedPolicyItemCount, FailedItems: sum.FailedPolicyItemCount})
		ApplyTasks(&sum, tasks)
		out = append(out, sum)
	}
	return out
}

// summaryTaskPage and summaryTasksMost bound how SummaryTasks reads the
// tasks: a page at a time, at most as many as the summary ever looked at.
const (
	summaryTaskPage  = 32
	summaryTasksMost = 500
)

// SummaryTasks reads the newest tasks, newest first, as far back as the
// summaries of the types need them (ApplyTasks: down to each type's
// newest finished task), a page at a time. A daemon that fleets upload to
// records a task per upload, and a summary reads the few it shows, not
// the last 500.
func SummaryTasks(ctx context.Context, c Conn, types []assets.Type) ([]store.Task, error) {
	open := map[assets.Type]bool{}
	for _, t := range types {
		open[t] = true
	}
	var tasks []store.Task
	for len(open) > 0 && len(tasks) < summaryTasksMost {
		below := int64(math.MaxInt64) // the next page: tasks older than the last read
		if len(tasks) > 0 {
			below = tasks[len(tasks)-1].ID
		}
		page, err := List(ctx, c, ScanTask, TaskSelect+" WHERE id < ? ORDER BY id DESC LIMIT ?", below, summaryTaskPage)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, page...)
		for _, task := range page {
			for t := range open {
				if task.Status == checks.CheckFinished && CoversType(task.Scope, t) {
					delete(open, t)
				}
			}
		}
		if len(page) < summaryTaskPage {
			break
		}
	}
	return tasks, nil
}

// TypeCounts reads the kept roll-up of each asset type's current assets
// by result (ScanTypeCounts): passed, failed, and scan-failed (whose
// result is empty).
const TypeCounts = "SELECT asset_type, passed, failed, scan_failed FROM type_rollup"

// AssetCounts are the current assets of each type by result.
type AssetCounts map[string]map[string]int

// ScanTypeCounts reads a row of TypeCounts.
func (c AssetCounts) ScanTypeCounts(sc Scanner) error {
	var t string
	var passed, failed, scanFailed int
	if err := sc.Scan(&t, &passed, &failed, &scanFailed); err != nil {
		return err
	}
	c[t] = map[string]int{string(checks.ResultPassed): passed, string(checks.ResultFailed): failed, "": scanFailed}
	return nil
}

// CountOnly reports whether a list of current assets filtered so can be
// counted from the roll-ups per type: when it is filtered by AssetType
// and CheckResult only.
func CountOnly(filters []store.Filter) bool {
	for _, f := range filters {
		if f.Name != "AssetType" && f.Name != "CheckResult" {
			return false
		}
	}
	return true
}

// Count counts the current assets that filters of AssetType and
// CheckResult (CountOnly) select, matching values as Where does: exactly,
// or as a substring ignoring ASCII case.
func (c AssetCounts) Count(filters []store.Filter) int {
	n := 0
	for t, byResult := range c {
		for r, count := range byResult {
			if matchAll(filters, "AssetType", t) && matchAll(filters, "CheckResult", r) {
				n += count
			}
		}
	}
	return n
}

// matchAll reports whether every filter of the name matches s.
func matchAll(filters []store.Filter, name, s string) bool {
	for _, f := range filters {
		if f.Name == name && !matchAny(f, s) {
			return false
		}
	}
	return true
}

func matchAny(f store.Filter, s string) bool {
	for _, v := range f.Values {
		if f.ExactMatch && v == s || !f.ExactMatch && strings.Contains(asciiLower(s), asciiLower(v)) {
			return true
		}
	}
	return false
}

// asciiLower folds ASCII letters only, as SQLite's LIKE does.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
