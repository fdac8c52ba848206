package server

import (
	"crypto/hmac"
	"net/http"
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

// verify checks a request's signature and timestamp and returns its key.
func (s *Server) verify(r *http.Request, body []byte) (Key, *api.Error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Key{}, errorf(api.AuthFailureSignature, "the request is not signed: Authorization header missing")
	}
	c, err := api.ParseAuthorization(auth)
	if err != nil {
		return Key{}, errorf(api.AuthFailureSignature, "%v", err)
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return Key{}, errorf(api.MissingParameter, "X-TC-Timestamp header is missing or not unix seconds")
	}
	now := s.now()
	if d := now.Sub(time.Unix(ts, 0)); d > api.MaxSkew || d < -api.MaxSkew {
		return Key{}, errorf(api.AuthFailureSignatureExpire, "X-TC-Timestamp %d is %s from the server's clock (at most %s allowed)", ts, d.Round(time.Second), api.MaxSkew)
	}
	if c.Date != time.Unix(ts, 0).UTC().Format(time.DateOnly) {
		return Key{}, errorf(api.AuthFailureSignature, "Credential date %s is not the UTC date of X-TC-Timestamp", c.Date)
	}
	key, ok := s.keys[c.SecretID]
	if !ok {
		return Key{}, errorf(api.AuthFailureSecretIDNotFound, "SecretId %q is not known", c.SecretID)
	}
	if strings.EqualFold(r.Header.Get("X-TC-Content-SHA256"), "UNSIGNED-PAYLOAD") {
		return Key{}, errorf(api.AuthFailureSignature, "unsigned payloads are not accepted: the body must be signed")
	}
	signed := map[string]bool{}
	headers := make([][2]string, 0, len(c.SignedHeaders))
	for _, h := range c.SignedHeaders {
		h = strings.ToLower(strings.TrimSpace(h))
		signed[h] = true
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers = append(headers, [2]string{h, v})
	}
	if !signed["content-type"] || !signed["host"] {
		return Key{}, errorf(api.AuthFailureSignature, "SignedHeaders must include content-type and host")
	}
	canonical := api.CanonicalRequest(r.Method, "/", r.URL.RawQuery, headers, c.SignedHeaders, body)
	want := api.Sign(key.SecretKey, c.Service, ts, canonical)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(c.Signature))) {
		return Key{}, errorf(api.AuthFailureSignature, "the signature does not match the request")
	}
	return key, nil
}
