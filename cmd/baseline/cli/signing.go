package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/baselinehq/baseline/report"
)

// signingKeyFile is the signing key's name in the data directory.
const signingKeyFile = "signing.key"

// signingKeyPath is --signing-key (BASELINE_SIGNING_KEY, configuration
// signing_key), else the data directory's signing.key.
func signingKeyPath(keyFlag, dataDir string) string {
	if keyFlag != "" {
		return keyFlag
	}
	return filepath.Join(dataDir, signingKeyFile)
}

// loadSigner reads the key that signs exports, generating it on first use.
func loadSigner(keyFlag, dataDir string) (*report.Signer, error) {
	s, err := report.LoadSigner(signingKeyPath(keyFlag, dataDir), true)
	if err != nil {
		return nil, fmt.Errorf("%w (set --signing-key, BASELINE_SIGNING_KEY or signing_key in the configuration)", err)
	}
	return s, nil
}

func newReportKeyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "key",
		Short: "Print the public key that signs exports, and its fingerprint",
		Long: `Print the public key (PEM, PKIX) of the key that signs every export, and
its SHA-256 fingerprint (of the PKIX DER encoding). The private key is
--signing-key, BASELINE_SIGNING_KEY or signing_key in the configuration,
else signing.key in the data directory, generated on first use (mode 0600).
Give the public key to whoever must check where an export came from:
baseline report verify --key PUBLIC.pem FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSigner(g.signingKey, g.dataDir)
			if err != nil {
				return err
			}
			pem, err := report.MarshalPublicKey(s.Public())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%sfingerprint sha256: %s\n", pem, s.Fingerprint())
			return nil
		},
	}
}
