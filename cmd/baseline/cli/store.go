package cli

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/spf13/cobra"

	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/api/remote"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// openStore opens the store; every start first marks as failed the tasks
// of processes that died mid-scan.
func openStore(ctx context.Context, g *globals) (*sqlite.DB, error) {
	db, err := sqlite.Open(ctx, g.dataDir, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("store: %w (set --data-dir or BASELINE_DATA_DIR)", err)
	}
	if _, err := db.RecoverInterrupted(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return db, nil
}

// queryStore is what a query command needs of a store: the roles that
// both the local store and a daemon's API (--server) offer.
type queryStore interface {
	store.ResultReader
	store.WhitelistStore
	store.PeriodStore
}

// errNotRemote refuses, with --server, a command that only the daemon's
// own store can answer.
var errNotRemote = errors.New("not available through --server: run it on the daemon's host")

// withStore opens the store for a query command: the local one, or a
// remote daemon's through its API with --server.
func withStore(g *globals, f func(ctx context.Context, st queryStore) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if g.server != "" {
			rs, err := remoteStore(g)
			if err != nil {
				return err
			}
			return f(cmd.Context(), rs)
		}
		db, err := openStore(cmd.Context(), g)
		if err != nil {
			return err
		}
		defer db.Close()
		return f(cmd.Context(), db)
	}
}

// withLocalStore opens the local store for a command on tasks, which
// --server does not offer.
func withLocalStore(g *globals, f func(ctx context.Context, st store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if g.server != "" {
			return errNotRemote
		}
		db, err := openStore(cmd.Context(), g)
		if err != nil {
			return err
		}
		defer db.Close()
		return f(cmd.Context(), db)
	}
}

func remoteStore(g *globals) (*remote.Store, error) {
	c, err := client.New(g.server, g.secretID, g.secretKey)
	if err != nil {
		return nil, fmt.Errorf("--server: %w (set --secret-id and --secret-key, or BASELINE_SECRET_ID and BASELINE_SECRET_KEY)", err)
	}
	return remote.New(c), nil
}

// listFlags are the paging, filter and output options of list commands.
type listFlags struct {
	offset  int
	limit   int
	filters []string
	exact   bool
	format  string
}

func (l *listFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&l.offset, "offset", 0, "skip this many entries")
	fl.IntVar(&l.limit, "limit", store.DefaultLimit, fmt.Sprintf("entries per page (at most %d)", store.MaxLimit))
	fl.StringArrayVar(&l.filters, "filter", nil, "filter NAME=V1,V2 (values ORed, filters ANDed; repeatable)")
	fl.BoolVar(&l.exact, "exact", false, "match filter values exactly (default: substring)")
	fl.StringVar(&l.format, "format", "table", "output format: table or json")
}

// query builds the store query; extra filters come from command shorthands.
func (l *listFlags) query(extra ...store.Filter) (store.Query, error) {
	if l.format != "table" && l.format != "json" {
		return store.Query{}, fmt.Errorf("--format: %q is not table or json", l.format)
	}
	q := store.Query{Offset: l.offset, Limit: l.limit}
	for _, f := range l.filters {
		name, vals, ok := strings.Cut(f, "=")
		if !ok || name == "" || vals == "" {
			return q, fmt.Errorf("--filter: %q is not NAME=V1,V2", f)
		}
		q.Filters = append(q.Filters, store.Filter{Name: name, Values: strings.Split(vals, ","), ExactMatch: l.exact})
	}
	for _, f := range extra {
		if len(f.Values) > 0 {
			q.Filters = append(q.Filters, f)
		}
	}
	if err := q.Normalize(); err != nil {
		return q, fmt.Errorf("--limit/--offset: %w", err)
	}
	return q, nil
}

func exact(name string, vals ...string) store.Filter {
	var vs []string
	for _, v := range vals {
		if v != "" {
			vs = append(vs, v)
		}
	}
	return store.Filter{Name: name, Values: vs, ExactMatch: true}
}

// pageFooter says which entries a page shows.
func pageFooter(g *globals, q store.Query, n, total int) {
	if total == 0 {
		fmt.Fprintln(g.stdout, "Nothing found.")
		return
	}
	fmt.Fprintf(g.stdout, "%d-%d of %d\n", q.Offset+1, q.Offset+n, total)
}

