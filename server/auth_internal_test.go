package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// The fixed key set and clock of the tests below.
const (
	testID     = "AKIDauthTestFull"
	testSecret = "auth-test-secret-0123456789"
	testHost   = "compliance.example:8443"
)

var testNow = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// authServer is a server with only what authentication needs: the fixed
// key set and clock, the body limits, the spool, the throttles and a
// replay cache over guard.
func authServer(t testing.TB, guard store.ReplayGuard, spoolDir string) *Server {
	quiet := slog.New(slog.DiscardHandler)
	return &Server{keys: map[string]Key{testID: {SecretID: testID, SecretKey: testSecret}, "AKIDauthTestRO": {SecretID: "AKIDauthTestRO", SecretKey: "ro", ReadOnly: true}},
		maxBody: 1 << 20, maxUpload: 4 << 20, rate: 1000, burst: 1000, now: func() time.Time { return testNow }, log: quiet,
		limiters: map[string]*rate.Limiter{}, failures: newFailureThrottle(1, 20), replays: newReplayCache(guard, quiet),
		spools: make(chan struct{}, 2), spoolDir: spoolDir}
}

// signedRequest is a request signed with the test key at ts over the
// given headers.
func signedRequest(action string, ts int64, body []byte, names ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Host = testHost
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-TC-Action", action)
	r.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	headers := make([][2]string, len(names))
	for i, n := range names {
		v := r.Header.Get(n)
		if n == "host" {
			v = r.Host
		}
		headers[i] = [2]string{n, v}
	}
	sig := api.Sign(testSecret, api.Service, ts, api.CanonicalRequest(http.MethodPost, "/", "", headers, names, body))
	r.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s/%s/tc3_request, SignedHeaders=%s, Signature=%s",
		api.Algorithm, testID, time.Unix(ts, 0).UTC().Format(time.DateOnly), api.Service, strings.Join(names, ";"), sig))
	return r
}

