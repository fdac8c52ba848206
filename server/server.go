// Package server serves the compliance API: one endpoint, POST / with a
// JSON body, the action and version in X-TC-* headers, every request
// signed with TC3-HMAC-SHA256, every response in the
// {"Response": {..., "RequestId"}} envelope.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/store"
)

// Options configure a server.
type Options struct {
	Keys []Key
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
	// MaxUploadBytes bounds the body of an UploadComplianceScanResult
	// signed with a full-access key (default api.DefaultMaxUploadBytes, never
	// below MaxBodyBytes).
	MaxUploadBytes int64
	// RatePerSecond and Burst limit each key (default 20/s, burst 40).
	// Requests naming a key whose signature fails count too.
	RatePerSecond float64
	Burst         int
	// AuthFailuresPerSecond and AuthFailureBurst limit the failed
	// authentications of each client address (default 1/s, burst 20):
	// beyond them, its requests are refused unread (and unlogged) until
	// the budget refills.
	AuthFailuresPerSecond float64
	AuthFailureBurst      int
	// RequireSignedAction refuses requests that do not sign X-TC-Action
	// (the SDK's common client signs content-type and host only).
	RequireSignedAction bool
	// MaxSpooledBodies bounds the bodies longer than 64 KiB received at
	// once before their signature is checked (default
	// DefaultMaxSpooledBodies); SpoolDir keeps them meanwhile, in unlinked
	// files (default: a temporary directory).
	MaxSpooledBodies int
	SpoolDir         string
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// PeriodChanged is told when a period task changes (the scheduler
	// reloads).
	PeriodChanged func()
	// ExportDir keeps export files (default: a new temporary directory);
	// the files in it when the server starts are removed.
	ExportDir string
	// Signer signs every export (nil: exports are not signed).
	Signer *report.Signer
	// Metrics configure /metrics.
	Metrics MetricsOptions
}

// Server is the compliance API over a store and a runner.
type Server struct {
	store   store.Store
	runner  *runner.Runner
	keys    map[string]Key
	maxBody int64
	// maxUpload bounds an upload's body (see uploadLimit).
	maxUpload int64
	rate      rate.Limit
	burst     int
	now       func() time.Time
	log       *slog.Logger
	changed   func()
	ids       standardIDs
	exports   *exports

	requireSignedAction bool
	failures            *failureThrottle
	replays             *replayCache
	spools              chan struct{}
	spoolDir            string

	// metrics serves /metrics; requests counts the API's requests.
	metrics       http.Handler
	metricsPublic bool
	requests      *prometheus.CounterVec

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// New returns a server. Every key must have a SecretId and a SecretKey.
func New(st store.Store, r *runner.Runner, opts Options) (*Server, error) {
	s := &Server{store: st, runner: r, keys: map[string]Key{}, maxBody: opts.MaxBodyBytes, maxUpload: opts.MaxUploadBytes, rate: rate.Limit(opts.RatePerSecond),
		burst: opts.Burst, now: opts.Now, log: opts.Logger, changed: opts.PeriodChanged, limiters: map[string]*rate.Limiter{}}
	for i, k := range opts.Keys {
		if k.SecretID == "" || k.SecretKey == "" {
			return nil, fmt.Errorf("api key %d: secret_id and secret_key are required", i+1)
		}
		if _, dup := s.keys[k.SecretID]; dup {
			return nil, fmt.Errorf("api key %d: secret_id %q is listed twice", i+1, k.SecretID)
		}
		if err := checkUploadScope(k); err != nil {
			return nil, fmt.Errorf("api key %d (%s): %w", i+1, k.SecretID, err)
		}
		s.keys[k.SecretID] = k
	}
	if len(s.keys) == 0 {
		return nil, errors.New("no API key is configured: every request must be signed")
	}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	if s.maxUpload <= 0 {
		s.maxUpload = api.DefaultMaxUploadBytes
	}
	s.maxUpload = max(s.maxUpload, s.maxBody)
	if s.rate <= 0 {
		s.rate = 20
	}
	if s.burst <= 0 {
		s.burst = 40
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.changed == nil {
		s.changed = func() {}
	}
	s.log = s.log.With("component", "api")
	dir, err := openExportDir(opts.ExportDir, s.log)
	if err != nil {
		return nil, err
	}
	s.exports = &exports{dir: dir, jobs: map[string]*exportJob{}, signer: opts.Signer}
	s.setAuthDefaults(opts)
	s.newMetrics(opts.Metrics)
	if s.ids, err = newStandardIDs(r.Catalog()); err != nil {
		return nil, err
	}
	return s, nil
}

// setAuthDefaults sets what authentication needs: the failure throttle,
// the replay cache over the store, the spool of long bodies.
func (s *Server) setAuthDefaults(opts Options) {
	s.requireSignedAction = opts.RequireSignedAction
	failRate, failBurst := rate.Limit(opts.AuthFailuresPerSecond), opts.AuthFailureBurst
	if failRate <= 0 {
		failRate = 1
	}
	if failBurst <= 0 {
		failBurst = 20
	}
	s.failures = newFailureThrottle(failRate, failBurst)
	s.replays = newReplayCache(s.store, s.log)
	if opts.MaxSpooledBodies <= 0 {
		opts.MaxSpooledBodies = DefaultMaxSpooledBodies
	}
	s.spools = make(chan struct{}, opts.MaxSpooledBodies)
	s.spoolDir = opts.SpoolDir
	if s.spoolDir == "" {
		s.spoolDir = filepath.Join(os.TempDir(), "baseline-spool")
	}
}

// ServeHTTP answers one API request, or serves an export download. A
// client address that failed authentication too often is refused before
// anything of its request is read, and only the first refusal is logged;
// every logged field taken from the request is clipped.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/exports/") {
		s.serveDownload(w, r)
		return
	}
	if s.serveProbe(w, r) {
		return
	}
	reqID := newRequestID()
	start := time.Now()
	client := clientAddr(r)
	if ok, first := s.failures.allow(client); !ok {
		if first {
			s.log.Warn("throttling a client after failed authentications: its requests are refused unread, and unlogged, until its budget refills",
				"client", client, "request_id", reqID)
		}
		w.Header().Set("Connection", "close")
		apiErr := errorf(api.RequestLimitExceeded, "too many failed authentications from %s: retry later", client)
		s.reply(w, reqID, nil, apiErr)
		s.countRequest(r.Header.Get("X-TC-Action"), apiErr)
		return
	}
	action := r.Header.Get("X-TC-Action")
	resp, apiErr := s.guarded(r, action, reqID, client)
	s.reply(w, reqID, resp, apiErr)
	s.countRequest(action, apiErr)
	attrs := []any{"action", api.Clip(action, clipLen), "client", client, "request_id", reqID, "ms", time.Since(start).Milliseconds()}
	if apiErr != nil {
		attrs = append(attrs, "error", apiErr.Code)
	}
	s.log.Info("request", attrs...)
}

