package server

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/internal/version"
	"github.com/baselinehq/baseline/report"
)

// Export job statuses.
const (
	exportRunning = "RUNNING"
	exportSuccess = "SUCCESS"
	exportFailure = "FAILURE"
)

// downloadTTL is how long a download link stays valid, never beyond its
// export; exportTTL how long a finished export is kept (its file is then
// removed, and so are the files a previous process left).
const (
	downloadTTL = time.Hour
	exportTTL   = 24 * time.Hour
)

// exportJob is one CreateExportComplianceStatusListJob.
type exportJob struct {
	id       string
	ext      string
	secretID string
	created  time.Time

	mu       sync.Mutex
	status   string
	done     int
	total    int
	path     string
	failure  string
	finished time.Time
}

// expires is when a finished job is pruned, in Unix seconds (as links
// carry it); 0 while it runs.
func (j *exportJob) expires() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.status == exportRunning {
		return 0
	}
	return j.finished.Add(exportTTL).Unix()
}

func (j *exportJob) snapshot() (status string, progress float64, failure string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	progress = 100
	if j.status == exportRunning {
		progress = 0
		if j.total > 0 {
			progress = float64(int(1000*float64(j.done)/float64(j.total))) / 10
		}
	}
	return j.status, progress, j.failure
}

// exports runs export jobs and keeps their files in a directory.
type exports struct {
	dir  string
	mu   sync.Mutex
	jobs map[string]*exportJob
	wg   sync.WaitGroup
	// signer signs every export (nil: unsigned).
	signer *report.Signer
}

func (e *exports) get(id string) (*exportJob, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.jobs[id]
	return j, ok
}

// prune forgets finished jobs older than exportTTL and removes their files.
func (e *exports) prune(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, j := range e.jobs {
		j.mu.Lock()
		old := j.status != exportRunning && now.Sub(j.finished) > exportTTL
		path := j.path
		j.mu.Unlock()
		if old {
			if path != "" {
				_ = os.Remove(path)
			}
			delete(e.jobs, id)
		}
	}
}

// openExportDir makes the exports directory (0700; a warning when an
// existing one is open to others) and removes what a previous process
// left in it: its jobs are gone with it, so their files would be neither
// served nor pruned. Without a directory, a new private one is made.
func openExportDir(dir string, log *slog.Logger) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "baseline-exports-")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("exports directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("exports directory: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		log.Warn("exports directory is open to other users; consider chmod 700", "dir", dir, "mode", fmt.Sprintf("%#o", perm))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("exports directory: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			log.Warn("could not remove an export left by a previous process", "file", filepath.Join(dir, e.Name()), "err", err)
			continue
		}
		removed++
	}
	if removed > 0 {
		log.Info("removed exports left by a previous process", "dir", dir, "files", removed)
	}
	return dir, nil
}

func createExportJob(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.CreateExportComplianceStatusListJobRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	switch {
	case req.AssetType == "":
		return nil, errorf(api.MissingParameter, "AssetType is required")
	case req.ExportByAsset == nil:
		return nil, errorf(api.MissingParameter, "ExportByAsset is required")
	case req.ExportAll == nil:
		return nil, errorf(api.MissingParameter, "ExportAll is required")
	case !*req.ExportAll && len(req.IdList) == 0:
		return nil, errorf(api.MissingParameter, "IdList is required when ExportAll is false")
	case len(req.Filters) > 0:
		return nil, errorf(api.InvalidParameterValue, "Filters are not supported for exports; use IdList")
	}
	at, err := assetType(req.AssetType)
	if err != nil {
		return nil, err
	}
	if req.Format == "" {
		req.Format = "xlsx"
	}
	enc, err := report.EncoderFor(req.Format)
	if err != nil {
		return nil, errorf(api.InvalidParameterValue, "Format: %s", strings.TrimPrefix(err.Error(), "--format: "))
	}
	q := report.ExportQuery{By: report.ByItemGroup, AssetType: at, TaskID: req.TaskId}
	if *req.ExportByAsset {
		q.By = report.ByAssetGroup
	}
	if !*req.ExportAll {
		q.IDs = req.IdList
	}
	key, _ := ctx.Value(keyContext{}).(Key)
	job := &exportJob{id: newRequestID(), ext: enc.Ext(), secretID: key.SecretID, created: s.now(), status: exportRunning}
	s.exports.prune(s.now())
	s.exports.mu.Lock()
	s.exports.jobs[job.id] = job
	s.exports.mu.Unlock()
	s.exports.wg.Add(1)
	go func() {
		defer s.exports.wg.Done()
		err := s.runExport(context.WithoutCancel(ctx), job, enc, q)
		job.mu.Lock()
		defer job.mu.Unlock()
		job.finished = s.now()
		// Pruned once expired, even if no request comes to prune it.
		time.AfterFunc(exportTTL+time.Minute, func() { s.exports.prune(s.now()) })
		if err != nil {
			job.status, job.failure = exportFailure, err.Error()
			s.log.Warn("export failed", "job", job.id, "err", err)
			return
		}
		job.status = exportSuccess
	}()
	return api.CreateExportComplianceStatusListJobResponse{JobId: job.id}, nil
}

