// Package client calls the compliance API, signing each request with
// TC3-HMAC-SHA256 exactly as the server verifies it.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/baselinehq/baseline/api"
)

// Client calls one server with one key.
type Client struct {
	base      *url.URL
	secretID  string
	secretKey string
	http      *http.Client
	now       func() time.Time
}

// New returns a client of the server at endpoint (http://host:port or
// https://host:port).
func New(endpoint, secretID, secretKey string) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server address %q: want http(s)://host:port", endpoint)
	}
	if secretID == "" || secretKey == "" {
		return nil, fmt.Errorf("a secret id and a secret key are needed to sign requests")
	}
	return &Client{base: u, secretID: secretID, secretKey: secretKey, http: &http.Client{Timeout: 60 * time.Second}, now: time.Now}, nil
}

// Call sends an action with its parameters and decodes the response's
// fields into out. An API error is returned as *api.Error.
func (c *Client) Call(ctx context.Context, action string, params, out any) error {
	if params == nil {
		params = struct{}{}
	}
	body, err := json.Marshal(params)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	return c.send(ctx, action, bytes.NewReader(body), int64(len(body)), hex.EncodeToString(sum[:]), out)
}

// send sends an action whose body, of size bytes and SHA-256 bodySHA256
// (lower-case hex), body reads, and decodes the response as Call does.
func (c *Client) send(ctx context.Context, action string, body io.Reader, size int64, bodySHA256 string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String(), body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	if err := c.sign(req, action, bodySHA256); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	defer resp.Body.Close()
	raw, err := readBody(resp)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if decodeOnce(raw, out) {
		return nil
	}
	var env struct {
		Response json.RawMessage `json:"Response"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Response == nil {
		return fmt.Errorf("%s: not an API response (HTTP %d)", action, resp.StatusCode)
	}
	if mayHoldError(env.Response) {
		var e struct {
			Error *api.Error `json:"Error"`
		}
		if err := json.Unmarshal(env.Response, &e); err == nil && e.Error != nil {
			return e.Error
		}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Response, out); err != nil {
		return fmt.Errorf("%s: decoding the response: %w", action, err)
	}
	return nil
}

// maxResponse bounds the response body the client reads.
const maxResponse = 64 << 20

// readBody reads a response's body whole (at most maxResponse bytes),
// into a buffer of the length the server declared when it did.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxResponse {
		raw := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, raw); err != nil {
			return nil, err
		}
		return raw, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxResponse))
}

// responsePrefix starts every response the server writes: the envelope's
// only member, an object.
const responsePrefix = `{"Response":{`

// decodeOnce decodes a response that holds no error into out in one pass
// over its bytes (the envelope and out at once), and reports whether it
// did: a response that might hold an error, that does not start as the
// server writes one, or that does not decode, is left to the general path,
// which says why.
func decodeOnce(raw []byte, out any) bool {
	if out == nil || !bytes.HasPrefix(raw, []byte(responsePrefix)) || mayHoldError(raw) {
		return false
	}
	// An interface member holding a pointer is decoded into what the
	// pointer points at. The decoder is encoding/json's successor with
	// encoding/json's semantics (jsonv1.DefaultOptionsV1), which reads a
	// page of results in a third of the time.
	env := struct {
		Response any `json:"Response"`
	}{Response: out}
	return jsonv2.Unmarshal(raw, &env, jsonv1.DefaultOptionsV1()) == nil && env.Response == out
}

// mayHoldError reports whether a response's JSON may have an Error member,
// so that a page of results is not decoded once more only to find none.
// It says no only when no string in it is "Error" in any case (as
// encoding/json matches keys) and no escape in it could spell one of its
// letters (the \u003c that stands for "<" in a page of evidence cannot).
func mayHoldError(resp []byte) bool {
	for i := bytes.IndexByte(resp, '\\'); i >= 0; {
		if escapesLetterOfError(resp[i+1:]) {
			return true
		}
		// The escaped character is skipped: the second backslash of an
		// escaped backslash starts no escape.
		next := i + 2
		if next >= len(resp) {
			break
		}
		j := bytes.IndexByte(resp[next:], '\\')
		if j < 0 {
			break
		}
		i = next + j
	}
	const name = "error"
	for i := bytes.IndexByte(resp, '"'); i >= 0; {
		end := i + 1 + len(name)
		if end < len(resp) && resp[end] == '"' && bytes.EqualFold(resp[i+1:end], []byte(name)) {
			return true
		}
		j := bytes.IndexByte(resp[i+1:], '"')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// escapesLetterOfError reports whether the escape that esc follows (the
// text after a backslash) may stand for a letter of "error" in any case:
// a \uXXXX escape of one, or one that is cut short or not hexadecimal.
// The one-character escapes (\" \\ \/ \b \f \n \r \t) stand for none.
func escapesLetterOfError(esc []byte) bool {
	if len(esc) == 0 || esc[0] != 'u' {
		return false
	}
	if len(esc) < 5 {
		return true
	}
	r, err := strconv.ParseUint(string(esc[1:5]), 16, 16)
	return err != nil || strings.ContainsRune("eroERO", rune(r))
}

// signedHeaders are the headers the client signs (sorted): beside the
// content type and the host (all the spec requires), the action, so that
// a request cannot be re-pointed at another action; a random nonce
// (api.NonceHeader), so that the server accepts each request exactly once
// and two identical calls in the same second (the timestamp's resolution)
// still carry different signatures; and the timestamp.
var signedHeaders = []string{"content-type", "host", "x-tc-action", api.NonceHeader, "x-tc-timestamp"}

// sign sets the request's API headers and signs it; bodySHA256 is the
// body's SHA-256 (lower-case hex).
func (c *Client) sign(req *http.Request, action, bodySHA256 string) error {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return err
	}
	ts := c.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", api.Version)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set(api.NonceHeader, hex.EncodeToString(nonce[:]))
	headers := make([][2]string, len(signedHeaders))
	for i, h := range signedHeaders {
		v := req.Header.Get(h)
		if h == "host" {
			v = req.Host
		}
		headers[i] = [2]string{h, v}
	}
	canonical := api.CanonicalRequestHashed(http.MethodPost, "/", "", headers, signedHeaders, bodySHA256)
	sig := api.Sign(c.secretKey, api.Service, ts, canonical)
	date := time.Unix(ts, 0).UTC().Format(time.DateOnly)
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s/%s/tc3_request, SignedHeaders=%s, Signature=%s",
		api.Algorithm, c.secretID, date, api.Service, strings.Join(signedHeaders, ";"), sig))
	return nil
}

// Upload sends a finished scan (UploadComplianceScanResult) and returns
// the id of the task the daemon recorded it as. A refusal is returned as
// *api.Error.
func (c *Client) Upload(ctx context.Context, u api.ScanUpload) (int64, error) {
	var out api.UploadComplianceScanResultResponse
	err := c.Call(ctx, api.UploadAction, u, &out)
	return out.TaskId, namesTask(&out, err)
}

// UploadBody sends a finished scan written as its upload's document
// (api.UploadBody, finished), as Upload does; it can be called again with
// the same document.
func (c *Client) UploadBody(ctx context.Context, b *api.UploadBody) (int64, error) {
	r, size := b.Reader()
	out, err := c.UploadDocument(ctx, r, size, b.SHA256())
	return out.TaskId, err
}

// UploadDocument sends an upload's JSON document (a ScanUpload as JSON),
// read from doc as it is sent: size bytes whose SHA-256 (lower-case hex)
// the caller computed. It returns the daemon's response; one that names
// no task is an error.
func (c *Client) UploadDocument(ctx context.Context, doc io.Reader, size int64, bodySHA256 string) (api.UploadComplianceScanResultResponse, error) {
	var out api.UploadComplianceScanResultResponse
	err := c.send(ctx, api.UploadAction, doc, size, bodySHA256, &out)
	return out, namesTask(&out, err)
}

// namesTask is err, or, without one, the error of an upload's response
// that names no task.
func namesTask(out *api.UploadComplianceScanResultResponse, err error) error {
	if err == nil && out.TaskId == 0 {
		return fmt.Errorf("%s: the response names no task", api.UploadAction)
	}
	return err
}

// Endpoint is the server's address.
func (c *Client) Endpoint() string { return c.base.String() }
