package server

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/baselinehq/baseline/api"
)

// The methods below let another front end of this daemon (the console)
// use the API's keys, its failure budget and its actions in process, so
// that a key means the same, a failed login counts as a failed signature
// does, and a write does exactly what its API action does.

// CheckKey returns the configured key with this SecretId when secretKey
// is its SecretKey (compared in constant time).
func (s *Server) CheckKey(secretID, secretKey string) (Key, bool) {
	k, ok := s.keys[secretID]
	if !ok || secretKey == "" || !hmac.Equal([]byte(k.SecretKey), []byte(secretKey)) {
		return Key{}, false
	}
	return k, true
}

// AuthAllowed reports whether the request's client may try to
// authenticate: false once it spent its budget of failures (shared with
// the API's failed signatures), first true for the first refusal of a run
// (the one to log).
func (s *Server) AuthAllowed(r *http.Request) (ok, first bool) {
	return s.failures.allow(clientAddr(r))
}

// AuthFailed counts a failed authentication of the request's client, and
// against the key it named when that key is configured.
func (s *Server) AuthFailed(r *http.Request, secretID string) {
	claimed := ""
	if _, ok := s.keys[secretID]; ok {
		claimed = secretID
	}
	s.authFailed(clientAddr(r), claimed)
}

// ClientAddr is the address a request's failures are counted against.
func ClientAddr(r *http.Request) string { return clientAddr(r) }

// Call runs an API action in process on behalf of key, with params as
// its request: the same decoding and checks, the same handler, the same
// read-only rule as a signed request. Its error is an *api.Error. A
// download link in the response is relative to the daemon's root.
func (s *Server) Call(ctx context.Context, key Key, action string, params any) (resp any, err error) {
	a, ok := actions[action]
	if !ok {
		return nil, errorf(api.InvalidAction, "action %q is not known", api.Clip(action, clipLen))
	}
	if key.ReadOnly && !strings.HasPrefix(action, "Describe") {
		return nil, errorf(api.AuthFailureUnauthorized, "SecretId %s is read-only: %s changes state", key.SecretID, action)
	}
	body, jerr := json.Marshal(params)
	if jerr != nil {
		return nil, errorf(api.InternalError, "encoding the parameters of %s: %v", action, jerr)
	}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("in-process call failed: the handler panicked", "action", action, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			resp, err = nil, errorf(api.InternalError, "the server failed on %s (see its log)", action)
		}
	}()
	ctx = context.WithValue(ctx, keyContext{}, key)
	ctx = context.WithValue(ctx, baseURLContext{}, "")
	out, herr := a(s, ctx, body)
	if herr != nil {
		return nil, apiError(herr)
	}
	return out, nil
}
