package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// uploadScan records an uploaded scan as a task, exactly as a scan run
// here is recorded.
func uploadScan(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.UploadComplianceScanResultRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	rep, err := s.uploadReport(&req)
	if err != nil {
		return nil, err
	}
	key, _ := ctx.Value(keyContext{}).(Key)
	if err := s.uploadNode(ctx, key, req.Scope.Node); err != nil {
		return nil, err
	}
	if resp, ok, err := s.appliedUpload(ctx, &req); err != nil || ok {
		return resp, err
	}
	if err := s.checkAssetNodes(ctx, &req); err != nil {
		return nil, err
	}
	task, err := s.recordUpload(ctx, &req, rep)
	if errors.Is(err, store.ErrAlreadyApplied) {
		// Another attempt of the same upload landed meanwhile.
		if resp, ok, err := s.appliedUpload(ctx, &req); err != nil || ok {
			return resp, err
		}
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("upload recorded", "task", task.ID, "node", api.Clip(req.Scope.Node, clipLen), "assets", len(rep.Assets), "results", len(rep.Results))
	return api.UploadComplianceScanResultResponse{ResultCount: task.ResultCount, TaskId: task.ID}, nil
}

// recordUpload records the upload as a task; with an idempotency key, on
// a store that keeps keys, the key is recorded in the same transaction.
func (s *Server) recordUpload(ctx context.Context, req *api.ScanUpload, rep *results.Report) (store.Task, error) {
	ledger, ok := s.store.(store.OutboxStore)
	if req.IdempotencyKey == "" || !ok {
		return s.runner.Record(ctx, store.TriggerUpload, req.Scope, rep)
	}
	return s.runner.RecordUpload(ctx, ledger, req.Scope, rep, req.IdempotencyKey)
}

// appliedUpload answers an upload whose idempotency key was applied
// already with what its first attempt was recorded as (ok true).
func (s *Server) appliedUpload(ctx context.Context, req *api.ScanUpload) (api.UploadComplianceScanResultResponse, bool, error) {
	ledger, ok := s.store.(store.OutboxStore)
	if req.IdempotencyKey == "" || !ok {
		return api.UploadComplianceScanResultResponse{}, false, nil
	}
	u, ok, err := ledger.AppliedUpload(ctx, req.Scope.Node, req.IdempotencyKey)
	if err != nil || !ok {
		return api.UploadComplianceScanResultResponse{}, false, err
	}
	s.log.Info("upload already applied", "task", u.TaskID, "node", api.Clip(req.Scope.Node, clipLen), "key", api.Clip(req.IdempotencyKey, clipLen))
	return api.UploadComplianceScanResultResponse{ResultCount: u.ResultCount, TaskId: u.TaskID, AlreadyApplied: true}, true, nil
}

// checkIdempotencyKey bounds an upload's key: printable ASCII, no space,
// at most api.MaxIdempotencyKeyBytes.
func checkIdempotencyKey(key string) error {
	if len(key) > api.MaxIdempotencyKeyBytes {
		return errorf(api.InvalidParameterValue, "IdempotencyKey: at most %d bytes (got %d)", api.MaxIdempotencyKeyBytes, len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return errorf(api.InvalidParameterValue, "IdempotencyKey: byte %d is a space or not printable ASCII", i)
		}
	}
	return nil
}

// checkUploadScope checks a key's upload options: a key lists the nodes it
// may upload scans of, or may upload any node's, or neither; a read-only
// key uploads nothing.
func checkUploadScope(k Key) error {
	switch {
	case k.ReadOnly && (len(k.Nodes) > 0 || k.UploadAnyNode):
		return errors.New("nodes and upload_any_node apply to full-access keys: a read-only key uploads nothing")
	case len(k.Nodes) > 0 && k.UploadAnyNode:
		return errors.New("nodes and upload_any_node exclude each other")
	case slices.Contains(k.Nodes, ""):
		return errors.New("nodes: a node name is empty")
	}
	return nil
}

// uploadNode checks that key may upload a scan of node (Scope.NodeName):
// a key with upload_any_node may upload any node's (a daemon that
// forwards other hosts' scans, an operator's key); a key with nodes, the
// listed nodes'; any other key, the node of its first upload only, which
// the store records (a node's daemon or `baseline scan --server` on one
// host, each with its own key).
func (s *Server) uploadNode(ctx context.Context, key Key, node string) error {
	switch {
	case key.UploadAnyNode:
		return nil
	case len(key.Nodes) > 0:
		if slices.Contains(key.Nodes, node) {
			return nil
		}
		return errorf(api.AuthFailureUnauthorized, "SecretId %s may upload scans of node %s only (its nodes in api.keys), not of Scope.NodeName %q",
			key.SecretID, strings.Join(key.Nodes, ", "), node)
	}
	bound, err := s.store.BindUploadKey(ctx, key.SecretID, node)
	if err != nil {
		return err
	}
	if bound != node {
		return errorf(api.AuthFailureUnauthorized, "SecretId %s uploads scans of node %q, the node of its first upload, not of Scope.NodeName %q (list the key's nodes in api.keys to change it)",
			key.SecretID, bound, node)
	}
	return nil
}

// checkAssetNodes refuses an upload that carries an asset, or names a
// host, last recorded for another node than its Scope.NodeName: a node's
// results are never rewritten by another node's upload, whatever its key.
func (s *Server) checkAssetNodes(ctx context.Context, u *api.ScanUpload) error {
	ids := make([]uint64, 0, len(u.Assets)+1)
	for _, a := range u.Assets {
		ids = append(ids, a.ID)
	}
	if u.Host != nil {
		ids = append(ids, u.Host.ID)
	}
	nodes, err := s.store.AssetNodes(ctx, ids)
	if err != nil {
		return err
	}
	for i, a := range u.Assets {
		if n, ok := nodes[a.ID]; ok && n != u.Scope.Node {
			return errorf(api.AuthFailureUnauthorized, "Assets[%d]: asset %d (%s) is recorded for node %q; an upload for node %q may not rewrite it",
				i, a.ID, a.Name, n, u.Scope.Node)
		}
	}
	if u.Host != nil {
		if n, ok := nodes[u.Host.ID]; ok && n != u.Scope.Node {
			return errorf(api.AuthFailureUnauthorized, "Host: asset %d (%s) is recorded for node %q; an upload for node %q may not name it",
				u.Host.ID, u.Host.Name, n, u.Scope.Node)
		}
	}
	return nil
}

// uploadReport checks an upload against this daemon's catalog and turns
// it into the report the store records. Each error names the field.
func (s *Server) uploadReport(u *api.ScanUpload) (*results.Report, error) {
	switch {
	case u.Scope.Node == "":
		return nil, errorf(api.MissingParameter, "Scope.NodeName is required: the host that ran the scan")
	case u.StartedAt.IsZero():
		return nil, errorf(api.MissingParameter, "StartedAt is required (RFC 3339)")
	case u.FinishedAt.IsZero():
		return nil, errorf(api.MissingParameter, "FinishedAt is required (RFC 3339)")
	case u.FinishedAt.Before(u.StartedAt):
		return nil, errorf(api.InvalidParameterValue, "FinishedAt %s is before StartedAt %s", u.FinishedAt.Format(time.RFC3339), u.StartedAt.Format(time.RFC3339))
	}
	if err := checkIdempotencyKey(u.IdempotencyKey); err != nil {
		return nil, err
	}
	rep := &results.Report{StartedAt: u.StartedAt, FinishedAt: u.FinishedAt, Assets: u.Assets, Results: u.Results, Failures: u.ScanFailedAssets}
	var err error
	if rep.Items, rep.Standards, err = scopeItems(s.runner.Catalog(), u.Scope); err != nil {
		return nil, err
	}
	if u.Host != nil {
		if u.Host.ID == 0 || u.Host.Type != assets.Host {
			return nil, errorf(api.InvalidParameterValue, "Host must be an ASSET_HOST asset with its CustomerAssetId")
		}
		rep.Host = *u.Host
	}
	byID, err := uploadedAssets(u.Assets)
	if err != nil {
		return nil, err
	}
	if err := checkResults(s.runner.Catalog(), rep.Items, byID, u.Results, u.FinishedAt); err != nil {
		return nil, err
	}
	// A failure may name the Host without it being in Assets: the engine
	// could not be reached while other assets were scanned.
	for i := range u.ScanFailedAssets {
		f := &u.ScanFailedAssets[i]
		if _, ok := byID[f.AssetID]; !ok && (u.Host == nil || f.AssetID != u.Host.ID) {
			return nil, errorf(api.InvalidParameterValue, "ScanFailedAssets[%d].CustomerAssetId %d is neither in Assets nor the Host", i, f.AssetID)
		}
		if f.Reason == "" {
			return nil, errorf(api.MissingParameter, "ScanFailedAssets[%d].Reason is required", i)
		}
		if f.CheckTime.IsZero() {
			f.CheckTime = u.FinishedAt
		}
	}
	return rep, nil
}

// scopeItems checks the scope's standards, types and items against the
// catalog and returns the items the scan selected (the catalog's selection,
// as scan.Run makes it) and their standards, each refusal naming the field.
func scopeItems(cat *checks.Catalog, sc store.Scope) ([]*checks.Item, []*checks.Standard, error) {
	if len(sc.Standards) == 0 {
		return nil, nil, errorf(api.MissingParameter, "Scope.StandardIds is required: the standards the scan judged")
	}
	items, stds, err := cat.Select(checks.Selection{Types: sc.Types, Standards: sc.Standards, Items: sc.Items})
	var unknownStd *checks.UnknownStandardError
	var unknownType *checks.UnknownTypeError
	var unknownItem *checks.UnknownItemError
	switch {
	case err == nil:
		return items, stds, nil
	case errors.As(err, &unknownStd):
		return nil, nil, errorf(api.InvalidParameterValue, "Scope.StandardIds: standard %q is not in this daemon's catalog (load its benchmark here too)", unknownStd.ID)
	case errors.As(err, &unknownType):
		_, typeErr := assetType(string(unknownType.Type))
		return nil, nil, errorf(api.InvalidParameterValue, "Scope.AssetTypes: %s", typeErr.(*api.Error).Message)
	case errors.As(err, &unknownItem):
		return nil, nil, errorf(api.InvalidParameterValue, "Scope.CustomerPolicyItemIds: item %d is not in this daemon's catalog", unknownItem.ID)
	case errors.Is(err, checks.ErrNothingSelected):
		return nil, nil, errorf(api.InvalidParameterValue, "Scope selects no item of standards %v", sc.Standards)
	}
	return nil, nil, err
}

// uploadedAssets checks the assets and maps their ids to their types.
func uploadedAssets(list []assets.Asset) (map[uint64]assets.Type, error) {
	byID := make(map[uint64]assets.Type, len(list))
	for i, a := range list {
		if a.ID == 0 {
			return nil, errorf(api.MissingParameter, "Assets[%d].CustomerAssetId is required", i)
		}
		if _, err := assetType(string(a.Type)); err != nil {
			return nil, errorf(api.InvalidParameterValue, "Assets[%d]: %s", i, err.(*api.Error).Message)
		}
		if _, dup := byID[a.ID]; dup {
			return nil, errorf(api.InvalidParameterValue, "Assets[%d]: CustomerAssetId %d is listed twice", i, a.ID)
		}
		byID[a.ID] = a.Type
	}
	return byID, nil
}

// checkResults checks each result: a catalog item of the scope on an
// uploaded asset of the item's type, once per pair, with a verdict a scan
// gives; a result without its time gets the scan's end.
func checkResults(cat *checks.Catalog, items []*checks.Item, byID map[uint64]assets.Type, results []results.Result, finished time.Time) error {
	inScope := make(map[uint64]bool, len(items))
	for _, it := range items {
		inScope[it.ID] = true
	}
	seen := make(map[[2]uint64]bool, len(results))
	for i := range results {
		r := &results[i]
		it, ok := cat.Item(r.ItemID)
		switch {
		case !ok:
			return errorf(api.InvalidParameterValue, "Results[%d].CustomerPolicyItemId %d is not an item of this daemon's catalog (its standard must be loaded here too)", i, r.ItemID)
		case !inScope[r.ItemID]:
			return errorf(api.InvalidParameterValue, "Results[%d].CustomerPolicyItemId %d (standard %s) is outside the upload's Scope", i, r.ItemID, it.Standard.ID)
		}
		at, ok := byID[r.AssetID]
		switch {
		case !ok:
			return errorf(api.InvalidParameterValue, "Results[%d].CustomerAssetId %d is not in Assets", i, r.AssetID)
		case at != it.AssetType:
			return errorf(api.InvalidParameterValue, "Results[%d]: item %d judges %s, asset %d is %s", i, r.ItemID, it.AssetType, r.AssetID, at)
		case seen[[2]uint64{r.ItemID, r.AssetID}]:
			return errorf(api.InvalidParameterValue, "Results[%d]: item %d on asset %d is listed twice", i, r.ItemID, r.AssetID)
		}
		seen[[2]uint64{r.ItemID, r.AssetID}] = true
		if err := checkVerdict(i, r.Verdict); err != nil {
			return err
		}
		if r.CheckedAt.IsZero() {
			r.CheckedAt = finished
		}
	}
	return nil
}

// checkVerdict accepts what a scan produces: a finished check with its
// result, or a check that could not be carried out.
func checkVerdict(i int, v checks.Verdict) error {
	switch v.Status {
	case checks.CheckFinished:
		switch v.Result {
		case checks.ResultPassed, checks.ResultFailed, checks.ResultManual, checks.ResultNotApplicable:
			return nil
		}
		return errorf(api.InvalidParameterValue, "Results[%d].CheckResult %q is not RESULT_PASSED, RESULT_FAILED, RESULT_MANUAL or RESULT_NOT_APPLICABLE", i, v.Result)
	case checks.CheckFailed:
		if v.Result != "" {
			return errorf(api.InvalidParameterValue, "Results[%d]: a CHECK_FAILED result has no CheckResult (got %q)", i, v.Result)
		}
		return nil
	}
	return errorf(api.InvalidParameterValue, "Results[%d].CheckStatus %q is not CHECK_FINISHED or CHECK_FAILED", i, v.Status)
}

// uploadLimit is the body limit of a request naming key (its signature
// not yet checked): MaxUploadBytes for an upload with a key that may
// write, the general limit otherwise. Beyond inMemoryBody the body is
// spooled to a file while it is hashed (readBody), so a large limit costs
// disk for a moment, not memory, until the signature holds.
func (s *Server) uploadLimit(action string, key Key) (int64, string) {
	if action != api.UploadAction || key.ReadOnly {
		return s.maxBody, "api.max_body_bytes"
	}
	return s.maxUpload, "api.max_upload_bytes"
}
