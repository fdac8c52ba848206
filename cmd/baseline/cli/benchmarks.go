package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
)

// loadCatalog loads the built-in standards plus the user's directories.
func loadCatalog(g *globals) (*checks.Catalog, error) {
	trees := []checks.Tree{benchmarks.Tree()}
	for _, dir := range g.benchmarkDirs {
		tree, err := dirTree(dir)
		if err != nil {
			return nil, withCode(ExitInvalid, err)
		}
		trees = append(trees, tree)
	}
	cat, err := checks.Load(trees...)
	if err != nil {
		return nil, withCode(ExitInvalid, err)
	}
	return cat, nil
}

func dirTree(dir string) (checks.Tree, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return checks.Tree{}, fmt.Errorf("--benchmarks: %w", err)
	}
	if !st.IsDir() {
		return checks.Tree{}, fmt.Errorf("--benchmarks: %s is not a directory", dir)
	}
	return checks.Tree{FS: os.DirFS(dir), Origin: filepath.Clean(dir)}, nil
}

func newBenchmarksCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "benchmarks",
		Short: "List, show and validate benchmark standards",
	}
	cmd.AddCommand(newBenchmarksListCmd(g), newBenchmarksShowCmd(g), newBenchmarksValidateCmd(g))
	return cmd
}

func newBenchmarksListCmd(g *globals) *cobra.Command {
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the loaded standards",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := loadCatalog(g)
			if err != nil {
				return err
			}
			if format == "json" {
				type row struct {
					ID, Name, Version, Origin string
					AssetTypes                []string
					ItemCount                 int
					Enabled                   bool
				}
				var rows []row
				for _, s := range cat.Standards {
					var at []string
					for _, a := range s.AssetTypes {
						at = append(at, string(a))
					}
					rows = append(rows, row{s.ID, s.Name, s.Version, s.Origin, at, len(s.Items), s.Enabled})
				}
				return writeJSON(g.stdout, rows)
			}
			t := newTable(g)
			t.AppendHeader(table.Row{"ID", "Name", "Version", "Asset types", "Items", "Automated", "Origin"})
			for _, s := range cat.Standards {
				auto := 0
				for _, it := range s.Items {
					if it.Automated {
						auto++
					}
				}
				var at []string
				for _, a := range s.AssetTypes {
					at = append(at, a.Short())
				}
				t.AppendRow(table.Row{s.ID, s.Name, s.Version, strings.Join(at, ","), len(s.Items), auto, s.Origin})
			}
			t.Render()
			return nil
		},
	}
	list.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return list
}

func newBenchmarksShowCmd(g *globals) *cobra.Command {
	show := &cobra.Command{
		Use:   "show STANDARD|ITEM-ID",
		Short: "Show a standard's items, or one item in full",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := loadCatalog(g)
			if err != nil {
				return err
			}
			if id, perr := strconv.ParseUint(args[0], 10, 64); perr == nil {
				it, ok := cat.Item(id)
				if !ok {
					return fmt.Errorf("no item with id %d", id)
				}
				showItem(g, it)
				return nil
			}
			s, ok := cat.Standard(args[0])
			if !ok {
				return fmt.Errorf("no standard %q (see: baseline benchmarks list)", args[0])
			}
			t := newTable(g)
			t.SetTitle(fmt.Sprintf("%s %s (%s)", s.Name, s.Version, s.ID))
			t.AppendHeader(table.Row{"ID", "Number", "Title", "Asset", "Risk", "Assessment"})
			for _, it := range s.Items {
				a := "manual"
				if it.Automated {
					a = "automated"
				}
				t.AppendRow(table.Row{it.ID, it.Number, truncate(it.Title, 70), it.AssetType.Short(), it.Risk.Short(), a})
			}
			t.Render()
			return nil
		},
	}
	return show
}

func newBenchmarksValidateCmd(g *globals) *cobra.Command {
	validate := &cobra.Command{
		Use:   "validate [DIR...]",
		Short: "Load benchmark directories (without one: the built-in standards) and report every problem as file:line",
		Long: `Load benchmark directories and report every problem as file:line.
Without a directory, the built-in standards are validated. A directory that
holds a built-in standard (its id), as a copy of benchmarks/ being edited,
is validated in place of it; other standards are also checked against the
built-in ones (ids used twice).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			builtin := benchmarks.Tree()
			if len(args) == 0 {
				cat, err := checks.Load(builtin)
				if err != nil {
					return withCode(ExitInvalid, err)
				}
				for _, s := range cat.Standards {
					fmt.Fprintf(g.stdout, "%s: standard %s: %d items OK\n", s.Origin, s.ID, len(s.Items))
				}
				return nil
			}
			var trees []checks.Tree
			for _, dir := range args {
				tree, err := dirTree(dir)
				if err != nil {
					return withCode(ExitInvalid, err)
				}
				trees = append(trees, tree)
			}
			cat, err := checks.Load(trees...)
			if err != nil {
				return withCode(ExitInvalid, err)
			}
			if len(cat.Standards) == 0 {
				return withCode(ExitInvalid, fmt.Errorf("no standard found in %s (a standard is a directory with %s)", strings.Join(args, ", "), checks.StandardFile))
			}
			if !replacesBuiltin(cat) {
				if _, err := checks.Load(append([]checks.Tree{builtin}, trees...)...); err != nil {
					return withCode(ExitInvalid, err)
				}
			}
			for _, s := range cat.Standards {
				fmt.Fprintf(g.stdout, "%s: standard %s: %d items OK\n", s.Origin, s.ID, len(s.Items))
			}
			return nil
		},
	}
	return validate
}

// replacesBuiltin reports whether a loaded catalog holds a standard of the
// built-in ones (a copy of benchmarks/ being edited).
func replacesBuiltin(cat *checks.Catalog) bool {
	builtin, err := checks.Load(benchmarks.Tree())
	if err != nil {
		return false
	}
	for _, s := range cat.Standards {
		if _, ok := builtin.Standard(s.ID); ok {
			return true
		}
	}
	return false
}

func showItem(g *globals, it *checks.Item) {
	w := g.stdout
	a := "manual"
	if it.Automated {
		a = "automated"
	}
	fmt.Fprintf(w, "%d  %s %s  %s\n", it.ID, it.Standard.ID, it.Number, it.Title)
	fmt.Fprintf(w, "category: %s\nasset type: %s\nrisk: %s\nassessment: %s (scored: %v, level %d)\ndefined at: %s\n",
		it.Category, it.AssetType, it.Risk, a, it.Scored, it.Level, it.Pos)
	for _, sec := range []struct{ name, text string }{
		{"Description", it.Description}, {"Rationale", it.Rationale}, {"Audit", it.Procedure},
		{"Remediation", it.Remediation}, {"Default value", it.Default},
	} {
		if sec.text != "" {
			fmt.Fprintf(w, "\n%s:\n  %s\n", sec.name, strings.ReplaceAll(sec.text, "\n", "\n  "))
		}
	}
	if it.Source != nil {
		fmt.Fprintf(w, "\nSource: %s\n", it.Source.Describe())
	}
	for _, r := range it.References {
		fmt.Fprintf(w, "Reference: %s\n", r)
	}
}

func newTable(g *globals) table.Writer {
	t := table.NewWriter()
	t.SetOutputMirror(g.stdout)
	t.SetStyle(table.StyleLight)
	return t
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
