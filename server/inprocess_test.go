package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store/sqlite"
)

// The in-process entry points take the API's keys, failure budget and
// actions as they are: the same key check, the same read-only rule, the
// same parameter checks.
func TestInProcessCallsFollowTheAPIRules(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.EnsurePeriodTasks(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(ctx, &checks.Catalog{}, db, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	full := server.Key{SecretID: "AKIDfull", SecretKey: "full-secret"}
	ro := server.Key{SecretID: "AKIDro", SecretKey: "ro-secret", ReadOnly: true}
	s, err := server.New(db, r, server.Options{Keys: []server.Key{full, ro}, ExportDir: t.TempDir(), AuthFailureBurst: 2, AuthFailuresPerSecond: 0.001,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	if k, ok := s.CheckKey("AKIDro", "ro-secret"); !ok || !k.ReadOnly {
		t.Errorf("CheckKey of the read-only key: %+v, %v", k, ok)
	}
	for _, c := range [][2]string{{"AKIDfull", "ro-secret"}, {"AKIDfull", ""}, {"AKIDnone", "full-secret"}, {"", ""}} {
		if _, ok := s.CheckKey(c[0], c[1]); ok {
			t.Errorf("CheckKey(%q, %q) accepted", c[0], c[1])
		}
	}

	code := func(err error) string {
		var ae *api.Error
		if !errors.As(err, &ae) {
			return "not an *api.Error: " + err.Error()
		}
		return ae.Code
	}
	period := api.ModifyCompliancePeriodTaskRequest{PeriodTaskId: 1}
	if _, err := s.Call(ctx, ro, api.ModifyCompliancePeriodTask, period); code(err) != api.AuthFailureUnauthorized {
		t.Errorf("a read-only key's write: %v", err)
	}
	if _, err := s.Call(ctx, full, "NoSuchAction", nil); code(err) != api.InvalidAction {
		t.Errorf("an unknown action: %v", err)
	}
	if _, err := s.Call(ctx, full, api.DescribeExportJobResult, api.DescribeExportJobResultRequest{}); code(err) != api.MissingParameter {
		t.Errorf("a missing parameter: %v", err)
	}
	resp, err := s.Call(ctx, ro, api.DescribeCompliancePeriodTaskList, api.DescribeCompliancePeriodTaskListRequest{Limit: 10})
	if err != nil || len(resp.(api.DescribeCompliancePeriodTaskListResponse).PeriodTaskSet) == 0 {
		t.Errorf("a read-only key's Describe: %v, %v", resp, err)
	}

	req := httptest.NewRequest("POST", "/console/login", nil)
	req.RemoteAddr = "192.0.2.9:1234"
	for range 2 {
		if ok, _ := s.AuthAllowed(req); !ok {
			t.Fatal("a client is refused before any failure")
		}
		s.AuthFailed(req, "AKIDfull")
	}
	if ok, first := s.AuthAllowed(req); ok || !first {
		t.Errorf("after the budget of failures: allowed %v, first refusal %v", ok, first)
	}
	if ok, first := s.AuthAllowed(req); ok || first {
		t.Errorf("the second refusal: allowed %v, first %v (only the first is logged)", ok, first)
	}
	other := httptest.NewRequest("POST", "/console/login", nil)
	other.RemoteAddr = "192.0.2.10:1234"
	if ok, _ := s.AuthAllowed(other); !ok {
		t.Error("another address shares the throttled one's budget")
	}
}
