package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/spf13/cobra"
)

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

// typeFlag reads --type: an asset type's name, or empty for every type.
func typeFlag(typ string) (string, error) {
	if typ == "" {
		return "", nil
	}
	t, err := assets.ParseType(typ)
	if err != nil {
		return "", fmt.Errorf("--type: %w", err)
	}
	return string(t), nil
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
			at, err := typeFlag(typ)
			if err != nil {
				return err
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
		RunE: runDetail(g, &l, detail[store.AssetInfo]{
			kind: "asset", byAsset: false,
			head: func(ctx context.Context, st queryStore, id uint64) (store.AssetInfo, error) { return st.Asset(ctx, id) },
			rows: func(st queryStore) rowsOf { return st.AssetItems },
			filters: func() []store.Filter {
				return []store.Filter{exact("CheckResult", resultName(result)), exact("RiskLevel", riskName(risk))}
			},
			print: func(a store.AssetInfo) {
				fmt.Fprintf(g.stdout, "%s %s (%d) on %s: %s, %d passed, %d failed, %d ignored, last check %s\n",
					a.Type.Short(), a.Name, a.ID, a.NodeName, assetResult(a), a.PassedPolicyItemCount, a.FailedPolicyItemCount, a.IgnoredCount, a.LastCheckTime)
			},
		}),
	}
	l.register(cmd)
	cmd.Flags().StringVar(&result, "result", "", "passed, failed, manual or not_applicable")
	cmd.Flags().StringVar(&risk, "risk", "", "risk level: critical, high, medium, low, notice")
	return cmd
}

// rowsOf reads one page of the results of one asset or one item.
type rowsOf func(ctx context.Context, id uint64, q store.Query) ([]results.Row, int, error)

// detail is a command that shows one asset or item (its head) and a page
// of its results.
type detail[H any] struct {
	kind    string // "asset" or "item"
	byAsset bool   // the results name their asset (an item's) or their item
	head    func(ctx context.Context, st queryStore, id uint64) (H, error)
	rows    func(st queryStore) rowsOf
	filters func() []store.Filter
	print   func(H)
}

// runDetail runs a detail command on its one argument, the id.
func runDetail[H any](g *globals, l *listFlags, d detail[H]) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		id, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("%s id %q is not a number", d.kind, args[0])
		}
		return withStore(g, func(ctx context.Context, st queryStore) error {
			h, err := d.head(ctx, st, id)
			if err != nil {
				return err
			}
			q, err := l.query(d.filters()...)
			if err != nil {
				return err
			}
			list, total, err := d.rows(st)(ctx, id, q)
			if err != nil {
				return err
			}
			if l.format == "json" {
				key := strings.ToUpper(d.kind[:1]) + d.kind[1:]
				return writeJSON(g.stdout, map[string]any{key: h, "TotalCount": total, "List": nonNil(list)})
			}
			d.print(h)
			resultTable(g, list, d.byAsset)
			pageFooter(g, q, len(list), total)
			return nil
		})(cmd, args)
	}
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
			at, err := typeFlag(typ)
			if err != nil {
				return err
			}
			extra := []store.Filter{exact("StandardId", standard), exact("RiskLevel", riskName(risk)), exact("AssetType", at),
				exact("CheckResult", resultName(result)), {Name: "ItemType", Values: nonEmpty(category)}}
			return runList(ctx, g, &l, extra, st.Items, func(list []store.ItemSummary) {
				t := newTable(g)
				t.AppendHeader(table.Row{"Id", "Standard", "No.", "Title", "Asset type", "Risk", "Passed", "Failed", "Ignored", "Manual", "N/A", "Check failed"})
				for _, it := range list {
					t.AppendRow(table.Row{it.ID, it.StandardID, it.Number, truncate(it.Name, 60), it.AssetType.Short(), it.Risk.Short(),
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

func newItemCmd(g *globals) *cobra.Command {
	var l listFlags
	var node, result string
	cmd := &cobra.Command{
		Use:   "item ID",
		Short: "Show one item and the assets it affects",
		Long:  "Filters: NodeName, CheckResult, AssetName, AssetType, Ignored.",
		Args:  cobra.ExactArgs(1),
		RunE: runDetail(g, &l, detail[store.ItemSummary]{
			kind: "item", byAsset: true,
			head: func(ctx context.Context, st queryStore, id uint64) (store.ItemSummary, error) {
				return st.Item(ctx, id)
			},
			rows: func(st queryStore) rowsOf { return st.ItemAssets },
			filters: func() []store.Filter {
				return []store.Filter{exact("NodeName", node), exact("CheckResult", resultName(result))}
			},
			print: func(it store.ItemSummary) {
				fmt.Fprintf(g.stdout, "%d  %s %s  %s\nrisk %s; %d passed, %d failed, %d ignored\nRemediation: %s\n",
					it.ID, it.StandardID, it.Number, it.Name, it.Risk.Short(), it.PassedAssetCount, it.FailedAssetCount, it.IgnoredAssetCount, it.Remediation)
			},
		}),
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
