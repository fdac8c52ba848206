package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/baselinehq/baseline/store"
	"github.com/spf13/cobra"
)

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
