package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "TC3-HMAC-SHA256"

// MaxSkew is how far a request's timestamp may be from the server's clock.
const MaxSkew = 5 * time.Minute

// MaxAuthorizationBytes bounds the Authorization header: a signature over
// a handful of headers takes some 200 bytes.
const MaxAuthorizationBytes = 2048

// NonceHeader (lower case, as signed) carries a random value. A request
// that signs it declares itself unique, so its signature is accepted once;
// a request that does not may share its signature with requests of the
// same parameters sent within the same second (the timestamp's
// resolution), so the server lets a signature be used again for a few
// seconds.
const NonceHeader = "x-tc-nonce"

// maxSignedHeaders bounds how many headers a request may sign.
const maxSignedHeaders = 32

// Credential is a parsed Authorization header.
type Credential struct {
	SecretID, Date, Service string
	SignedHeaders           []string
	Signature               string
}

// ParseAuthorization reads a TC3-HMAC-SHA256 Authorization header. Its
// errors quote at most a bounded part of the header.
func ParseAuthorization(h string) (Credential, error) {
	var c Credential
	if len(h) > MaxAuthorizationBytes {
		return c, fmt.Errorf("the Authorization header is %d bytes long (at most %d)", len(h), MaxAuthorizationBytes)
	}
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != Algorithm {
		return c, fmt.Errorf("the Authorization header must use %s", Algorithm)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return c, fmt.Errorf("malformed Authorization part %q", Clip(part, 64))
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 4 || f[3] != "tc3_request" {
				return c, fmt.Errorf("the Credential must be SECRETID/DATE/SERVICE/tc3_request")
			}
			c.SecretID, c.Date, c.Service = f[0], f[1], f[2]
		case "SignedHeaders":
			c.SignedHeaders = strings.Split(v, ";")
			if len(c.SignedHeaders) > maxSignedHeaders {
				return c, fmt.Errorf("SignedHeaders lists %d headers (at most %d)", len(c.SignedHeaders), maxSignedHeaders)
			}
			for _, name := range c.SignedHeaders {
				if strings.TrimSpace(name) == "" {
					return c, fmt.Errorf("SignedHeaders %q has an empty name", Clip(v, 64))
				}
			}
		case "Signature":
			c.Signature = v
		}
	}
	if c.SecretID == "" || c.Signature == "" || len(c.SignedHeaders) == 0 {
		return c, fmt.Errorf("the Authorization header lacks Credential, SignedHeaders or Signature")
	}
	return c, nil
}

// CanonicalRequest builds the canonical request of the TC3 scheme.
func CanonicalRequest(method, uri, query string, headers [][2]string, signed []string, body []byte) string {
	sum := sha256.Sum256(body)
	return CanonicalRequestHashed(method, uri, query, headers, signed, hex.EncodeToString(sum[:]))
}

// CanonicalRequestHashed is CanonicalRequest of a body given by its SHA-256
// (lower-case hex), so that a server can hash a body as it arrives.
func CanonicalRequestHashed(method, uri, query string, headers [][2]string, signed []string, bodySHA256 string) string {
	var ch strings.Builder
	for _, h := range headers {
		ch.WriteString(strings.ToLower(h[0]) + ":" + strings.TrimSpace(h[1]) + "\n")
	}
	return method + "\n" + uri + "\n" + query + "\n" + ch.String() + "\n" + strings.Join(signed, ";") + "\n" + bodySHA256
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

// Clip bounds text taken from a request before it is logged or quoted in
// an error: at most n bytes (cut on a character boundary), followed by the
// original length when it was cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "...(" + strconv.Itoa(len(s)) + " bytes)"
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// DownloadSignature signs an export's download link: the job and the link's
// expiry, with the secret key of the key that created the job.
func DownloadSignature(secretKey, jobID string, expires int64) string {
	return hex.EncodeToString(hmacSHA256([]byte(secretKey), "download\n"+jobID+"\n"+strconv.FormatInt(expires, 10)))
}
