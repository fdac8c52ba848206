package server

import (
	"context"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/store"
)

func (s *Server) periodTask(p store.PeriodTask) api.PeriodTaskInfo {
	out := api.PeriodTaskInfo{PeriodTaskId: p.ID, AssetType: string(p.AssetType), TotalPolicyItemCount: p.TotalPolicyItemCount, PeriodRule: p.Rule,
		LastTriggerTime: "0000-00-00 00:00:00", BenchmarkStandardSet: []api.ComplianceBenchmarkStandard{}}
	if !p.LastTriggerTime.IsZero() {
		out.LastTriggerTime = p.LastTriggerTime.UTC().Format(time.DateTime)
	}
	for _, st := range p.Standards {
		out.BenchmarkStandardSet = append(out.BenchmarkStandardSet, api.ComplianceBenchmarkStandard{StandardId: s.ids.byID[st.StandardID], Name: st.Name,
			PolicyItemCount: st.PolicyItemCount, Enabled: st.Enabled, Description: st.Description, StandardKey: st.StandardID})
	}
	return out
}

func describePeriodTasks(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.DescribeCompliancePeriodTaskListRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	q := store.Query{Offset: req.Offset, Limit: req.Limit}
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	list, err := s.store.PeriodTasks(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.PeriodTaskInfo{}
	for _, p := range list {
		if req.AssetType == "" || string(p.AssetType) == req.AssetType {
			out = append(out, s.periodTask(p))
		}
	}
	total := len(out)
	out = store.Slice(out, q)
	return api.DescribeCompliancePeriodTaskListResponse{PeriodTaskSet: out, TotalCount: total}, nil
}

func modifyPeriodTask(s *Server, ctx context.Context, body []byte) (any, error) {
	var req api.ModifyCompliancePeriodTaskRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.PeriodTaskId == 0 {
		return nil, errorf(api.MissingParameter, "PeriodTaskId is required")
	}
	var switches map[string]bool
	for _, st := range req.StandardSettings {
		id, ok := s.ids.byNum[st.StandardId]
		if !ok {
			return nil, errorf(api.InvalidParameterValue, "StandardSettings.StandardId %d is not a known standard", st.StandardId)
		}
		if switches == nil {
			switches = map[string]bool{}
		}
		switches[id] = st.Enable
	}
	if _, err := s.store.SetPeriodTask(ctx, req.PeriodTaskId, req.PeriodRule, switches); err != nil {
		return nil, err
	}
	s.changed()
	return api.ModifyCompliancePeriodTaskResponse{}, nil
}
