package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/store"
)

// Every format exports a real scan, verifies intact and signed with the
// key `report key` prints (and with no other key), and fails verification
// after a one-byte edit; the JSON export's summary figures equal
// `baseline summary`.
func TestExportEveryFormatOfARealScan(t *testing.T) {
	e := setupCLIEnv(t)
	dir := t.TempDir()
	pubFile, otherFile := filepath.Join(dir, "baseline.pub"), filepath.Join(dir, "other.pub")
	writePublicKey(t, pubFile, e.ok("report", "key"))
	writePublicKey(t, otherFile, string(otherPublicKey(t)))
	for _, enc := range report.Encoders() {
		for _, by := range []string{"asset", "item"} {
			path := filepath.Join(dir, by+enc.Ext())
			out := e.ok("report", "export", "--format", enc.Format(), "--by", by, "-o", path)
			if !strings.Contains(out, "Exported") {
				t.Errorf("%s by %s: %q", enc.Format(), by, out)
			}
			if out := e.ok("report", "verify", path); !strings.Contains(out, "intact") || !strings.Contains(out, "signed by: sha256 ") {
				t.Errorf("%s by %s: verify said %q", enc.Format(), by, out)
			}
			if out := e.ok("report", "verify", "--key", pubFile, path); !strings.Contains(out, "signature: valid") {
				t.Errorf("%s by %s: verify --key said %q", enc.Format(), by, out)
			}
			if code, _, stderr := run(t, "report", "verify", "--key", otherFile, path); code != ExitError || !strings.Contains(stderr, "SIGNED BY ANOTHER KEY") {
				t.Errorf("%s by %s: verify with another key: exit %d, %s", enc.Format(), by, code, stderr)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			edited := append([]byte(nil), data...)
			i := len(edited) / 3
			edited[i] ^= 0x01
			if err := os.WriteFile(path, edited, 0o644); err != nil {
				t.Fatal(err)
			}
			if code, _, stderr := run(t, "report", "verify", path); code == ExitOK {
				t.Errorf("%s by %s: an edited export verified (%s)", enc.Format(), by, stderr)
			}
			if code, _, stderr := run(t, "report", "verify", "--key", pubFile, path); code != ExitError {
				t.Errorf("%s by %s: an edited export verified with --key (%s)", enc.Format(), by, stderr)
			}
		}
	}
	var doc struct {
		Meta report.Meta
	}
	e.ok("report", "export", "--format", "json", "-o", filepath.Join(dir, "all.json"))
	data, err := os.ReadFile(filepath.Join(dir, "all.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var sums []store.AssetSummary
	e.json(&sums, "summary")
	if len(sums) == 0 || len(doc.Meta.Summary) != len(sums) {
		t.Fatalf("summary rows: export %d, baseline summary %d", len(doc.Meta.Summary), len(sums))
	}
	for i := range sums {
		if doc.Meta.Summary[i] != sums[i] {
			t.Errorf("%s: export %+v\nsummary %+v", sums[i].AssetType, doc.Meta.Summary[i], sums[i])
		}
	}
	if doc.Meta.ResultCount == 0 || len(doc.Meta.TaskIDs) == 0 || len(doc.Meta.Standards) == 0 || len(doc.Meta.Hosts) == 0 {
		t.Errorf("meta = %+v", doc.Meta)
	}
	if code, _, stderr := run(t, "report", "export", "--format", "docx"); code != ExitError || !strings.Contains(stderr, "xlsx") {
		t.Errorf("unknown format: exit %d %s", code, stderr)
	}
}
