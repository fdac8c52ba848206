package api

import "github.com/baselinehq/baseline/store"

// The request of each action: the parameters the server accepts, exactly
// (it refuses any other). A required parameter has no omitempty; an
// optional one has, so that a client sends only what it sets. Asset types
// are strings on the wire: the server checks each one and names a wrong
// one in its error.

// InitializeUserComplianceEnvironmentRequest takes no parameter.
type InitializeUserComplianceEnvironmentRequest struct{}

// DescribeComplianceTaskAssetSummaryRequest asks for the roll-up of each
// asset type listed (at least one).
type DescribeComplianceTaskAssetSummaryRequest struct {
	AssetTypeSet []string `json:"AssetTypeSet"`
}

// DescribeComplianceAssetListRequest pages the assets, of the types listed
// (none: every type).
type DescribeComplianceAssetListRequest struct {
	AssetTypeSet []string `json:"AssetTypeSet,omitempty"`
	Page
}

// DescribeComplianceAssetDetailInfoRequest asks for one asset.
type DescribeComplianceAssetDetailInfoRequest struct {
	CustomerAssetId uint64 `json:"CustomerAssetId"`
	AssetType       string `json:"AssetType,omitempty"`
}

// DescribeComplianceAssetPolicyItemListRequest pages the results on one
// asset; a StandardId filter may give the numeric id.
type DescribeComplianceAssetPolicyItemListRequest struct {
	CustomerAssetId uint64 `json:"CustomerAssetId"`
	AssetType       string `json:"AssetType,omitempty"`
	Page
}

// DescribeComplianceTaskPolicyItemSummaryListRequest pages the items with
// their roll-ups, of one asset type (empty: every type); a StandardId
// filter may give the numeric id.
type DescribeComplianceTaskPolicyItemSummaryListRequest struct {
	AssetType string `json:"AssetType,omitempty"`
	Page
}

// DescribeCompliancePolicyItemAffectedSummaryRequest asks for one item's
// roll-up.
type DescribeCompliancePolicyItemAffectedSummaryRequest struct {
	CustomerPolicyItemId uint64 `json:"CustomerPolicyItemId"`
}

// DescribeCompliancePolicyItemAffectedAssetListRequest pages one item's
// results on the assets.
type DescribeCompliancePolicyItemAffectedAssetListRequest struct {
	CustomerPolicyItemId uint64 `json:"CustomerPolicyItemId"`
	Page
}

// DescribeComplianceScanFailedAssetListRequest pages the assets whose last
// scan failed, of the types listed (none: every type).
type DescribeComplianceScanFailedAssetListRequest struct {
	AssetTypeSet []string `json:"AssetTypeSet,omitempty"`
	Page
}

// DescribeComplianceWhitelistItemListRequest pages the ignore list, of the
// types listed (none: every type), newest first unless Order is "asc".
// By is accepted and not used: the list is ordered by entry.
type DescribeComplianceWhitelistItemListRequest struct {
	AssetTypeSet []string `json:"AssetTypeSet,omitempty"`
	By           string   `json:"By,omitempty"`
	Order        string   `json:"Order,omitempty"`
	Page
}

// DescribeCompliancePeriodTaskListRequest pages the period tasks, of one
// asset type (empty: every type). It takes no filters.
type DescribeCompliancePeriodTaskListRequest struct {
	AssetType string `json:"AssetType,omitempty"`
	Offset    int    `json:"Offset"`
	Limit     int    `json:"Limit"`
}

// ModifyCompliancePeriodTaskRequest changes a period task's rule, switches
// its standards on or off (by numeric StandardId), or both.
type ModifyCompliancePeriodTaskRequest struct {
	PeriodTaskId     int64                               `json:"PeriodTaskId"`
	PeriodRule       *store.PeriodRule                   `json:"PeriodRule,omitempty"`
	StandardSettings []ComplianceBenchmarkStandardEnable `json:"StandardSettings,omitempty"`
}

// ComplianceBenchmarkStandardEnable switches a standard of a period task
// on or off.
type ComplianceBenchmarkStandardEnable struct {
	StandardId uint64 `json:"StandardId"`
	Enable     bool   `json:"Enable"`
}

// CreateComplianceTaskRequest starts a scan of asset types, of a standard
// (PolicySetId: its numeric id), or as a period task would run; at least
// one of them.
type CreateComplianceTaskRequest struct {
	AssetTypeSet []string `json:"AssetTypeSet,omitempty"`
	PolicySetId  uint64   `json:"PolicySetId,omitempty"`
	PeriodTaskId int64    `json:"PeriodTaskId,omitempty"`
}

// ScanComplianceAssetsRequest rechecks the assets listed.
type ScanComplianceAssetsRequest struct {
	CustomerAssetIdSet []uint64 `json:"CustomerAssetIdSet"`
	AssetType          string   `json:"AssetType,omitempty"`
}

