package cli

import (
	"context"
	"errors"
	"fmt"

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
// does not take the others for gone.
func uploadScan(ctx context.Context, g *globals, scope store.Scope, opts scan.Options, rep *results.Report) (store.Task, error) {
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
	id, err := c.Upload(ctx, api.NewScanUpload(scope, rep))
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

// onServer says where a task was recorded when not in the local store.
func onServer(g *globals) string {
	if g.server == "" {
		return ""
	}
	return " on " + g.server
}
