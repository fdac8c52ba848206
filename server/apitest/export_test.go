package apitest

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testbin"
	"github.com/baselinehq/baseline/report"
)

// The export job through the official SDK's client: RUNNING then SUCCESS
// with a download link that the daemon serves, whose file verifies and is
// signed with the daemon's key (DATA_DIR/signing.key, mode 0600, whose
// public key baseline report key prints); a
// link with a forged signature is refused; a bad request is FAILURE or an
// error naming the parameter.
func TestExportJobThroughTheSDK(t *testing.T) {
	cli := dockertest.Engine(t)
	dockertest.Create(t, cli, dockertest.Name("export-priv"), &container.Config{Image: "baseline-test/base:1"}, &container.HostConfig{Privileged: true})
	bin := binary(t)
	data := t.TempDir()
	scanOnce(t, bin, data)
	d := startDaemon(t, bin, data)
	c := newClient(t, d.addr, fullID, fullKey)
	if st, err := os.Stat(filepath.Join(data, "signing.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the daemon's signing key: %v, %v; want DATA_DIR/signing.key, mode 0600", st, err)
	}
	pub, err := report.ParsePublicKey(testbin.Run(t, bin, "report", "key", "--data-dir", data))
	if err != nil {
		t.Fatalf("report key: %v", err)
	}

	for _, format := range []string{"xlsx", "csv", "json", "html", "sarif", "junit", "pdf"} {
		var created struct{ JobId string }
		c.ok("CreateExportComplianceStatusListJob", map[string]any{"AssetType": "ASSET_CONTAINER", "ExportByAsset": true, "ExportAll": true, "Format": format}, &created)
		if created.JobId == "" {
			t.Fatalf("%s: no JobId", format)
		}
		var res struct {
			ExportStatus   string
			ExportProgress float64
			DownloadURL    string
			FailureMsg     string
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			c.ok("DescribeExportJobResult", map[string]any{"JobId": created.JobId}, &res)
			if res.ExportStatus != "RUNNING" {
				break
			}
		}
		if res.ExportStatus != "SUCCESS" || res.ExportProgress != 100 || !strings.HasPrefix(res.DownloadURL, "http://"+d.addr+"/exports/") {
			t.Fatalf("%s: job = %+v", format, res)
		}
		resp, err := http.Get(res.DownloadURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: download: HTTP %d %s", format, resp.StatusCode, body)
		}
		if v, err := report.VerifyExport(body); err != nil || !v.Intact {
			t.Errorf("%s: the downloaded export does not verify: %v", format, err)
		} else if err := v.CheckSignature(pub); err != nil {
			t.Errorf("%s: the downloaded export's signature, with the daemon's public key: %v", format, err)
		}
		forged := strings.Replace(res.DownloadURL, "Signature=", "Signature=00", 1)
		if resp, err := http.Get(forged); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: a forged link: %v %v", format, resp.StatusCode, err)
		}
	}
	c.fails("MissingParameter", "CreateExportComplianceStatusListJob", map[string]any{"AssetType": "ASSET_CONTAINER", "ExportAll": true}, "ExportByAsset")
	c.fails("MissingParameter", "CreateExportComplianceStatusListJob", map[string]any{"AssetType": "ASSET_CONTAINER", "ExportByAsset": true, "ExportAll": false}, "IdList")
	c.fails("InvalidParameterValue", "CreateExportComplianceStatusListJob", map[string]any{"AssetType": "ASSET_CONTAINER", "ExportByAsset": true, "ExportAll": true, "Format": "docx"}, "Format")
	c.fails("ResourceNotFound", "DescribeExportJobResult", map[string]any{"JobId": "nope"}, "nope")
	ro := newClient(t, d.addr, roID, roKey)
	ro.fails("AuthFailure.UnauthorizedOperation", "CreateExportComplianceStatusListJob", map[string]any{"AssetType": "ASSET_CONTAINER", "ExportByAsset": true, "ExportAll": true})
}
