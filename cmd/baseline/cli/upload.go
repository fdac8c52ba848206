package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/scan"
	"github.com/baselinehq/baseline/store"
)

// uploadScan sends a scan of this host to the daemon at --server, which
// records it as a task of its own (trigger upload); the local store is
// not opened. scope is the scan's selection; a scan of chosen assets
// uploads as a partial scan of the assets it found, so that the daemon
// does not take the others for gone. body, when not nil, holds the scan's
// results already (they were streamed to it, and rep has none): it is
// finished and sent; otherwise the upload is made of rep.
func uploadScan(ctx context.Context, g *globals, scope store.Scope, opts scan.Options, rep *results.Report, body *api.UploadBody) (store.Task, error) {
	c, err := client.New(g.server, g.secretID, g.secretKey)
	if err != nil {
		return store.Task{}, fmt.Errorf("--server: %w (set --secret-id and --secret-key, or BASELINE_SECRET_ID and BASELINE_SECRET_KEY)", err)
	}
	if scope.Node == "" {
		scope.Node = runner.NodeName(g.nodeName) // as the daemon on this host names its tasks
	}
	if len(opts.Assets) > 0 && len(scope.Assets) == 0 {
		for _, a := range rep.Assets {
			scope.Assets = append(scope.Assets, a.ID)
		}
	}
	// One idempotency key for every attempt, so that an attempt whose
	// answer was lost is not recorded twice when sent again: the daemon
	// answers the retry with the first attempt's task.
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		return store.Task{}, err
	}
	key := "scan/" + hex.EncodeToString(k[:])
	send := func() (int64, error) {
		u := api.NewScanUpload(scope, rep)
		u.IdempotencyKey = key
		return c.Upload(ctx, u)
	}
	if body != nil { // the results are in the upload's document already
		if err := body.Finish(scope, rep, key); err != nil {
			return store.Task{}, fmt.Errorf("writing the upload: %w", err)
		}
		send = func() (int64, error) { return c.UploadBody(ctx, body) }
	}
	id, err := uploadWithRetries(ctx, g, send)
	var ae *api.Error
	switch {
	case errors.As(err, &ae) && ae.Code == api.ErrAlreadyScanning:
		return store.Task{}, fmt.Errorf("%s refused the upload (%w); wait for that task to finish", g.server, err)
	case errors.As(err, &ae):
		return store.Task{}, fmt.Errorf("%s refused the upload: %w", g.server, err)
	case err != nil:
		return store.Task{}, fmt.Errorf("uploading to %s: %w", g.server, err)
	}
	return store.Task{ID: id, Trigger: store.TriggerUpload, Scope: scope}, nil
}

// uploadAttempts and uploadFirstWait bound how `scan --server` retries
// an upload that failed on the way (the daemon unreachable, overloaded,
// or an answer lost): at most 4 attempts, 1 s apart then doubling.
const (
	uploadAttempts  = 4
	uploadFirstWait = time.Second
)

// uploadWithRetries sends an upload (send, which sends it under the same
// idempotency key each time) until it lands. A refusal, or a daemon busy
// with the same scope, is returned at once.
func uploadWithRetries(ctx context.Context, g *globals, send func() (int64, error)) (int64, error) {
	wait := uploadFirstWait
	for attempt := 1; ; attempt++ {
		id, err := send()
		var ae *api.Error
		if err == nil || attempt == uploadAttempts || !api.Retryable(err) || (errors.As(err, &ae) && ae.Code == api.ErrAlreadyScanning) {
			return id, err
		}
		fmt.Fprintf(g.stderr, "baseline: upload attempt %d of %d to %s failed (%v); trying again in %s\n", attempt, uploadAttempts, g.server, err, wait)
		select {
		case <-ctx.Done():
			return 0, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// onServer says where a task was recorded when not in the local store.
func onServer(g *globals) string {
	if g.server == "" {
		return ""
	}
	return " on " + g.server
}
