package sqlite

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/storetest"
)

// The store is created readable by its owner only: the data directory
// (and the parents it creates) 0700, the database and its -wal and -shm
// files 0600, whatever the umask lets through; the signatures' file, which
// only the first signature used creates, too. An existing directory
// open to others is left as it is, with a warning in the log.
func TestStoreFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "parent", "data")
	db, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := storetest.New(t, db, storetest.NewClock())
	f.Standard(t) // writes through the write-ahead log
	sigPath := SignaturesPath(filepath.Join(dir, FileName))
	if _, err := os.Stat(sigPath); !os.IsNotExist(err) {
		t.Errorf("the signatures' file exists before any signature is used: %v", err)
	}
	now := time.Now()
	if _, seen, err := db.UseSignature(ctx, store.SignatureUse{Signature: "ab12", Action: "DescribeComplianceTaskAssetSummary",
		At: now, Until: now.Add(5 * time.Minute)}); err != nil || seen {
		t.Fatalf("first use of a signature: seen %v, %v", seen, err)
	}
	if _, seen, err := db.UseSignature(ctx, store.SignatureUse{Signature: "ab12", Action: "DescribeComplianceTaskAssetSummary",
		At: now, Until: now.Add(5 * time.Minute)}); err != nil || !seen {
		t.Errorf("second use of the signature: seen %v, %v", seen, err)
	}
	mode := func(path string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	for path, want := range map[string]os.FileMode{
		filepath.Dir(dir):                   0o700,
		dir:                                 0o700,
		filepath.Join(dir, FileName):        0o600,
		filepath.Join(dir, FileName+"-wal"): 0o600,
		filepath.Join(dir, FileName+"-shm"): 0o600,
		sigPath:                             0o600,
		sigPath + "-wal":                    0o600,
	} {
		if got := mode(path); got != want {
			t.Errorf("%s: mode %#o, want %#o", filepath.Base(path), got, want)
		}
	}

	open := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	db2, err := Open(ctx, open, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if got := mode(open); got != 0o755 {
		t.Errorf("an existing directory was changed to %#o", got)
	}
	if got := mode(filepath.Join(open, FileName)); got != 0o600 {
		t.Errorf("the store in an open directory: mode %#o, want 0600", got)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "dir="+open) || !strings.Contains(logs.String(), "mode=0755") {
		t.Errorf("no warning about the open directory:\n%s", logs.String())
	}
}
