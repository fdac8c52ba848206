package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/schedule"
	"github.com/baselinehq/baseline/store"
)

func newScheduleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Period tasks: one per asset type, every 1, 3 or 7 days at a time of day"}
	cmd.AddCommand(newScheduleShowCmd(g), newScheduleSetCmd(g))
	return cmd
}

func newScheduleShowCmd(g *globals) *cobra.Command {
	var format, tz string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the period tasks, their standards and next runs",
		Args:  cobra.NoArgs,
		RunE: withStore(g, func(ctx context.Context, st queryStore) error {
			if err := st.EnsurePeriodTasks(ctx); err != nil {
				return err
			}
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return fmt.Errorf("--timezone: %w", err)
			}
			list, err := st.PeriodTasks(ctx)
			if err != nil {
				return err
			}
			next := map[int64]time.Time{}
			if local, ok := st.(schedule.Store); ok && g.server == "" { // the daemon's own clock decides remotely
				if next, err = schedule.New(local, nil, schedule.Options{Location: loc}).NextRuns(ctx); err != nil {
					return err
				}
			}
			if format == "json" {
				type row struct {
					store.PeriodTask
					LastTriggerTime string `json:"LastTriggerTime"`
					NextRunTime     string `json:"NextRunTime,omitempty"`
				}
				var rows []row
				for _, p := range list {
					r := row{PeriodTask: p, LastTriggerTime: fmtTime(p.LastTriggerTime, loc)}
					if n, ok := next[p.ID]; ok {
						r.NextRunTime = fmtTime(n, loc)
					}
					rows = append(rows, r)
				}
				return writeJSON(g.stdout, rows)
			}
			t := newTable(g)
			t.AppendHeader(table.Row{"Id", "Asset type", "Enabled", "Every", "At", "Standards", "Items", "Last run", "Next run"})
			for _, p := range list {
				var on []string
				for _, s := range p.Standards {
					mark := "-"
					if s.Enabled {
						mark = "+"
					}
					on = append(on, mark+s.StandardID)
				}
				n := ""
				if v, ok := next[p.ID]; ok {
					n = fmtTime(v, loc)
				}
				t.AppendRow(table.Row{p.ID, p.AssetType.Short(), p.Rule.Enable, fmt.Sprintf("%d days", p.Rule.Frequency), p.Rule.ExecutionTime,
					strings.Join(on, " "), p.TotalPolicyItemCount, fmtTime(p.LastTriggerTime, loc), n})
			}
			t.Render()
			fmt.Fprintf(g.stdout, "Times in %s. A running daemon (baseline serve) picks changes up at once.\n", loc)
			return nil
		}),
	}
	show.Flags().StringVar(&format, "format", "table", "output format: table or json")
	show.Flags().StringVar(&tz, "timezone", "Local", "time zone of the execution times")
	return show
}

func newScheduleSetCmd(g *globals) *cobra.Command {
	var typ, at string
	var every int
	var enable, disable bool
	var on, off []string
	set := &cobra.Command{
		Use:   "set",
		Short: "Change an asset type's period task",
		Long: `  baseline schedule set --type container --every 3 --at 02:30:00 --enable
  baseline schedule set --type host --standard-off baseline-docker-1.0
  baseline schedule set --type image --disable`,
		Args: cobra.NoArgs,
		RunE: withStore(g, func(ctx context.Context, st queryStore) error {
			t, err := assets.ParseType(typ)
			if err != nil {
				return fmt.Errorf("--type: %w", err)
			}
			if enable && disable {
				return errors.New("--enable and --disable exclude each other")
			}
			if err := st.EnsurePeriodTasks(ctx); err != nil {
				return err
			}
			list, err := st.PeriodTasks(ctx)
			if err != nil {
				return err
			}
			var pt *store.PeriodTask
			for i := range list {
				if list[i].AssetType == t {
					pt = &list[i]
				}
			}
			if pt == nil {
				return fmt.Errorf("no period task for %s", t)
			}
			rule := pt.Rule
			if every != 0 {
				rule.Frequency = every
			}
			if at != "" {
				rule.ExecutionTime = at
				if len(at) == 5 {
					rule.ExecutionTime = at + ":00"
				}
			}
			rule.Enable = (rule.Enable || enable) && !disable
			switches := map[string]bool{}
			for _, s := range on {
				switches[s] = true
			}
			for _, s := range off {
				switches[s] = false
			}
			p, err := st.SetPeriodTask(ctx, pt.ID, &rule, switches)
			if err != nil {
				return err
			}
			state := "disabled"
			if p.Rule.Enable {
				state = "enabled"
			}
			fmt.Fprintf(g.stdout, "%s period task %s: every %d days at %s, %d items.\n", p.AssetType.Short(), state, p.Rule.Frequency, p.Rule.ExecutionTime, p.TotalPolicyItemCount)
			return nil
		}),
	}
	set.Flags().StringVar(&typ, "type", "", "asset type (required)")
	set.Flags().IntVar(&every, "every", 0, "frequency in days: 1, 3 or 7")
	set.Flags().StringVar(&at, "at", "", "time of day, HH:mm:ss")
	set.Flags().BoolVar(&enable, "enable", false, "switch the period task on")
	set.Flags().BoolVar(&disable, "disable", false, "switch the period task off")
	set.Flags().StringSliceVar(&on, "standard-on", nil, "standards to run")
	set.Flags().StringSliceVar(&off, "standard-off", nil, "standards not to run")
	_ = set.MarkFlagRequired("type")
	return set
}

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.DateTime)
}
