package cli

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/internal/version"
	"github.com/baselinehq/baseline/report"
)

func newReportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Export reports for auditors and pipelines, and verify them"}
	var by, typ, format, output string
	var ids []string
	var task int64
	export := &cobra.Command{
		Use:   "export",
		Short: "Export results by asset or by item: xlsx, csv, json, html, sarif, junit, pdf",
		Long: `Export the latest results (or one task's, with --task) by asset or by item,
for one asset type or all, for all assets/items or the given ids. Every export
carries a SHA-256 digest of the results it was built from and of its own
content, and is signed with the signing key (see baseline report key);
baseline report verify FILE checks that nobody edited it, and
baseline report verify --key PUBLIC.pem FILE that it was signed with that key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			enc, err := report.EncoderFor(format)
			if err != nil {
				return err
			}
			q := report.ExportQuery{By: report.By(by), TaskID: task}
			if q.By != report.ByAssetGroup && q.By != report.ByItemGroup {
				return fmt.Errorf("--by: %q is not asset or item", by)
			}
			if typ != "" {
				t, err := assets.ParseType(typ)
				if err != nil {
					return fmt.Errorf("--type: %w", err)
				}
				q.AssetType = t
			}
			if q.IDs, err = parseIDs("--ids", ids); err != nil {
				return err
			}
			if output == "" {
				output = "baseline-report" + enc.Ext()
			}
			ctx := cmd.Context()
			db, err := openStore(ctx, g)
			if err != nil {
				return err
			}
			defer db.Close()
			cat, err := loadCatalog(g)
			if err != nil {
				return err
			}
			src, err := report.NewStoreSource(ctx, db, cat, q, version.String(), time.Now())
			if err != nil {
				return err
			}
			if src.Meta().ResultCount == 0 {
				return fmt.Errorf("nothing to export: no result matches (run baseline scan first)")
			}
			signer, err := loadSigner(g.signingKey, g.dataDir)
			if err != nil {
				return err
			}
			err = writeFileAtomic(output, func(f *os.File) error {
				return report.Export(ctx, enc, f, src, signer, progressFunc(g, "auto"))
			})
			if err == nil {
				fmt.Fprintf(g.stdout, "Exported %d results to %s.\n", src.Meta().ResultCount, output)
			}
			return err
		},
	}
	fl := export.Flags()
	fl.StringVar(&by, "by", "asset", "group by asset or item")
	fl.StringVar(&typ, "type", "", "asset type (default: all)")
	fl.StringSliceVar(&ids, "ids", nil, "only these asset ids (--by asset) or item ids (--by item)")
	fl.Int64Var(&task, "task", 0, "export this task's results (default: the latest results)")
	fl.StringVar(&format, "format", "xlsx", "xlsx, csv, json, html, sarif, junit or pdf")
	fl.StringVarP(&output, "output", "o", "", "file to write (default baseline-report.EXT); written whole or not at all")

	cmd.AddCommand(export, newReportVerifyCmd(g), newReportKeyCmd(g))
	return cmd
}

func newReportVerifyCmd(g *globals) *cobra.Command {
	var keyFile string
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an export's content digest (and with --key its signature): exit 0 when intact, 1 when not",
		Long: `Check an export's content digest: exit 0 when intact, 1 when edited. The
signer's fingerprint that the export names is printed, which proves nothing
by itself. With --key PUBLIC.pem (the output of baseline report key on the
machine that exported it), also prove where it came from: exit 0 only when
the export is intact and its signature verifies with that key; 1 when it is
unsigned, signed by another key, or edited.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var pub ed25519.PublicKey
			if keyFile != "" {
				pemData, err := os.ReadFile(keyFile)
				if err != nil {
					return fmt.Errorf("--key: %w", err)
				}
				if pub, err = report.ParsePublicKey(pemData); err != nil {
					return fmt.Errorf("--key %s: %w", keyFile, err)
				}
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			v, err := report.VerifyExport(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if !v.Intact {
				return fmt.Errorf("%s: EDITED: the content does not match its digest %s", args[0], v.Content)
			}
			if pub != nil {
				if err := v.CheckSignature(pub); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
			}
			fmt.Fprintf(g.stdout, "%s: intact\ncontent sha256: %s\nresults sha256: %s\n", args[0], v.Content, v.Results)
			switch {
			case pub != nil:
				fmt.Fprintf(g.stdout, "signature: valid, by the key %s (%s)\n", keyFile, v.Signer)
			case v.Signed():
				fmt.Fprintf(g.stdout, "signed by: sha256 %s (not checked: give the signer's public key with --key)\n", v.Signer)
			default:
				fmt.Fprintln(g.stdout, "signature: none")
			}
			return nil
		},
	}
	verify.Flags().StringVar(&keyFile, "key", "", "public key (PEM) that must have signed the export")
	return verify
}

// writeFileAtomic streams into a temporary file beside path and renames
// it into place only when write succeeded: the file is whole or absent.
func writeFileAtomic(path string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("--output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