// reply writes the response envelope: {"Response": {...}} with every
// object's keys sorted (replyBody, or replyMaps for an error or a
// response that is not an object).
func (s *Server) reply(w http.ResponseWriter, reqID string, resp any, apiErr *api.Error) {
	buf := replyBuffers.Get().(*[]byte)
	out := appendEnvelope((*buf)[:0], reqID, resp, apiErr)
	defer func() {
		if cap(out) <= maxKeptReplyBuffer {
			*buf = out[:0]
			replyBuffers.Put(buf)
		}
	}()
	w.Header().Set("Content-Type", "application/json")
	// The length, known before the first byte is written, spares the
	// chunked encoding and lets the client read the body into one buffer.
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	status := http.StatusOK
	if apiErr != nil && apiErr.Code == api.RequestSizeLimitExceeded {
		status = http.StatusRequestEntityTooLarge
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// envelope is the response envelope's bytes: in one pass (replyBody)
// when it can, through maps otherwise.
func envelope(reqID string, resp any, apiErr *api.Error) []byte {
	return appendEnvelope(nil, reqID, resp, apiErr)
}

// appendEnvelope appends the response envelope's bytes to dst.
func appendEnvelope(dst []byte, reqID string, resp any, apiErr *api.Error) []byte {
	if apiErr == nil && resp != nil {
		if out, err := appendReplyBody(dst, resp, reqID); err == nil {
			return out
		}
	}
	return append(dst, replyMaps(reqID, resp, apiErr)...)
}

// replyBuffers hold the envelopes' bytes between replies, so that a page
// of a hundred rows is not written into a buffer grown anew each time;
// a buffer grown past maxKeptReplyBuffer (an export's list, a large
// page) is left to the collector.
var replyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const maxKeptReplyBuffer = 1 << 20

// replyMaps encodes the response envelope through maps, which sort every
// object's keys.
func replyMaps(reqID string, resp any, apiErr *api.Error) []byte {
	body := map[string]any{}
	if apiErr != nil {
		body["Error"] = apiErr
	} else if resp != nil {
		raw, err := json.Marshal(resp)
		if err == nil {
			err = json.Unmarshal(raw, &body)
		}
		if err != nil {
			body = map[string]any{"Error": errorf(api.InternalError, "encoding the response: %v", err)}
		}
	}
	body["RequestId"] = reqID
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]any{"Response": body})
	return buf.Bytes()
}

