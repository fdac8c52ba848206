package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/baselinehq/baseline/store"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
)

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
						t.AppendRow(table.Row{truncate(c.AssetName, 40), c.ItemID, c.Number, truncate(c.Name, 50),
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
