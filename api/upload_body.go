package api

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// UploadBody is a ScanUpload's JSON document written to a file as a
// scan's results come, so that the scanning process holds none of them:
// the results first (Add, once per judged asset), then, when the scan has
// ended, the rest of the upload (Finish). The document decodes as the
// upload NewScanUpload makes of the same report with its results. The
// file is unlinked as soon as it is created, so nothing of it outlives
// the process however it ends; its SHA-256, which the request's signature
// covers, is computed as it is written, and the document can be read
// again for each attempt to send it.
type UploadBody struct {
	f    *os.File
	w    *bufio.Writer
	sum  hash.Hash
	n    int // results written
	size int64
	err  error
	done bool
}

// uploadHead opens the document: its results come first.
const uploadHead = `{"Results":[`

// NewUploadBody creates the document's file in dir (the system's
// temporary directory when empty).
func NewUploadBody(dir string) (*UploadBody, error) {
	f, err := os.CreateTemp(dir, "baseline-upload-*")
	if err != nil {
		return nil, fmt.Errorf("upload spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("upload spool: %w", err)
	}
	b := &UploadBody{f: f, sum: sha256.New()}
	b.w = bufio.NewWriterSize(io.MultiWriter(f, b.sum), 64<<10)
	b.write([]byte(uploadHead))
	return b, nil
}

// write appends p; the first error is kept.
func (b *UploadBody) write(p []byte) {
	if b.err != nil {
		return
	}
	n, err := b.w.Write(p)
	b.size += int64(n)
	b.err = err
}

// Add writes results of the upload. A write error is kept and returned
// by Finish.
func (b *UploadBody) Add(rs []results.Result) {
	if b.done && b.err == nil {
		b.err = errors.New("upload body: results added after Finish")
	}
	for i := range rs {
		if b.err != nil {
			return
		}
		data, err := json.Marshal(&rs[i])
		if err != nil {
			b.err = err
			return
		}
		if b.n > 0 {
			b.write([]byte{','})
		}
		b.write(data)
		b.n++
	}
}

// uploadTail is ScanUpload without its Results, which the document holds
// ahead of it (a test keeps the two in step).
type uploadTail struct {
	Scope            store.Scope            `json:"Scope"`
	StartedAt        time.Time              `json:"StartedAt"`
	FinishedAt       time.Time              `json:"FinishedAt"`
	Host             *assets.Asset          `json:"Host,omitempty"`
	Assets           []assets.Asset         `json:"Assets"`
	ScanFailedAssets []results.AssetFailure `json:"ScanFailedAssets"`
	IdempotencyKey   string                 `json:"IdempotencyKey,omitempty"`
}

// Finish ends the document with the rest of the upload of rep, as
// NewScanUpload makes it of scope and rep, under the idempotency key
// (none when empty). Results rep still holds are written first. It
// returns the first error met since the document was created.
func (b *UploadBody) Finish(scope store.Scope, rep *results.Report, idempotencyKey string) error {
	if b.done {
		return errors.New("upload body: finished twice")
	}
	b.Add(rep.Results)
	b.done = true
	u := NewScanUpload(scope, rep)
	tail, err := json.Marshal(uploadTail{Scope: u.Scope, StartedAt: u.StartedAt, FinishedAt: u.FinishedAt, Host: u.Host,
		Assets: u.Assets, ScanFailedAssets: u.ScanFailedAssets, IdempotencyKey: idempotencyKey})
	if err != nil && b.err == nil {
		b.err = err
	}
	b.write([]byte("],"))
	b.write(tail[1:]) // its members, after the results
	if b.err == nil {
		b.err = b.w.Flush()
	}
	return b.err
}

// Reader reads the finished document from its start; each call gives a
// reader of its own (one per attempt to send it). size is its length in
// bytes.
func (b *UploadBody) Reader() (r io.Reader, size int64) {
	return io.NewSectionReader(b.f, 0, b.size), b.size
}

// SHA256 is the finished document's SHA-256, in lower-case hex.
func (b *UploadBody) SHA256() string { return hex.EncodeToString(b.sum.Sum(nil)) }

// Close releases the document's file.
func (b *UploadBody) Close() error { return b.f.Close() }