// handle authenticates a request and runs its action. A failed
// authentication counts against the client's address and the key it
// names; a signature already used is refused (replayCache).
func (s *Server) handle(r *http.Request, action, client string) (any, *api.Error) {
	if r.Method != http.MethodPost || (r.URL.Path != "/" && r.URL.Path != "") {
		return nil, errorf(api.UnsupportedProtocol, "only POST / is served (got %s %s)", api.Clip(r.Method, clipLen), api.Clip(r.URL.Path, clipLen))
	}
	auth, claimed, apiErr := s.authenticate(r, action)
	if apiErr != nil {
		if apiErr.Code != api.RequestLimitExceeded {
			s.authFailed(client, claimed)
		}
		return nil, apiErr
	}
	key, body := auth.key, auth.body
	if !s.limiter(key.SecretID).Allow() {
		return nil, errorf(api.RequestLimitExceeded, "more than %.0f requests per second for SecretId %s", float64(s.rate), key.SecretID)
	}
	if action == "" {
		return nil, errorf(api.MissingParameter, "X-TC-Action header is missing")
	}
	if v := r.Header.Get("X-TC-Version"); v != api.Version {
		return nil, errorf(api.InvalidParameterValue, "X-TC-Version %q is not supported (want %s)", api.Clip(v, clipLen), api.Version)
	}
	a, ok := actions[action]
	if !ok {
		return nil, errorf(api.InvalidAction, "action %q is not known", api.Clip(action, clipLen))
	}
	if key.ReadOnly && !strings.HasPrefix(action, "Describe") {
		return nil, errorf(api.AuthFailureUnauthorized, "SecretId %s is read-only: %s changes state", key.SecretID, action)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ctx := context.WithValue(r.Context(), keyContext{}, key)
	ctx = context.WithValue(ctx, baseURLContext{}, scheme+"://"+r.Host)
	use := store.SignatureUse{Signature: auth.signature, Action: action, At: s.now(), Until: time.Unix(auth.ts, 0).Add(api.MaxSkew + time.Second)}
	return s.runOnce(r.Context(), client, use, auth.unique, func() (any, *api.Error) {
		resp, err := a(s, ctx, body)
		if err != nil {
			return nil, apiError(err)
		}
		return resp, nil
	})
}

// runOnce answers an authenticated request with run only once the replay
// cache accepts its signature's use (replayCache.check: a first use, or an
// allowed repeat); a replay is refused and counts as a failed
// authentication of the client. A read (a Describe action, which changes
// nothing) runs while the use is being recorded, so that its answer does
// not wait for the store's commit on top of its own reading; the answer is
// still given only once the use is accepted, and dropped otherwise. A
// signature already used here is checked first, in memory, so that a
// replay this daemon saw costs no read.
func (s *Server) runOnce(ctx context.Context, client string, use store.SignatureUse, unique bool, run func() (any, *api.Error)) (any, *api.Error) {
	if !strings.HasPrefix(use.Action, "Describe") || s.replays.seenHere(use.Signature) {
		if apiErr := s.replays.check(ctx, use, unique); apiErr != nil {
			s.failures.fail(client)
			return nil, apiErr
		}
		return run()
	}
	checked := make(chan *api.Error, 1)
	go func() { checked <- s.replays.check(ctx, use, unique) }()
	resp, runErr := run()
	if apiErr := <-checked; apiErr != nil {
		s.failures.fail(client)
		return nil, apiErr
	}
	return resp, runErr
}

// authFailed counts a failed authentication against the client's address
// and the key it named (when configured).
func (s *Server) authFailed(client, claimed string) {
	s.failures.fail(client)
	if claimed != "" {
		s.limiter(claimed).Allow()
	}
}

func (s *Server) limiter(id string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.limiters[id]
	if !ok {
		l = rate.NewLimiter(s.rate, s.burst)
		s.limiters[id] = l
	}
	return l
}

// decode reads an action's parameters strictly: an unknown parameter is
// an error that names it, anything after the JSON object is refused, and
// so is an id that the store cannot hold (see checkIDRange).
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			return errorf(api.InvalidParameter, "parameter %s: %s is not a valid %s", ute.Field, ute.Value, ute.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errorf(api.InvalidParameter, "unknown parameter %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return errorf(api.InvalidParameter, "the request body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(api.InvalidParameter, "the request body goes on after its JSON object (at byte %d): send one object", dec.InputOffset())
	}
	return checkIDRange(v)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type handler func(s *Server, ctx context.Context, body []byte) (any, error)
