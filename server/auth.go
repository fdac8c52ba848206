package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "TC3-HMAC-SHA256"

// MaxSkew is how far a request's timestamp may be from the server's clock.
const MaxSkew = 5 * time.Minute

// Key is an API key pair. A read-only key may call Describe actions only.
type Key struct {
	SecretID  string `mapstructure:"secret_id" json:"secret_id"`
	SecretKey string `mapstructure:"secret_key" json:"secret_key"`
	ReadOnly  bool   `mapstructure:"read_only" json:"read_only"`
}

// credential is a parsed Authorization header.
type credential struct {
	secretID, date, service string
	signedHeaders           []string
	signature               string
}

func parseAuthorization(h string) (credential, error) {
	var c credential
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != Algorithm {
		return c, fmt.Errorf("the Authorization header must use %s", Algorithm)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return c, fmt.Errorf("malformed Authorization part %q", part)
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 4 || f[3] != "tc3_request" {
				return c, fmt.Errorf("the Credential must be SECRETID/DATE/SERVICE/tc3_request")
			}
			c.secretID, c.date, c.service = f[0], f[1], f[2]
		case "SignedHeaders":
			c.signedHeaders = strings.Split(v, ";")
		case "Signature":
			c.signature = v
		}
	}
	if c.secretID == "" || c.signature == "" || len(c.signedHeaders) == 0 {
		return c, fmt.Errorf("the Authorization header lacks Credential, SignedHeaders or Signature")
	}
	return c, nil
}

// CanonicalRequest builds the canonical request of the TC3 scheme.
func CanonicalRequest(method, uri, query string, headers [][2]string, signed []string, body []byte) string {
	var ch strings.Builder
	for _, h := range headers {
		ch.WriteString(strings.ToLower(h[0]) + ":" + strings.TrimSpace(h[1]) + "\n")
	}
	sum := sha256.Sum256(body)
	return method + "\n" + uri + "\n" + query + "\n" + ch.String() + "\n" + strings.Join(signed, ";") + "\n" + hex.EncodeToString(sum[:])
}

// Sign computes the TC3-HMAC-SHA256 signature of a canonical request.
func Sign(secretKey, service string, timestamp int64, canonical string) string {
	date := time.Unix(timestamp, 0).UTC().Format(time.DateOnly)
	hashed := sha256.Sum256([]byte(canonical))
	toSign := Algorithm + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + date + "/" + service + "/tc3_request\n" + hex.EncodeToString(hashed[:])
	k := hmacSHA256([]byte("TC3"+secretKey), date)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "tc3_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// verify checks a request's signature and timestamp and returns its key.
func (s *Server) verify(r *http.Request, body []byte) (Key, *APIError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Key{}, errorf(AuthFailureSignature, "the request is not signed: Authorization header missing")
	}
	c, err := parseAuthorization(auth)
	if err != nil {
		return Key{}, errorf(AuthFailureSignature, "%v", err)
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return Key{}, errorf(MissingParameter, "X-TC-Timestamp header is missing or not unix seconds")
	}
	now := s.now()
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return Key{}, errorf(AuthFailureSignatureExpire, "X-TC-Timestamp %d is %s from the server's clock (at most %s allowed)", ts, d.Round(time.Second), MaxSkew)
	}
	if c.date != time.Unix(ts, 0).UTC().Format(time.DateOnly) {
		return Key{}, errorf(AuthFailureSignature, "Credential date %s is not the UTC date of X-TC-Timestamp", c.date)
	}
	key, ok := s.keys[c.secretID]
	if !ok {
		return Key{}, errorf(AuthFailureSecretIDNotFound, "SecretId %q is not known", c.secretID)
	}
	if strings.EqualFold(r.Header.Get("X-TC-Content-SHA256"), "UNSIGNED-PAYLOAD") {
		return Key{}, errorf(AuthFailureSignature, "unsigned payloads are not accepted: the body must be signed")
	}
	signed := map[string]bool{}
	headers := make([][2]string, 0, len(c.signedHeaders))
	for _, h := range c.signedHeaders {
		h = strings.ToLower(strings.TrimSpace(h))
		signed[h] = true
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers = append(headers, [2]string{h, v})
	}
	if !signed["content-type"] || !signed["host"] {
		return Key{}, errorf(AuthFailureSignature, "SignedHeaders must include content-type and host")
	}
	canonical := CanonicalRequest(r.Method, "/", r.URL.RawQuery, headers, c.signedHeaders, body)
	want := Sign(key.SecretKey, c.service, ts, canonical)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(c.signature))) {
		return Key{}, errorf(AuthFailureSignature, "the signature does not match the request")
	}
	return key, nil
}
