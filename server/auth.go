package server

import (
	"crypto/hmac"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/baselinehq/baseline/api"
)

// Key is an API key pair. A read-only key may call Describe actions only.
// Nodes and UploadAnyNode say which nodes a full-access key may upload
// scans of (see uploadNode).
type Key struct {
	SecretID      string   `mapstructure:"secret_id" json:"secret_id"`
	SecretKey     string   `mapstructure:"secret_key" json:"secret_key"`
	ReadOnly      bool     `mapstructure:"read_only" json:"read_only"`
	Nodes         []string `mapstructure:"nodes" json:"nodes,omitempty"`
	UploadAnyNode bool     `mapstructure:"upload_any_node" json:"upload_any_node,omitempty"`
}

// clipLen bounds the request text quoted in errors and logs.
const clipLen = 128

// authenticated is a request whose signature holds.
type authenticated struct {
	key  Key
	body []byte
	// signature and ts identify the signed request (for the replay cache);
	// unique: it signs a nonce, so it is accepted once.
	signature string
	ts        int64
	unique    bool
}

// authenticate checks a request's signature and returns its key and body.
// Everything but the body is checked before the body is read, and the body
// is read bounded (readBody), so that an unsigned request costs little
// whatever it sends. claimed is the configured key the request names, if
// any, even when it fails.
func (s *Server) authenticate(r *http.Request, action string) (a authenticated, claimed string, apiErr *api.Error) {
	c, ts, key, claimed, apiErr := s.checkAuthorization(r)
	if apiErr != nil {
		return a, claimed, apiErr
	}
	if s.limiter(key.SecretID).Tokens() < 1 {
		return a, "", errorf(api.RequestLimitExceeded, "more than %.0f requests per second for SecretId %s", float64(s.rate), key.SecretID)
	}
	limit, limitKey := s.uploadLimit(action, key)
	b, apiErr := s.readBody(r, limit, limitKey)
	if apiErr != nil {
		return a, claimed, apiErr
	}
	defer b.close()
	headers := make([][2]string, 0, len(c.SignedHeaders))
	for _, h := range c.SignedHeaders {
		h = strings.ToLower(strings.TrimSpace(h))
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers = append(headers, [2]string{h, v})
	}
	canonical := api.CanonicalRequestHashed(r.Method, "/", r.URL.RawQuery, headers, c.SignedHeaders, b.sha256)
	want := api.Sign(key.SecretKey, c.Service, ts, canonical)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(c.Signature))) {
		return a, claimed, errorf(api.AuthFailureSignature, "the signature does not match the request")
	}
	body, err := b.bytes()
	if err != nil {
		return a, claimed, errorf(api.InternalError, "reading the spooled request body: %v", err)
	}
	unique := slices.ContainsFunc(headers, func(h [2]string) bool { return h[0] == api.NonceHeader && h[1] != "" })
	return authenticated{key: key, body: body, signature: want, ts: ts, unique: unique}, claimed, nil
}

// checkAuthorization checks what the signature is made of, all but the
// body: the Authorization header, the credential scope (this service, the
// timestamp's date), the timestamp's skew, the key, and the signed
// headers.
func (s *Server) checkAuthorization(r *http.Request) (c api.Credential, ts int64, key Key, claimed string, apiErr *api.Error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return c, 0, key, "", errorf(api.AuthFailureSignature, "the request is not signed: Authorization header missing")
	}
	c, err := api.ParseAuthorization(auth)
	if err != nil {
		return c, 0, key, "", errorf(api.AuthFailureSignature, "%v", err)
	}
	key, known := s.keys[c.SecretID]
	if known {
		claimed = c.SecretID
	}
	if c.Service != api.Service {
		return c, 0, key, claimed, errorf(api.AuthFailureSignature, "the credential scope's service is %q, not %s", api.Clip(c.Service, clipLen), api.Service)
	}
	ts, err = strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return c, 0, key, claimed, errorf(api.MissingParameter, "X-TC-Timestamp header is missing or not unix seconds")
	}
	now := s.now()
	if d := now.Sub(time.Unix(ts, 0)); d > api.MaxSkew || d < -api.MaxSkew {
		return c, 0, key, claimed, errorf(api.AuthFailureSignatureExpire, "X-TC-Timestamp %d is %s from the server's clock (at most %s allowed)", ts, d.Round(time.Second), api.MaxSkew)
	}
	if c.Date != time.Unix(ts, 0).UTC().Format(time.DateOnly) {
		return c, 0, key, claimed, errorf(api.AuthFailureSignature, "Credential date %s is not the UTC date of X-TC-Timestamp", api.Clip(c.Date, clipLen))
	}
	if !known {
		return c, 0, key, "", errorf(api.AuthFailureSecretIDNotFound, "SecretId %q is not known", api.Clip(c.SecretID, clipLen))
	}
	if strings.EqualFold(r.Header.Get("X-TC-Content-SHA256"), "UNSIGNED-PAYLOAD") {
		return c, 0, key, claimed, errorf(api.AuthFailureSignature, "unsigned payloads are not accepted: the body must be signed")
	}
	signed := make([]string, len(c.SignedHeaders))
	for i, h := range c.SignedHeaders {
		signed[i] = strings.ToLower(strings.TrimSpace(h))
	}
	if !slices.Contains(signed, "content-type") || !slices.Contains(signed, "host") {
		return c, 0, key, claimed, errorf(api.AuthFailureSignature, "SignedHeaders must include content-type and host")
	}
	if s.requireSignedAction && !slices.Contains(signed, "x-tc-action") {
		return c, 0, key, claimed, errorf(api.AuthFailureSignature, "SignedHeaders must include x-tc-action: this daemon binds the action to the signature (api.require_signed_action)")
	}
	return c, ts, key, claimed, nil
}
