package server

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
)

// actions maps every action name to its handler.
var actions = map[string]handler{
	api.InitializeUserComplianceEnvironment:           initialize,
	api.DescribeComplianceTaskAssetSummary:            describeSummary,
	api.DescribeComplianceAssetList:                   describeAssets,
	api.DescribeComplianceAssetDetailInfo:             describeAssetDetail,
	api.DescribeComplianceAssetPolicyItemList:         describeAssetItems,
	api.DescribeComplianceTaskPolicyItemSummaryList:   describeItems,
	api.DescribeCompliancePolicyItemAffectedSummary:   describeItemSummary,
	api.DescribeCompliancePolicyItemAffectedAssetList: describeItemAssets,
	api.DescribeComplianceScanFailedAssetList:         describeScanFailed,
	api.DescribeComplianceWhitelistItemList:           describeWhitelist,
	api.DescribeCompliancePeriodTaskList:              describePeriodTasks,
	api.ModifyCompliancePeriodTask:                    modifyPeriodTask,
	api.CreateComplianceTask:                          createTask,
	api.ScanComplianceAssets:                          scanAssets,
	api.ScanComplianceAssetsByPolicyItem:              scanAssetsByItem,
	api.ScanCompliancePolicyItems:                     scanItems,
	api.ScanComplianceScanFailedAssets:                scanAssets,
	api.AddCompliancePolicyItemToWhitelist:            addItemToWhitelist,
	api.AddComplianceAssetPolicySetToWhitelist:        addAssetItemsToWhitelist,
	api.AddCompliancePolicyAssetSetToWhitelist:        addItemAssetsToWhitelist,
	api.DeleteCompliancePolicyItemFromWhitelist:       deleteWhitelist,
	api.DeleteComplianceAssetPolicySetFromWhitelist:   deleteAssetItemsFromWhitelist,
	api.DeleteCompliancePolicyAssetSetFromWhitelist:   deleteItemAssetsFromWhitelist,
	api.CreateExportComplianceStatusListJob:           createExportJob,
	api.DescribeExportJobResult:                       describeExportJob,
	api.UploadAction:                                  uploadScan,
}

// standardIDs gives each standard the numeric StandardId of the API: a
// hash of its id, stable across restarts and stores.
type standardIDs struct {
	byNum map[uint64]string
	byID  map[string]uint64
}

func newStandardIDs(cat *checks.Catalog) (standardIDs, error) {
	ids := standardIDs{byNum: map[uint64]string{}, byID: map[string]uint64{}}
	for _, s := range cat.Standards {
		h := fnv.New32a()
		h.Write([]byte(s.ID))
		n := uint64(h.Sum32() & 0x7fffffff)
		if prev, dup := ids.byNum[n]; dup {
			return ids, fmt.Errorf("standards %q and %q hash to the same StandardId; rename one", prev, s.ID)
		}
		ids.byNum[n], ids.byID[s.ID] = s.ID, n
	}
	return ids, nil
}

// pageQuery makes the store query of a list request's paging and
// filters, with the extra filters that are not empty.
func pageQuery(p api.Page, extra ...store.Filter) (store.Query, error) {
	q := store.Query{Offset: p.Offset, Limit: p.Limit, Filters: append([]store.Filter{}, p.Filters...)}
	for _, f := range extra {
		if len(f.Values) > 0 { // an empty AssetTypeSet means every type
			q.Filters = append(q.Filters, f)
		}
	}
	for _, f := range p.Filters {
		if f.Name == "" {
			return q, errorf(api.MissingParameter, "Filters.Name is required")
		}
	}
	if q.Limit > store.MaxLimit {
		return q, errorf(api.InvalidParameterValue, "Limit %d exceeds the maximum of %d", q.Limit, store.MaxLimit)
	}
	return q, q.Normalize()
}

// typedQuery makes the store query of a list request filtered by an
// AssetTypeSet, checking the asset types.
func typedQuery(set []string, p api.Page) (store.Query, error) {
	tf, err := typeFilter(set)
	if err != nil {
		return store.Query{}, err
	}
	return pageQuery(p, tf)
}

// listPage reads one page of a list filtered by an AssetTypeSet with
// fetch, each row converted, and the list's TotalCount.
func listPage[T, W any](ctx context.Context, set []string, p api.Page, fetch store.Fetch[T], conv func(T) W) ([]W, int, error) {
	q, err := typedQuery(set, p)
	if err != nil {
		return nil, 0, err
	}
	rows, total, err := fetch(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	out := make([]W, 0, len(rows))
	for _, r := range rows {
		out = append(out, conv(r))
	}
	return out, total, nil
}

// typeFilter turns an AssetTypeSet into a filter, checking each value and
// keeping each type once.
func typeFilter(set []string) (store.Filter, error) {
	f := store.Filter{Name: "AssetType", ExactMatch: true}
	for _, v := range set {
		t, err := assetType(v)
		if err != nil {
			return f, err
		}
		if !slices.Contains(f.Values, string(t)) {
			f.Values = append(f.Values, string(t))
		}
	}
	return f, nil
}

func assetType(v string) (assets.Type, error) {
	for _, t := range assets.Types {
		if string(t) == v {
			return t, nil
		}
	}
	return "", errorf(api.InvalidParameterValue, "AssetType %q is not one of ASSET_HOST, ASSET_CONTAINER, ASSET_IMAGE, ASSET_K8S", v)
}

func (s *Server) standardName(id string) string {
	if st, ok := s.runner.Catalog().Standard(id); ok {
		return st.Name
	}
	return id
}

// translateStandardFilter lets clients filter by the numeric StandardId.
func (s *Server) translateStandardFilter(fs []store.Filter) ([]store.Filter, error) {
	out := make([]store.Filter, len(fs))
	for i, f := range fs {
		out[i] = f
		if f.Name != "StandardId" {
			continue
		}
		out[i].Values, out[i].ExactMatch = nil, true
		for _, v := range f.Values {
			n, err := strconv.ParseUint(v, 10, 64)
			if id, ok := s.ids.byNum[n]; err == nil && ok {
				out[i].Values = append(out[i].Values, id)
			} else {
				out[i].Values = append(out[i].Values, v)
			}
		}
	}
	return out, nil
}