// runList fetches one page and prints it as JSON, or as a table and a
// footer saying which entries the page shows.
func runList[T any](ctx context.Context, g *globals, l *listFlags, extra []store.Filter,
	fetch func(context.Context, store.Query) ([]T, int, error), render func([]T)) error {
	q, err := l.query(extra...)
	if err != nil {
		return err
	}
	list, total, err := fetch(ctx, q)
	if err != nil {
		return err
	}
	if l.format == "json" {
		return listJSON(g, list, total)
	}
	render(list)
	pageFooter(g, q, len(list), total)
	return nil
}

func listJSON[T any](g *globals, items []T, total int) error {
	if items == nil {
		items = []T{}
	}
	return writeJSON(g.stdout, map[string]any{"TotalCount": total, "List": items})
}

func newRecheckCmd(g *globals) *cobra.Command {
	var f runFlags
	var assetIDs, items, types, standards []string
	var failed bool
	cmd := &cobra.Command{
		Use:   "recheck",
		Short: "Recheck assets, items, one item on some assets, the scan-failed assets, or a type or standard",
		Long: `Recheck what you fixed, at once:
  baseline recheck --asset ID...              every item on these assets
  baseline recheck --item ID...               these items on every asset
  baseline recheck --item ID --asset ID...    one item on these assets
  baseline recheck --failed                   the assets whose last scan failed
  baseline recheck --type container           a whole asset type (or --standard ID)
A recheck of a scope that is already being scanned is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, scope, err := selection(types, standards, items)
			if err != nil {
				return err
			}
			ids, err := parseIDs("--asset", assetIDs)
			if err != nil {
				return err
			}
			if failed {
				if len(ids) > 0 {
					return errors.New("--failed and --asset exclude each other")
				}
				if ids, err = scanFailedIDs(cmd.Context(), g); err != nil {
					return err
				}
				if len(ids) == 0 {
					fmt.Fprintln(g.stdout, "No asset's last scan failed: nothing to recheck.")
					return nil
				}
			}
			if len(ids) == 0 && len(opts.Items) == 0 && len(opts.Types) == 0 && len(opts.Standards) == 0 {
				return errors.New("say what to recheck: --asset, --item, --failed, --type or --standard")
			}
			for _, id := range ids {
				opts.Assets = append(opts.Assets, strconv.FormatUint(id, 10))
			}
			scope.Assets = ids
			if g.server != "" {
				rs, err := remoteStore(g)
				if err != nil {
					return err
				}
				id, err := rs.Scan(cmd.Context(), scope)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Started task %d on %s.\n", id, g.server)
				return nil
			}
			if f.noStore {
				return errors.New("--no-store: a recheck updates the store; use scan to print only")
			}
			return execScan(cmd, g, &f, opts, store.TriggerRecheck, scope)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&assetIDs, "asset", nil, "assets to recheck (CustomerAssetId)")
	fl.StringSliceVar(&items, "item", nil, "items to recheck (CustomerPolicyItemId)")
	fl.StringSliceVar(&types, "type", nil, "asset types to recheck")
	fl.StringSliceVar(&standards, "standard", nil, "standards to recheck")
	fl.BoolVar(&failed, "failed", false, "recheck the assets whose last scan failed")
	f.register(cmd)
	return cmd
}

func scanFailedIDs(ctx context.Context, g *globals) ([]uint64, error) {
	var db queryStore
	if g.server != "" {
		rs, err := remoteStore(g)
		if err != nil {
			return nil, err
		}
		db = rs
	} else {
		local, err := openStore(ctx, g)
		if err != nil {
			return nil, err
		}
		defer local.Close()
		db = local
	}
	failed, err := store.All(ctx, db.ScanFailed)
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, 0, len(failed))
	for _, f := range failed {
		ids = append(ids, f.AssetID)
	}
	return ids, nil
}

func newSummaryCmd(g *globals) *cobra.Command {
	var types []string
	var format string
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Compliance summary per asset type, from the latest results",
		Args:  cobra.NoArgs,
		RunE: withStore(g, func(ctx context.Context, st queryStore) error {
			var ts []assets.Type
			for _, t := range types {
				at, err := assets.ParseType(t)
				if err != nil {
					return fmt.Errorf("--type: %w", err)
				}
				ts = append(ts, at)
			}
			sums, err := st.Summary(ctx, ts)
			if err != nil {
				return err
			}
			if format == "json" {
				if sums == nil {
					sums = []store.AssetSummary{}
				}
				return writeJSON(g.stdout, sums)
			}
			if len(sums) == 0 {
				fmt.Fprintln(g.stdout, "Nothing scanned yet: run baseline scan.")
				return nil
			}
			t := newTable(g)
			t.AppendHeader(table.Row{"Type", "Status", "Assets", "Passed", "Failed", "Scan failed", "Pass rate", "Items passed", "Items failed",
				"Critical", "High", "Medium", "Low", "Notice", "Ignored", "Last check", "Cost"})
			for _, s := range sums {
				t.AppendRow(table.Row{s.AssetType.Short(), strings.TrimPrefix(string(s.CheckStatus), "CHECK_"), s.AssetCount, s.PassedAssetCount,
					s.FailedAssetCount, s.ScanFailedAssetCount, fmt.Sprintf("%.1f%%", s.AssetPassedRate), s.PassedPolicyItemCount,
					s.FailedPolicyItemCount, s.FailedCriticalPolicyItemCount, s.FailedHighRiskPolicyItemCount, s.FailedMediumRiskPolicyItemCount,
					s.FailedLowRiskPolicyItemCount, s.NoticePolicyItemCount, s.IgnoredPolicyItemCount, s.LastCheckTime, fmt.Sprintf("%.2fs", s.CheckCostTime)})
			}
			t.SetColumnConfigs([]table.ColumnConfig{{Number: 7, Align: text.AlignRight}})
			t.Render()
			return nil
		}),
	}
	cmd.Flags().StringSliceVar(&types, "type", nil, "asset types (default all)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func newAssetsCmd(g *globals) *cobra.Command {
	var l listFlags
	var typ, result, node string
	cmd := &cobra.Command{
		Use:   "assets",
		Short: "List assets with their passed and failed item counts",
		Long:  "Filters: AssetType, AssetName, NodeName, HostIP, CustomerAssetId, CheckResult.",
		Args:  cobra.NoArgs,
		RunE: withStore(g, func(ctx context.Context, st queryStore) error {
			var at string
			if typ != "" {
				t, err := assets.ParseType(typ)
				if err != nil {
					return fmt.Errorf("--type: %w", err)
				}
				at = string(t)
			}
			extra := []store.Filter{exact("AssetType", at), exact("CheckResult", resultName(result)), exact("NodeName", node)}
			return runList(ctx, g, &l, extra, st.Assets, func(list []store.AssetInfo) {
				t := newTable(g)
				t.AppendHeader(table.Row{"Id", "Type", "Name", "Node", "Passed", "Failed", "Ignored", "Manual", "N/A", "Check failed", "Result", "Last check"})
				for _, a := range list {
					t.AppendRow(table.Row{a.ID, a.Type.Short(), truncate(a.Name, 40), a.NodeName, a.PassedPolicyItemCount, a.FailedPolicyItemCount,
						a.IgnoredCount, a.ManualCount, a.NotApplicableCount, a.CheckFailedCount, assetResult(a), a.LastCheckTime})
				}
				t.Render()
			})
		}),
	}
	l.register(cmd)
	cmd.Flags().StringVar(&typ, "type", "", "asset type")
	cmd.Flags().StringVar(&result, "result", "", "passed or failed")
	cmd.Flags().StringVar(&node, "node", "", "node name")
	return cmd
}

func assetResult(a store.AssetInfo) string {
	if a.ScanFailed {
		return "SCAN FAILED"
	}
	return strings.TrimPrefix(string(a.CheckResult), "RESULT_")
}

// resultName accepts "failed" or "RESULT_FAILED".
func resultName(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "RESULT_") {
		s = "RESULT_" + s
	}
	return s
}

func riskName(s string) string {
	if s == "" {
		return ""
	}
	if r, err := checks.ParseRisk(s); err == nil {
		return string(r)
	}
	return s
}

func newAssetCmd(g *globals) *cobra.Command {
	var l listFlags
	var result, risk string
	cmd := &cobra.Command{
		Use:   "asset ID",
		Short: "Show one asset and its items' latest results with evidence",
		Long:  "Filters: CheckResult, CheckStatus, RiskLevel, ItemType, StandardId, Name, Ignored.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("asset id %q is not a number", args[0])
			}
			return withStore(g, func(ctx context.Context, st queryStore) error {
				a, err := st.Asset(ctx, id)
				if err != nil {
					return err
				}
				q, err := l.query(exact("CheckResult", resultName(result)), exact("RiskLevel", riskName(risk)))
				if err != nil {
					return err
				}
				list, total, err := st.AssetItems(ctx, id, q)
				if err != nil {
					return err
				}
				if l.format == "json" {
					return writeJSON(g.stdout, map[string]any{"Asset": a, "TotalCount": total, "List": nonNil(list)})
				}
				fmt.Fprintf(g.stdout, "%s %s (%d) on %s: %s, %d passed, %d failed, %d ignored, last check %s\n",
					a.Type.Short(), a.Name, a.ID, a.NodeName, assetResult(a), a.PassedPolicyItemCount, a.FailedPolicyItemCount, a.IgnoredCount, a.LastCheckTime)
				resultTable(g, list, false)
				pageFooter(g, q, len(list), total)
				return nil
			})(cmd, args)
		},
	}
	l.register(cmd)
	cmd.Flags().StringVar(&result, "result", "", "passed, failed, manual or not_applicable")
	cmd.Flags().StringVar(&risk, "risk", "", "risk level: critical, high, medium, low, notice")
	return cmd
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// resultTable lists results with their evidence; byAsset names the asset
// in each row (an item's affected assets) instead of the item.
func resultTable(g *globals, list []results.Row, byAsset bool) {
	t := newTable(g)
	first := table.Row{"Item", "No.", "Title", "Risk"}
	if byAsset {
		first = table.Row{"Asset id", "Asset", "Node", "Type"}
	}
	t.AppendHeader(append(first, "Status", "Evidence"))
	t.SetColumnConfigs([]table.ColumnConfig{{Number: 6, WidthMax: 70, WidthMaxEnforcer: text.WrapSoft}})
	for _, r := range list {
		status := strings.TrimPrefix(string(r.Result), "RESULT_")
		if r.Status == checks.CheckFailed {
			status = "CHECK FAILED"
		}
		if r.Ignored && r.Result == checks.ResultFailed {
			status = "FAILED (ignored)"
		}
		ev := r.Reason
		for _, e := range r.Evidence {
			if !e.Passed || ev == "" {
				ev = fmt.Sprintf("%s: %s (expected %s)", e.Subject, e.Actual, e.Expected)
				if !e.Passed {
					break
				}
			}
		}
		row := table.Row{r.ItemID, r.Number, truncate(r.Title, 50), checks.Risk(r.Risk).Short()}
		if byAsset {
			row = table.Row{r.AssetID, truncate(r.AssetName, 40), r.NodeName, r.AssetType.Short()}
		}
		t.AppendRow(append(row, status, truncate(ev, 200)))
	}
	t.Render()
}

func newItemsCmd(g *globals) *cobra.Command {
	var l listFlags
	var category, standard, risk, typ, result string
	cmd := &cobra.Command{
		Use:   "items",
		Short: "List items with their passed and failed asset counts",
		Long:  "Filters: ItemType (category), StandardId, RiskLevel, AssetType, Name, CustomerPolicyItemId, BasePolicyItemId, CheckResult.",
		Args:  cobra.NoArgs,
		RunE: withStore(g, func(ctx context.Context, st queryStore) error {
			var at string
			if typ != "" {
				t, err := assets.ParseType(typ)
				if err != nil {
					return fmt.Errorf("--type: %w", err)
				}
				at = string(t)
			}
			extra := []store.Filter{exact("StandardId", standard), exact("RiskLevel", riskName(risk)), exact("AssetType", at),
				exact("CheckResult", resultName(result)), {Name: "ItemType", Values: nonEmpty(category)}}
			return runList(ctx, g, &l, extra, st.Items, func(list []store.ItemSummary) {
				t := newTable(g)
				t.AppendHeader(table.Row{"Id", "Standard", "No.", "Title", "Asset type", "Risk", "Passed", "Failed", "Ignored", "Manual", "N/A", "Check failed"})
				for _, it := range list {
					t.AppendRow(table.Row{it.ID, it.StandardID, it.BaseID, truncate(it.Name, 60), it.AssetType.Short(), it.Risk.Short(),
						it.PassedAssetCount, it.FailedAssetCount, it.IgnoredAssetCount, it.ManualAssetCount, it.NotApplicableCount, it.CheckFailedCount})
				}
				t.Render()
			})
		}),
	}
	l.register(cmd)
	cmd.Flags().StringVar(&category, "category", "", "item category (substring)")
	cmd.Flags().StringVar(&standard, "standard", "", "standard id")
	cmd.Flags().StringVar(&risk, "risk", "", "risk level: critical, high, medium, low, notice")
	cmd.Flags().StringVar(&typ, "type", "", "asset type")
	cmd.Flags().StringVar(&result, "result", "", "passed or failed")
	return cmd
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func newItemCmd(g *globals) *cobra.Command {
	var l listFlags
	var node, result string
	cmd := &cobra.Command{
		Use:   "item ID",
		Short: "Show one item and the assets it affects",
		Long:  "Filters: NodeName, CheckResult, AssetName, AssetType, Ignored.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("item id %q is not a number", args[0])
			}
			return withStore(g, func(ctx context.Context, st queryStore) error {
				it, err := st.Item(ctx, id)
				if err != nil {
					return err
				}
				q, err := l.query(exact("NodeName", node), exact("CheckResult", resultName(result)))
				if err != nil {
					return err
				}
				list, total, err := st.ItemAssets(ctx, id, q)
				if err != nil {
					return err
				}
				if l.format == "json" {
					return writeJSON(g.stdout, map[string]any{"Item": it, "TotalCount": total, "List": nonNil(list)})
				}
				fmt.Fprintf(g.stdout, "%d  %s %s  %s\nrisk %s; %d passed, %d failed, %d ignored\nRemediation: %s\n",
					it.ID, it.StandardID, it.BaseID, it.Name, it.Risk.Short(), it.PassedAssetCount, it.FailedAssetCount, it.IgnoredAssetCount, it.Remediation)
				resultTable(g, list, true)
				pageFooter(g, q, len(list), total)
				return nil
			})(cmd, args)
		},
	}
	l.register(cmd)
	cmd.Flags().StringVar(&node, "node", "", "node name")
	cmd.Flags().StringVar(&result, "result", "", "passed, failed, manual or not_applicable")
	return cmd
}

func newFailedCmd(g *globals) *cobra.Command {
	var l listFlags
	cmd := &cobra.Command{
		Use:   "failed",
		Short: "List the assets whose last scan failed, with the reason (recheck them with: baseline recheck --failed)",
		Long:  "Filters: AssetType, AssetName, NodeName.",
		Args:  cobra.NoArgs,
		RunE: withStore(g, func(ctx context.Context, st queryStore) error {
			return runList(ctx, g, &l, nil, st.ScanFailed, func(list []store.ScanFailedAsset) {
				t := newTable(g)
				t.AppendHeader(table.Row{"Id", "Type", "Asset", "Node", "Reason", "Suggestion", "Checked"})
				t.SetColumnConfigs([]table.ColumnConfig{{Number: 5, WidthMax: 60, WidthMaxEnforcer: text.WrapSoft}, {Number: 6, WidthMax: 40, WidthMaxEnforcer: text.WrapSoft}})
				for _, f := range list {
					t.AppendRow(table.Row{f.AssetID, f.AssetType.Short(), truncate(f.AssetName, 40), f.NodeName, f.Reason, f.Suggestion, f.CheckTime})
				}
				t.Render()
			})
		}),
	}
	l.register(cmd)
	return cmd
}

func newIgnoreCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "ignore", Short: "Ignore lists: results stay recorded but never count as failures"}
	var items, assetIDs []string
	var all bool
	var reason, by, expires, format string
	add := &cobra.Command{
		Use:   "add",
		Short: "Ignore items everywhere (--all), a set of items on one asset, or one item on a set of assets",
		Long: `  baseline ignore add --item ID --all --reason "..."                 an item on every asset
  baseline ignore add --item ID,ID --asset ID --reason "..."         a set of items on one asset
  baseline ignore add --item ID --asset ID,ID --reason "..."         one item on a set of assets
--expires 30d (or 12h, or 2026-12-31) makes the entry lapse by itself.`,
		Args: cobra.NoArgs,
		RunE: withStore(g, func(ctx context.Context, st queryStore) error {
			itemIDs, err := parseIDs("--item", items)
			if err != nil {
				return err
			}
			ids, err := parseIDs("--asset", assetIDs)
			if err != nil {
				return err
			}
			if all == (len(ids) > 0) {
				return errors.New("give either --all or --asset")
			}
			if strings.TrimSpace(reason) == "" {
				return errors.New("--reason is required: auditors see why a result was waived")
			}
			exp, err := parseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			entries, err := st.AddWhitelist(ctx, store.WhitelistRequest{Items: itemIDs, Assets: ids, All: all, Reason: reason, CreatedBy: by, ExpiresAt: exp})
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(g.stdout, entries)
			}
			whitelistTable(g, entries)
			return nil
		}),
	}
	add.Flags().StringSliceVar(&items, "item", nil, "items (CustomerPolicyItemId)")
	add.Flags().StringSliceVar(&assetIDs, "asset", nil, "assets (CustomerAssetId)")
	add.Flags().BoolVar(&all, "all", false, "on every asset")
	add.Flags().StringVar(&reason, "reason", "", "why the results are waived (required)")
	add.Flags().StringVar(&by, "by", currentUser(), "who waives them")
	add.Flags().StringVar(&expires, "expires", "", "when the entry lapses: a duration (30d, 12h) or a date (2026-12-31)")
	add.Flags().StringVar(&format, "format", "table", "output format: table or json")

	var rmItems, rmAssets []string
	rm := &cobra.Command{
		Use:   "rm [ENTRY-ID...]",
		Short: "Remove entries by id, or take items off assets (--item ... --asset ...)",
	}
	rm.RunE = func(cmd *cobra.Command, args []string) error {
		return withStore(g, func(ctx context.Context, st queryStore) error {
			if len(args) > 0 {
				if len(rmItems) > 0 || len(rmAssets) > 0 {
					return errors.New("give entry ids, or --item and --asset, not both")
				}
				var ids []int64
				for _, a := range args {
					id, err := strconv.ParseInt(a, 10, 64)
					if err != nil {
						return fmt.Errorf("entry id %q is not a number", a)
					}
					ids = append(ids, id)
				}
				if err := st.RemoveWhitelist(ctx, ids); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Removed %d entries; their results count again.\n", len(ids))
				return nil
			}
			itemIDs, err := parseIDs("--item", rmItems)
			if err != nil {
				return err
			}
			ids, err := parseIDs("--asset", rmAssets)
			if err != nil {
				return err
			}
			if len(itemIDs) == 0 || len(ids) == 0 {
				return errors.New("give entry ids, or --item and --asset")
			}
			if err := st.RemoveWhitelistAssets(ctx, itemIDs, ids); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "Removed; those results count again.")
			return nil
		})(cmd, args)
	}
	rm.Flags().StringSliceVar(&rmItems, "item", nil, "items")
	rm.Flags().StringSliceVar(&rmAssets, "asset", nil, "assets")

	var l listFlags
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the ignore list",
		Long:  "Filters: Name (item name), StandardId, AssetType, AssetName, HostName, HostIP.",
		Args:  cobra.NoArgs,
		RunE: withStore(g, func(ctx context.Context, st queryStore) error {
			return runList(ctx, g, &l, nil, st.Whitelist, func(list []store.WhitelistEntry) { whitelistTable(g, list) })
		}),
	}
	l.register(ls)
	cmd.AddCommand(add, rm, ls)
	return cmd
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return envOr("USER", "unknown")
}

func whitelistTable(g *globals, list []store.WhitelistEntry) {
	t := newTable(g)
	t.AppendHeader(table.Row{"Entry", "Item", "Title", "Standard", "Assets", "Reason", "By", "Added", "Updated", "Expires"})
	for _, e := range list {
		scope := fmt.Sprintf("%d", e.AssetCount)
		if e.AllAssets {
			scope = fmt.Sprintf("all (%d)", e.AssetCount)
		}
		exp := e.ExpiresAt
		if e.Lapsed {
			exp += " (lapsed)"
		}
		t.AppendRow(table.Row{e.ID, e.ItemID, truncate(e.ItemName, 40), e.StandardID, scope, truncate(e.Reason, 40), e.CreatedBy, e.InsertTime, e.UpdateTime, exp})
	}
	t.Render()
}

// parseExpiry reads "30d", "12h", "90m" or a date "2026-12-31" (UTC end of
// day) or an RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--expires: %q is not a duration (30d, 12h) or a date (2026-12-31)", s)
}

func newTasksCmd(g *globals) *cobra.Command {
	var l listFlags
	cmd := &cobra.Command{
		Use:   "tasks",
		Short: "List scan tasks, newest first",
		Long:  "Filters: Trigger (manual, recheck, period, upload: a scan run elsewhere and uploaded to this daemon), CheckStatus.",
		Args:  cobra.NoArgs,
		RunE: withLocalStore(g, func(ctx context.Context, st store.Store) error {
			return runList(ctx, g, &l, nil, st.Tasks, func(list []store.Task) {
				t := newTable(g)
				t.AppendHeader(table.Row{"Task", "Trigger", "Scope", "Status", "Started", "Cost", "Results", "Error"})
				for _, k := range list {
					t.AppendRow(table.Row{k.ID, k.Trigger, truncate(k.Scope.String(), 40), strings.TrimPrefix(string(k.Status), "CHECK_"),
						k.StartedAt.Format(time.DateTime), fmt.Sprintf("%.2fs", k.CostSeconds), k.ResultCount, truncate(k.Error, 50)})
				}
				t.Render()
			})
		}),
	}
	l.register(cmd)
	return cmd
}

func newDiffCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "diff [FROM-TASK TO-TASK]",
		Short: "What newly failed and what was fixed between two tasks (default: the last two)",
		Args:  cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var from, to int64
			if len(args) == 1 {
				return errors.New("give two task ids, or none for the last two")
			}
			if len(args) == 2 {
				var err1, err2 error
				from, err1 = strconv.ParseInt(args[0], 10, 64)
				to, err2 = strconv.ParseInt(args[1], 10, 64)
				if err1 != nil || err2 != nil {
					return fmt.Errorf("task ids %q, %q are not numbers", args[0], args[1])
				}
			}
			return withLocalStore(g, func(ctx context.Context, st store.Store) error {
				d, err := st.Diff(ctx, from, to)
				if err != nil {
					return err
				}
				if format == "json" {
					return writeJSON(g.stdout, map[string]any{"From": d.From, "To": d.To, "NewlyFailed": d.NewlyFailed, "Fixed": d.Fixed})
				}
				fmt.Fprintf(g.stdout, "From task %d to task %d: %d newly failed, %d fixed.\n", d.From, d.To, len(d.NewlyFailed), len(d.Fixed))
				for _, sec := range []struct {
					title string
					list  []store.Change
				}{{"Newly failed", d.NewlyFailed}, {"Fixed", d.Fixed}} {
					if len(sec.list) == 0 {
						continue
					}
					t := newTable(g)
					t.SetTitle(sec.title)
					t.AppendHeader(table.Row{"Asset", "Item", "No.", "Title", "Before", "After"})
					for _, c := range sec.list {
						t.AppendRow(table.Row{truncate(c.AssetName, 40), c.ItemID, c.BaseID, truncate(c.Name, 50),
							strings.TrimPrefix(string(c.Before), "RESULT_"), strings.TrimPrefix(string(c.After), "RESULT_")})
					}
					t.Render()
				}
				return nil
			})(cmd, args)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func newPruneCmd(g *globals) *cobra.Command {
	var keep int
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete the results of old tasks, keeping every pair's latest result",
		Args:  cobra.NoArgs,
		RunE: withLocalStore(g, func(ctx context.Context, st store.Store) error {
			n, err := st.Prune(ctx, keep)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Pruned %d tasks.\n", n)
			return nil
		}),
	}
	cmd.Flags().IntVar(&keep, "keep", 100, "tasks to keep")
	return cmd
}