// runExport writes the export to the exports directory, whole or not at all.
func (s *Server) runExport(ctx context.Context, job *exportJob, enc report.Encoder, q report.ExportQuery) error {
	src, err := report.NewStoreSource(ctx, s.store, s.runner.Catalog(), q, version.String(), s.now())
	if err != nil {
		return err
	}
	job.mu.Lock()
	job.total = src.Meta().ResultCount
	job.mu.Unlock()
	if err := os.MkdirAll(s.exports.dir, 0o700); err != nil {
		return err
	}
	final := filepath.Join(s.exports.dir, job.id+job.ext)
	tmp, err := os.CreateTemp(s.exports.dir, ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = report.Export(ctx, enc, tmp, src, s.exports.signer, func(done, total int) {
		job.mu.Lock()
		job.done = done
		job.mu.Unlock()
	})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return err
	}
	job.mu.Lock()
	job.path = final
	job.mu.Unlock()
	return nil
}

func describeExportJob(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeExportJobResultRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.JobId == "" {
		return nil, errorf(api.MissingParameter, "JobId is required")
	}
	s.exports.prune(s.now())
	job, ok := s.exports.get(req.JobId)
	if !ok {
		return nil, errorf(api.ResourceNotFound, "JobId %q is not a known export job (finished exports are kept %s)", req.JobId, exportTTL)
	}
	status, progress, failure := job.snapshot()
	out := api.DescribeExportJobResultResponse{ExportStatus: status, ExportProgress: progress, FailureMsg: failure}
	if status == exportSuccess {
		base, _ := ctx.Value(baseURLContext{}).(string)
		out.DownloadURL = s.downloadURL(base, job)
	}
	return out, nil
}

// downloadURL is a link that expires (in downloadTTL, or with the export
// if sooner), signed with the key that created the job:
// GET /exports/JOB.EXT?SecretId=..&Expires=..&Signature=..
func (s *Server) downloadURL(base string, job *exportJob) string {
	expires := min(s.now().Add(downloadTTL).Unix(), job.expires())
	key := s.keys[job.secretID]
	v := url.Values{"SecretId": {job.secretID}, "Expires": {strconv.FormatInt(expires, 10)}, "Signature": {api.DownloadSignature(key.SecretKey, job.id, expires)}}
	return base + "/exports/" + job.id + job.ext + "?" + v.Encode()
}

// serveDownload serves a finished export to the holder of a valid link
// that expires no later than the export.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	s.exports.prune(s.now())
	name := strings.TrimPrefix(r.URL.Path, "/exports/")
	id := strings.TrimSuffix(name, filepath.Ext(name))
	job, ok := s.exports.get(id)
	fail := func(code int, msg string) { http.Error(w, msg, code) }
	if !ok || job.id+job.ext != name {
		fail(http.StatusNotFound, "no such export")
		return
	}
	q := r.URL.Query()
	expires, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	key, known := s.keys[q.Get("SecretId")]
	switch {
	case err != nil || !known || q.Get("SecretId") != job.secretID:
		fail(http.StatusForbidden, "the link is not valid")
		return
	case s.now().Unix() > expires:
		fail(http.StatusForbidden, "the link has expired; ask DescribeExportJobResult for a new one")
		return
	case !hmac.Equal([]byte(api.DownloadSignature(key.SecretKey, job.id, expires)), []byte(q.Get("Signature"))):
		fail(http.StatusForbidden, "the link is not valid")
		return
	}
	status, _, _ := job.snapshot()
	if status != exportSuccess {
		fail(http.StatusConflict, "the export is not ready")
		return
	}
	if until := job.expires(); expires > until {
		fail(http.StatusForbidden, fmt.Sprintf("the link outlives the export, which is kept until %s; ask DescribeExportJobResult for a link", time.Unix(until, 0).UTC().Format(time.DateTime)))
		return
	}
	job.mu.Lock()
	path := job.path
	job.mu.Unlock()
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "baseline-export"+job.ext))
	http.ServeFile(w, r, path)
}

// keyContext carries the authenticated key; baseURLContext the server's
// base URL as the caller reached it.
type (
	keyContext     struct{}
	baseURLContext struct{}
)

// WaitExports waits for running export jobs (graceful shutdown).
func (s *Server) WaitExports(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.exports.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("export jobs still running at shutdown")
	}
}
