package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/baselinehq/baseline/api"
)

// inMemoryBody is how much of a request body is held in memory before its
// signature is checked. API parameters take a few hundred bytes; a longer
// body (an upload) is spooled to a file until the signature holds, so that
// memory does not grow with what unauthenticated clients send.
const inMemoryBody = 64 << 10

// DefaultMaxSpooledBodies is how many bodies longer than inMemoryBody may
// be received at once before their signatures are checked.
const DefaultMaxSpooledBodies = 8

// spoolWait is how long a long body waits for a spool slot before the
// request is refused with RequestLimitExceeded.
const spoolWait = 15 * time.Second

// requestBody is a request body read before its signature is checked:
// hashed as it arrived, held in memory when short, otherwise in a
// temporary file (mode 0600, unlinked at once: nothing is left behind).
type requestBody struct {
	head    []byte
	file    *os.File
	size    int64
	sha256  string // lower-case hex
	release func() // frees the spool slot
}

// bytes returns the whole body: once its signature holds.
func (b *requestBody) bytes() ([]byte, error) {
	if b.file == nil {
		return b.head, nil
	}
	if _, err := b.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	buf := make([]byte, b.size)
	if _, err := io.ReadFull(b.file, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// close removes the spooled part and frees its slot.
func (b *requestBody) close() {
	if b.file != nil {
		b.file.Close()
	}
	if b.release != nil {
		b.release()
	}
}

// readBody reads r's body, at most limit bytes (limitKey names the
// setting), hashing it as it goes: the first inMemoryBody bytes in memory,
// the rest in a spool file while one of the server's spool slots is free.
// A body declared longer than limit is refused before it is read.
func (s *Server) readBody(r *http.Request, limit int64, limitKey string) (*requestBody, *api.Error) {
	tooLarge := func() *api.Error {
		return errorf(api.RequestSizeLimitExceeded, "the request body exceeds %d bytes, the daemon's %s", limit, limitKey)
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	h := sha256.New()
	in := io.TeeReader(io.LimitReader(r.Body, limit+1), h)
	inMemory := min(limit, inMemoryBody)
	var head bytes.Buffer
	n, err := head.ReadFrom(io.LimitReader(in, inMemory+1))
	if err != nil {
		return nil, readError(err)
	}
	b := &requestBody{head: head.Bytes(), size: n}
	if n > inMemory {
		if limit <= inMemory {
			return nil, tooLarge()
		}
		if apiErr := s.spool(r, b, in); apiErr != nil {
			b.close()
			return nil, apiErr
		}
		if b.size > limit {
			b.close()
			return nil, tooLarge()
		}
	}
	b.sha256 = hex.EncodeToString(h.Sum(nil))
	return b, nil
}

// spool moves a long body to an unlinked temporary file: its head, then
// the rest of in. It waits for a spool slot first, so that at most
// MaxSpooledBodies are received at once before their signatures are
// checked.
func (s *Server) spool(r *http.Request, b *requestBody, in io.Reader) *api.Error {
	wait := time.NewTimer(spoolWait)
	defer wait.Stop()
	select {
	case s.spools <- struct{}{}:
		b.release = func() { <-s.spools }
	case <-wait.C:
		return errorf(api.RequestLimitExceeded, "%d long request bodies are being received; retry later", cap(s.spools))
	case <-r.Context().Done():
		return errorf(api.InvalidParameter, "reading the request body: %v", r.Context().Err())
	}
	if err := os.MkdirAll(s.spoolDir, 0o700); err != nil {
		return errorf(api.InternalError, "spooling the request body: %v", err)
	}
	f, err := os.CreateTemp(s.spoolDir, "body-*")
	if err != nil {
		return errorf(api.InternalError, "spooling the request body: %v", err)
	}
	b.file = f
	if err := os.Remove(f.Name()); err != nil {
		return errorf(api.InternalError, "spooling the request body: %v", err)
	}
	if _, err := f.Write(b.head); err != nil {
		return errorf(api.InternalError, "spooling the request body: %v", err)
	}
	b.head = nil
	n, err := io.Copy(f, in)
	b.size += n
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return errorf(api.InternalError, "spooling the request body: %v", err)
		}
		return readError(err)
	}
	return nil
}

func readError(err error) *api.Error {
	return errorf(api.InvalidParameter, "reading the request body: %v", err)
}
