package server

import (
	"context"
	"strconv"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/scan"
	"github.com/baselinehq/baseline/store"
)

// start starts a task of the scope and returns its id.
func (s *Server) start(ctx context.Context, trigger store.Trigger, scope store.Scope) (int64, error) {
	sel := scan.Options{Types: scope.Types, Standards: scope.Standards, Items: scope.Items}
	for _, id := range scope.Assets {
		sel.Assets = append(sel.Assets, strconv.FormatUint(id, 10))
	}
	task, err := s.runner.Start(ctx, runner.Request{Trigger: trigger, Scope: scope, Select: sel})
	if err != nil {
		return 0, err
	}
	return task.ID, nil
}

func createTask(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.CreateComplianceTaskRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	var scope store.Scope
	for _, v := range req.AssetTypeSet {
		t, err := assetType(v)
		if err != nil {
			return nil, err
		}
		scope.Types = append(scope.Types, t)
	}
	if req.PolicySetId != 0 {
		id, ok := s.ids.byNum[req.PolicySetId]
		if !ok {
			return nil, errorf(api.InvalidParameterValue, "PolicySetId %d is not a known standard", req.PolicySetId)
		}
		scope.Standards = []string{id}
	}
	trigger := store.TriggerManual
	if req.PeriodTaskId != 0 {
		periods, err := s.store.PeriodTasks(ctx)
		if err != nil {
			return nil, err
		}
		found := false
		for _, p := range periods {
			if p.ID == req.PeriodTaskId {
				found = true
				scope.Types = append(scope.Types, p.AssetType)
				if len(scope.Standards) == 0 {
					scope.Standards = p.EnabledStandards()
				}
			}
		}
		if !found {
			return nil, errorf(api.ResourceNotFound, "PeriodTaskId %d is not a period task", req.PeriodTaskId)
		}
		if len(scope.Standards) == 0 {
			return nil, errorf(api.InvalidParameterValue, "period task %d has every standard switched off", req.PeriodTaskId)
		}
		trigger = store.TriggerPeriod
	}
	if len(scope.Types) == 0 && len(scope.Standards) == 0 {
		return nil, errorf(api.MissingParameter, "give AssetTypeSet, PolicySetId or PeriodTaskId")
	}
	id, err := s.start(ctx, trigger, scope)
	if err != nil {
		return nil, err
	}
	return api.CreateComplianceTaskResponse{TaskId: id}, nil
}

func requireIDs(name string, ids []uint64) error {
	if len(ids) == 0 {
		return errorf(api.MissingParameter, "%s is required", name)
	}
	return nil
}

// scanAssets rechecks the assets given (ScanComplianceAssets), also when
// they are the scan-failed ones (ScanComplianceScanFailedAssets: the same
// request and the same task).
func scanAssets(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.ScanComplianceAssetsRequest // also api.ScanComplianceScanFailedAssetsRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := requireIDs("CustomerAssetIdSet", req.CustomerAssetIdSet); err != nil {
		return nil, err
	}
	id, err := s.start(ctx, store.TriggerRecheck, store.Scope{Assets: req.CustomerAssetIdSet})
	if err != nil {
		return nil, err
	}
	return api.ScanComplianceAssetsResponse{TaskId: id}, nil
}

func scanAssetsByItem(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.ScanComplianceAssetsByPolicyItemRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.CustomerPolicyItemId == 0 {
		return nil, errorf(api.MissingParameter, "CustomerPolicyItemId is required")
	}
	if err := requireIDs("CustomerAssetIdSet", req.CustomerAssetIdSet); err != nil {
		return nil, err
	}
	if _, err := s.store.Item(ctx, req.CustomerPolicyItemId); err != nil {
		return nil, err
	}
	id, err := s.start(ctx, store.TriggerRecheck, store.Scope{Items: []uint64{req.CustomerPolicyItemId}, Assets: req.CustomerAssetIdSet})
	if err != nil {
		return nil, err
	}
	return api.ScanComplianceAssetsByPolicyItemResponse{TaskId: id}, nil
}

func scanItems(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.ScanCompliancePolicyItemsRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := requireIDs("CustomerPolicyItemIdSet", req.CustomerPolicyItemIdSet); err != nil {
		return nil, err
	}
	for _, id := range req.CustomerPolicyItemIdSet {
		if _, ok := s.runner.Catalog().Item(id); !ok {
			return nil, errorf(api.ResourceNotFound, "CustomerPolicyItemIdSet: item %d is not known", id)
		}
	}
	id, err := s.start(ctx, store.TriggerRecheck, store.Scope{Items: req.CustomerPolicyItemIdSet})
	if err != nil {
		return nil, err
	}
	return api.ScanCompliancePolicyItemsResponse{TaskId: id}, nil
}