// A body beyond 64 KiB is hashed into an unlinked spool file, not held in
// memory; the signature holds over it; the body comes back whole.
func TestLongBodySpooledAndVerified(t *testing.T) {
	dir := t.TempDir()
	s := authServer(t, nil, dir)
	body := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	a, _, apiErr := s.authenticate(signedRequest(api.UploadAction, testNow.Unix(), body, "content-type", "host"), api.UploadAction)
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	if !bytes.Equal(a.body, body) {
		t.Errorf("the spooled body came back as %d bytes, want %d", len(a.body), len(body))
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spool files left: %v", left)
	}
	if len(s.spools) != 0 {
		t.Errorf("%d spool slots still held", len(s.spools))
	}
	// The read-only key keeps the general limit; the full key its upload
	// limit, also when the body does not declare its length.
	r := signedRequest(api.UploadAction, testNow.Unix(), bytes.Repeat([]byte(" "), 5<<20), "content-type", "host")
	r.ContentLength = -1
	r.Body = io.NopCloser(r.Body)
	if _, _, apiErr := s.authenticate(r, api.UploadAction); apiErr == nil || apiErr.Code != api.RequestSizeLimitExceeded {
		t.Errorf("a 5 MiB upload of undeclared length: %v, want %s", apiErr, api.RequestSizeLimitExceeded)
	}
	tampered := signedRequest(api.UploadAction, testNow.Unix(), body, "content-type", "host")
	tampered.Body = io.NopCloser(bytes.NewReader(append(bytes.Clone(body[:len(body)-1]), 'x')))
	if _, claimed, apiErr := s.authenticate(tampered, api.UploadAction); apiErr == nil || apiErr.Code != api.AuthFailureSignature || claimed != testID {
		t.Errorf("a tampered long body: %v (claimed %q), want %s naming %s", apiErr, claimed, api.AuthFailureSignature, testID)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 || len(s.spools) != 0 {
		t.Errorf("after a refused long body: files %v, %d slots held", left, len(s.spools))
	}
}

// The replay policy, on the fixed clock over a real store: a request that
// signs no nonce may share its signature with other requests, of any
// action, within RepeatWindow of its first use (the SDK signs neither
// nonce nor action, so requests with the same parameters in one second
// share a signature), never after it; a request that signs a nonce is
// accepted once; a second cache over the same store (a second daemon)
// sees the first uses of the first.
func TestReplayPolicy(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	quiet := slog.New(slog.DiscardHandler)
	c, other := newReplayCache(db, quiet), newReplayCache(db, quiet)
	use := func(sig, action string, at time.Duration) store.SignatureUse {
		return store.SignatureUse{Signature: sig, Action: action, At: testNow.Add(at), Until: testNow.Add(api.MaxSkew)}
	}
	after := RepeatWindow + time.Second
	for _, step := range []struct {
		what   string
		c      *replayCache
		u      store.SignatureUse
		unique bool
		ok     bool
	}{
		{"a read", c, use("r1", "DescribeComplianceAssetList", 0), false, true},
		{"the same read at once", c, use("r1", "DescribeComplianceAssetList", time.Second), false, true},
		{"a write with the signature at once", c, use("r1", "CreateComplianceTask", 2*time.Second), false, true},
		{"the write again at once", c, use("r1", "CreateComplianceTask", 2*time.Second), false, true},
		{"the read after the window", c, use("r1", "DescribeComplianceAssetList", after), false, false},
		{"the write after the window", c, use("r1", "CreateComplianceTask", after), false, false},
		{"the read as a write on another daemon after the window", other, use("r1", "ScanComplianceAssets", after), false, false},
		{"a read on another daemon", other, use("r2", "DescribeComplianceAssetList", 0), false, true},
		{"the same read on the first daemon at once", c, use("r2", "DescribeComplianceAssetList", time.Second), false, true},
		{"the read as a write on the first daemon after the window", c, use("r2", "CreateComplianceTask", after), false, false},
		{"a request with a nonce", c, use("n1", "AddCompliancePolicyItemToWhitelist", 0), true, true},
		{"the same at once", c, use("n1", "AddCompliancePolicyItemToWhitelist", 0), true, false},
		{"the same on another daemon at once", other, use("n1", "AddCompliancePolicyItemToWhitelist", time.Second), true, false},
	} {
		if err := step.c.check(ctx, step.u, step.unique); (err == nil) != step.ok {
			t.Errorf("%s: %v, want accepted %v", step.what, err, step.ok)
		}
	}
}

// Group commit: requests arriving together on two daemons over one store
// are recorded in shared transactions, and still a signature that signs a
// nonce is accepted exactly once among them, while distinct signatures
// are all accepted and all recorded.
func TestReplayGroupCommit(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	dbs := make([]*sqlite.DB, 2)
	for i := range dbs {
		db, err := sqlite.Open(ctx, dir, sqlite.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	caches := []*replayCache{newReplayCache(dbs[0], quiet), newReplayCache(dbs[1], quiet)}
	const n = 32
	var accepted atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		c := caches[i%2]
		go func() {
			defer wg.Done()
			u := store.SignatureUse{Signature: "replayed", Action: "CreateComplianceTask", At: testNow, Until: testNow.Add(api.MaxSkew)}
			if c.check(ctx, u, true) == nil {
				accepted.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			u := store.SignatureUse{Signature: fmt.Sprintf("s%d", i), Action: "DescribeComplianceAssetList", At: testNow, Until: testNow.Add(api.MaxSkew)}
			if err := c.check(ctx, u, true); err != nil {
				t.Errorf("distinct signature %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if got := accepted.Load(); got != 1 {
		t.Errorf("a signature presented %d times on two daemons was accepted %d times, want once", n, got)
	}
	for i := range n {
		u := store.SignatureUse{Signature: fmt.Sprintf("s%d", i), Action: "DescribeComplianceAssetList", At: testNow.Add(time.Second), Until: testNow.Add(api.MaxSkew)}
		if _, seen, err := dbs[0].UseSignature(ctx, u); err != nil || !seen {
			t.Errorf("signature %d not recorded in the store (%v)", i, err)
		}
	}
}

// busyGuard fails while busy, as a store whose write lock a long ingest
// holds, and records what it is given otherwise.
type busyGuard struct {
	busy bool
	uses map[string]store.SignatureUse
}

func (g *busyGuard) UseSignature(_ context.Context, u store.SignatureUse) (store.SignatureUse, bool, error) {
	if g.busy {
		return store.SignatureUse{}, false, errors.New("database is locked")
	}
	if first, ok := g.uses[u.Signature]; ok {
		return first, true, nil
	}
	g.uses[u.Signature] = u
	return u, false, nil
}

// While the store cannot record a signature, the daemon still refuses its
// replay from memory, and records it in the store once it can.
func TestReplayWhileStoreBusy(t *testing.T) {
	g := &busyGuard{busy: true, uses: map[string]store.SignatureUse{}}
	c := newReplayCache(g, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	w := store.SignatureUse{Signature: "w", Action: "CreateComplianceTask", At: testNow, Until: testNow.Add(api.MaxSkew)}
	if err := c.check(ctx, w, true); err != nil {
		t.Fatalf("a write while the store is busy: %v", err)
	}
	if err := c.check(ctx, w, true); err == nil {
		t.Error("its replay while the store is busy was accepted")
	}
	g.busy = false
	later := store.SignatureUse{Signature: "r", Action: "DescribeComplianceAssetList", At: testNow.Add(storeBackoff + time.Second), Until: testNow.Add(api.MaxSkew)}
	if err := c.check(ctx, later, false); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	for c.flushing {
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
		c.mu.Lock()
	}
	c.mu.Unlock()
	if _, ok := g.uses["w"]; !ok {
		t.Errorf("the write's signature was not recorded once the store was free: %v", g.uses)
	}
}

// The failure throttle: an address is refused once its failures exceed the
// burst, the first refusal of a run flagged (it alone is logged); other
// addresses are not affected; IPv6 addresses count by /64.
func TestFailureThrottle(t *testing.T) {
	f := newFailureThrottle(rate.Every(time.Hour), 3)
	for i := range 3 {
		if ok, _ := f.allow("192.0.2.1"); !ok {
			t.Fatalf("refused after %d failures", i)
		}
		f.fail("192.0.2.1")
	}
	if ok, first := f.allow("192.0.2.1"); ok || !first {
		t.Errorf("after 3 failures: allowed %v, first %v; want refused, first", ok, first)
	}
	if ok, first := f.allow("192.0.2.1"); ok || first {
		t.Errorf("again: allowed %v, first %v; want refused, not first", ok, first)
	}
	if ok, _ := f.allow("192.0.2.2"); !ok {
		t.Error("another address refused")
	}
	a := httptest.NewRequest(http.MethodPost, "/", nil)
	a.RemoteAddr = "[2001:db8:1:2:aaaa::1]:5000"
	b := httptest.NewRequest(http.MethodPost, "/", nil)
	b.RemoteAddr = "[2001:db8:1:2:bbbb::7]:6000"
	if clientAddr(a) != clientAddr(b) || clientAddr(a) != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 clients %s and %s, want one /64", clientAddr(a), clientAddr(b))
	}
	for i := range maxTrackedClients + 10 {
		f.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if n := len(f.clients); n > maxTrackedClients {
		t.Errorf("%d addresses tracked, at most %d", n, maxTrackedClients)
	}
}

// FuzzAuthenticate feeds arbitrary Authorization, timestamp, action, host,
// content type and body to the authentication of a server with a fixed
// key set and clock: it never panics, its errors stay short whatever the
// input, and it accepts a request only when the request is signed with
// the key it names, for this service, within the allowed skew, over the
// body it returns.
func FuzzAuthenticate(f *testing.F) {
	body := []byte(`{"AssetTypeSet":["ASSET_CONTAINER"]}`)
	valid := signedRequest("DescribeComplianceTaskAssetSummary", testNow.Unix(), body, "content-type", "host", "x-tc-action")
	f.Add(valid.Header.Get("Authorization"), valid.Header.Get("X-TC-Timestamp"), "DescribeComplianceTaskAssetSummary", testHost, "application/json", body)
	f.Add(valid.Header.Get("Authorization"), valid.Header.Get("X-TC-Timestamp"), "CreateComplianceTask", testHost, "application/json", body)
	f.Add("TC3-HMAC-SHA256 Credential=AKIDauthTestFull/2025-03-14/tcss/tc3_request, SignedHeaders=content-type;host, Signature=00",
		"1741944600", api.UploadAction, testHost, "application/json", bytes.Repeat([]byte("x"), 70<<10))
	f.Add("TC3-HMAC-SHA256 Credential=a/b/c/tc3_request/x, SignedHeaders=;;, Signature=", "-1", "", "", "", []byte(nil))
	f.Add("TC3-HMAC-SHA256 ,,,=,Credential==", "99999999999999999999", "\x00", "h", "\xff", []byte("{}"))
	s := authServer(f, nil, f.TempDir())
	f.Fuzz(func(t *testing.T, authorization, timestamp, action, host, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Host = host
		r.Header = http.Header{}
		for k, v := range map[string]string{"Authorization": authorization, "X-TC-Timestamp": timestamp, "X-TC-Action": action, "Content-Type": contentType} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		a, _, apiErr := s.authenticate(r, action)
		if apiErr != nil {
			if len(apiErr.Message) > 1024 {
				t.Fatalf("an error message of %d bytes: %.200s", len(apiErr.Message), apiErr.Message)
			}
			return
		}
		c, err := api.ParseAuthorization(authorization)
		if err != nil || c.Service != api.Service || c.SecretID != testID {
			t.Fatalf("accepted %q: %+v, %v", authorization, c, err)
		}
		ts, err := strconv.ParseInt(timestamp, 10, 64)
		if err != nil || time.Unix(ts, 0).Sub(testNow).Abs() > api.MaxSkew {
			t.Fatalf("accepted timestamp %q", timestamp)
		}
		headers := make([][2]string, len(c.SignedHeaders))
		for i, h := range c.SignedHeaders {
			h = strings.ToLower(strings.TrimSpace(h))
			v := r.Header.Get(h)
			if h == "host" {
				v = host
			}
			headers[i] = [2]string{h, v}
		}
		want := api.Sign(testSecret, api.Service, ts, api.CanonicalRequest(http.MethodPost, "/", "", headers, c.SignedHeaders, body))
		if !strings.EqualFold(c.Signature, want) || a.signature != want || !bytes.Equal(a.body, body) {
			t.Fatalf("accepted a request not signed over its body: signature %s, want %s", c.Signature, want)
		}
	})
}