// ScanComplianceScanFailedAssetsRequest rechecks the scan-failed assets
// listed: the request of ScanComplianceAssets.
type ScanComplianceScanFailedAssetsRequest = ScanComplianceAssetsRequest

// ScanComplianceAssetsByPolicyItemRequest rechecks one item on the assets
// listed.
type ScanComplianceAssetsByPolicyItemRequest struct {
	CustomerPolicyItemId uint64   `json:"CustomerPolicyItemId"`
	CustomerAssetIdSet   []uint64 `json:"CustomerAssetIdSet"`
	AssetType            string   `json:"AssetType,omitempty"`
}

// ScanCompliancePolicyItemsRequest rechecks the items listed on every
// asset.
type ScanCompliancePolicyItemsRequest struct {
	CustomerPolicyItemIdSet []uint64 `json:"CustomerPolicyItemIdSet"`
}

// WhitelistOptions are the optional parameters this server adds to the
// spec's whitelist requests: why, by whom (default "api"), and until when
// (YYYY-MM-DD HH:MM:SS, UTC; empty: never).
type WhitelistOptions struct {
	Reason     string `json:"Reason,omitempty"`
	Operator   string `json:"Operator,omitempty"`
	ExpireTime string `json:"ExpireTime,omitempty"`
}

// AddCompliancePolicyItemToWhitelistRequest ignores the items listed on
// every asset.
type AddCompliancePolicyItemToWhitelistRequest struct {
	CustomerPolicyItemIdSet []uint64 `json:"CustomerPolicyItemIdSet"`
	WhitelistOptions
}

// AddComplianceAssetPolicySetToWhitelistRequest ignores, on each asset
// listed, its items listed (none: every item of the asset's type).
type AddComplianceAssetPolicySetToWhitelistRequest struct {
	AssetPolicySetList []ComplianceAssetPolicySetItem `json:"AssetPolicySetList"`
	AssetType          string                         `json:"AssetType,omitempty"`
	WhitelistOptions
}

// ComplianceAssetPolicySetItem is an asset with some of its items.
type ComplianceAssetPolicySetItem struct {
	CustomerAssetItemId     uint64   `json:"CustomerAssetItemId"`
	CustomerPolicyItemIdSet []uint64 `json:"CustomerPolicyItemIdSet,omitempty"`
}

// AddCompliancePolicyAssetSetToWhitelistRequest ignores one item on the
// assets listed (none: on every asset).
type AddCompliancePolicyAssetSetToWhitelistRequest struct {
	CustomerPolicyItemId   uint64   `json:"CustomerPolicyItemId"`
	CustomerAssetItemIdSet []uint64 `json:"CustomerAssetItemIdSet,omitempty"`
	WhitelistOptions
}

// DeleteCompliancePolicyItemFromWhitelistRequest removes the ignore-list
// entries listed (their WhitelistItemId).
type DeleteCompliancePolicyItemFromWhitelistRequest struct {
	WhitelistIdSet []int64 `json:"WhitelistIdSet"`
}

// DeleteComplianceAssetPolicySetFromWhitelistRequest stops ignoring, on one
// asset, the items listed (none: every item ignored on it).
type DeleteComplianceAssetPolicySetFromWhitelistRequest struct {
	AssetItemId             uint64   `json:"AssetItemId"`
	CustomerPolicyItemIdSet []uint64 `json:"CustomerPolicyItemIdSet,omitempty"`
	AssetType               string   `json:"AssetType,omitempty"`
}

// DeleteCompliancePolicyAssetSetFromWhitelistRequest stops ignoring each
// item listed on its assets listed (none: every entry of the item).
type DeleteCompliancePolicyAssetSetFromWhitelistRequest struct {
	PolicyAssetSetList []CompliancePolicyAssetSetItem `json:"PolicyAssetSetList"`
}

// CompliancePolicyAssetSetItem is an item with some of its assets.
type CompliancePolicyAssetSetItem struct {
	CustomerPolicyItemId   uint64   `json:"CustomerPolicyItemId"`
	CustomerAssetItemIdSet []uint64 `json:"CustomerAssetItemIdSet,omitempty"`
}

// CreateExportComplianceStatusListJobRequest starts an export of one asset
// type's results, grouped by asset or by item, of every asset or item or
// of those in IdList, in a Format of `baseline export` (default xlsx), of
// the latest results or of one task's. Filters are refused: give IdList.
type CreateExportComplianceStatusListJobRequest struct {
	AssetType     string   `json:"AssetType"`
	ExportByAsset *bool    `json:"ExportByAsset"`
	ExportAll     *bool    `json:"ExportAll"`
	IdList        []uint64 `json:"IdList,omitempty"`
	Filters       []any    `json:"Filters,omitempty"`
	Format        string   `json:"Format,omitempty"`
	TaskId        int64    `json:"TaskId,omitempty"`
}

// DescribeExportJobResultRequest asks for an export job's state.
type DescribeExportJobResultRequest struct {
	JobId string `json:"JobId"`
}
