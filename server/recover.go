package server

import (
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/baselinehq/baseline/api"
)

// guarded answers one request with handle, and a panic in any part of it
// (authentication, decoding, an action's handler) with InternalError: the
// panic is logged at Error level with the action, the request id the
// envelope carries and the stack, and the daemon goes on serving.
func (s *Server) guarded(r *http.Request, action, reqID, client string) (resp any, apiErr *api.Error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { // net/http's own way to abort a response: not a failure
			panic(v)
		}
		s.log.Error("request failed: the handler panicked", "action", api.Clip(action, clipLen), "client", client, "request_id", reqID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		resp, apiErr = nil, errorf(api.InternalError, "the server failed on this request (RequestId %s is in its log)", reqID)
	}()
	return s.handle(r, action, client)
}
