package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
)

func writePublicKey(t *testing.T, path, keyOutput string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(keyOutput), 0o644); err != nil {
		t.Fatal(err)
	}
}

func otherPublicKey(t *testing.T) []byte {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := report.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pemData
}

// `report key` creates DATA_DIR/signing.key (0600) on first use, prints
// the same public key and fingerprint every time, and refuses a key file
// that others may read or that is not a key.
func TestReportKey(t *testing.T) {
	data := getenvDataDir(t)
	code, out, stderr := run(t, "report", "key")
	if code != ExitOK {
		t.Fatalf("report key: exit %d: %s", code, stderr)
	}
	pub, err := report.ParsePublicKey([]byte(out))
	if err != nil {
		t.Fatalf("report key printed no PEM public key: %v\n%s", err, out)
	}
	if !strings.Contains(out, "fingerprint sha256: "+report.Fingerprint(pub)+"\n") {
		t.Fatalf("report key: no fingerprint line:\n%s", out)
	}
	keyFile := filepath.Join(data, "signing.key")
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("signing key: %v, %v; want mode 0600", st, err)
	}
	if _, again, _ := run(t, "report", "key"); again != out {
		t.Fatalf("second report key differs:\n%s\n%s", out, again)
	}
	// --signing-key and BASELINE_SIGNING_KEY name another key.
	other := filepath.Join(t.TempDir(), "other.key")
	if _, byFlag, _ := run(t, "report", "key", "--signing-key", other); byFlag == out || !strings.HasPrefix(byFlag, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("--signing-key: %q", byFlag)
	}
	t.Setenv("BASELINE_SIGNING_KEY", other)
	if _, byEnv, _ := run(t, "report", "key"); byEnv == out {
		t.Fatal("BASELINE_SIGNING_KEY: the data directory's key was used")
	}
	t.Setenv("BASELINE_SIGNING_KEY", "")
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "report", "key"); code != ExitError || !strings.Contains(stderr, "chmod 600") {
		t.Fatalf("world-readable key: exit %d, %s", code, stderr)
	}
	if err := os.WriteFile(keyFile, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "report", "key"); code != ExitError || !strings.Contains(stderr, "not a PEM PRIVATE KEY") {
		t.Fatalf("malformed key: exit %d, %s", code, stderr)
	}
}

// An export written without a key (by a library caller) verifies intact
// and says it is unsigned; with --key it fails: nothing proves its origin.
func TestReportVerifyUnsigned(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	src := &report.SliceSource{M: report.Meta{SchemaVersion: report.ExportSchemaVersion, GeneratedAt: at, By: report.ByAssetGroup, ResultCount: 1},
		R: []results.Row{{ItemID: 1, AssetID: 2, Status: "CHECK_FINISHED", Result: "RESULT_PASSED", CheckedAt: at.Format(time.DateTime), TaskID: 1}}}
	enc, _ := report.EncoderFor("csv")
	var buf bytes.Buffer
	if err := report.Export(context.Background(), enc, &buf, src, nil, nil); err != nil {
		t.Fatal(err)
	}
	path, pubFile := filepath.Join(dir, "unsigned.csv"), filepath.Join(dir, "key.pub")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	writePublicKey(t, pubFile, string(otherPublicKey(t)))
	if code, out, stderr := run(t, "report", "verify", path); code != ExitOK || !strings.Contains(out, "signature: none") {
		t.Fatalf("verify: exit %d, %q %s", code, out, stderr)
	}
	if code, _, stderr := run(t, "report", "verify", "--key", pubFile, path); code != ExitError || !strings.Contains(stderr, "NOT SIGNED") {
		t.Fatalf("verify --key of an unsigned export: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "report", "verify", "--key", path, path); code != ExitError || !strings.Contains(stderr, "--key") {
		t.Fatalf("verify --key with a non-key: exit %d, %s", code, stderr)
	}
}
