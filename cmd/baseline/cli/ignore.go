package cli

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/baselinehq/baseline/store"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
)

func newIgnoreCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "ignore", Short: "Ignore lists: results stay recorded but never count as failures"}
	cmd.AddCommand(newIgnoreAddCmd(g), newIgnoreRmCmd(g), newIgnoreLsCmd(g))
	return cmd
}

func newIgnoreAddCmd(g *globals) *cobra.Command {
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
				return errors.New("--reason is required: auditors see why a result was ignored")
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
	add.Flags().StringVar(&reason, "reason", "", "why the results are ignored (required)")
	add.Flags().StringVar(&by, "by", currentUser(), "who ignores them")
	add.Flags().StringVar(&expires, "expires", "", "when the entry lapses: a duration (30d, 12h) or a date (2026-12-31)")
	add.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return add
}

func newIgnoreRmCmd(g *globals) *cobra.Command {
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
	return rm
}

func newIgnoreLsCmd(g *globals) *cobra.Command {
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
	return ls
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
