package cli

import "github.com/spf13/cobra"

func newScanCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "scan", Short: "Scan this host"}
}
