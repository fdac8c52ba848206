package api_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/api"
)

// The responses that the server once wrote as maps, and the entries that
// replaced maps, declare their fields in the order of their JSON names:
// encoding/json writes a map's keys sorted and a struct's fields in order,
// so only then is the struct the same bytes as the map it replaced.
func TestResponseFieldsAreInJSONOrder(t *testing.T) {
	for _, v := range []any{
		api.DescribeComplianceTaskAssetSummaryResponse{},
		api.DescribeComplianceAssetListResponse{},
		api.DescribeComplianceAssetDetailInfoResponse{},
		api.ComplianceAssetDetailInfo{},
		api.ComplianceContainerDetailInfo{},
		api.ComplianceHostDetailInfo{},
		api.ComplianceImageDetailInfo{},
		api.ComplianceK8SDetailInfo{},
		api.DescribeComplianceAssetPolicyItemListResponse{},
		api.DescribeComplianceTaskPolicyItemSummaryListResponse{},
		api.DescribeCompliancePolicyItemAffectedSummaryResponse{},
		api.DescribeCompliancePolicyItemAffectedAssetListResponse{},
		api.DescribeComplianceScanFailedAssetListResponse{},
		api.DescribeComplianceWhitelistItemListResponse{},
		api.DescribeCompliancePeriodTaskListResponse{},
		api.ComplianceBenchmarkStandard{},
		api.CreateComplianceTaskResponse{},
		api.ScanComplianceAssetsResponse{},
		api.ScanComplianceAssetsByPolicyItemResponse{},
		api.ScanCompliancePolicyItemsResponse{},
		api.CreateExportComplianceStatusListJobResponse{},
		api.DescribeExportJobResultResponse{},
		api.UploadComplianceScanResultResponse{},
	} {
		typ := reflect.TypeOf(v)
		var names []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Anonymous {
				t.Errorf("%s embeds %s: its fields would not be in JSON order", typ.Name(), f.Name)
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				t.Errorf("%s.%s has no JSON name", typ.Name(), f.Name)
			}
			names = append(names, name)
		}
		if !slices.IsSorted(names) {
			sorted := slices.Sorted(slices.Values(names))
			t.Errorf("%s declares %v; declare them as %v", typ.Name(), names, sorted)
		}
	}
}
