package api

// The response of each action, inside the envelope's Response beside its
// RequestId. Each type declares its fields in the order of their JSON
// names (alphabetical), the order in which encoding/json writes a map's
// keys, so that a response is the same bytes whether it is encoded as
// this struct or as a map. The entries of the lists are the types of
// types.go.

// InitializeUserComplianceEnvironmentResponse carries only the RequestId.
type InitializeUserComplianceEnvironmentResponse struct{}

// DescribeComplianceTaskAssetSummaryResponse is the roll-up of each asset
// type asked for; Status is USER_UNINIT until the environment is
// initialized, USER_NORMAL then.
type DescribeComplianceTaskAssetSummaryResponse struct {
	AssetSummaryList []ComplianceAssetSummary `json:"AssetSummaryList"`
	Status           string                   `json:"Status"`
}

// DescribeComplianceAssetListResponse is a page of assets.
type DescribeComplianceAssetListResponse struct {
	AssetInfoList []ComplianceAssetInfo `json:"AssetInfoList"`
	TotalCount    int                   `json:"TotalCount"`
}

// DescribeComplianceAssetDetailInfoResponse is one asset, with the details
// of its type (one of the four, the others absent).
type DescribeComplianceAssetDetailInfoResponse struct {
	AssetDetailInfo     ComplianceAssetDetailInfo      `json:"AssetDetailInfo"`
	ContainerDetailInfo *ComplianceContainerDetailInfo `json:"ContainerDetailInfo,omitempty"`
	HostDetailInfo      *ComplianceHostDetailInfo      `json:"HostDetailInfo,omitempty"`
	ImageDetailInfo     *ComplianceImageDetailInfo     `json:"ImageDetailInfo,omitempty"`
	K8SDetailInfo       *ComplianceK8SDetailInfo       `json:"K8SDetailInfo,omitempty"`
}

// DescribeComplianceAssetPolicyItemListResponse is a page of the results
// on one asset.
type DescribeComplianceAssetPolicyItemListResponse struct {
	AssetPolicyItemList []ComplianceAssetPolicyItem `json:"AssetPolicyItemList"`
	TotalCount          int                         `json:"TotalCount"`
}

// DescribeComplianceTaskPolicyItemSummaryListResponse is a page of items
// with their roll-ups, and the last finished task (0: none).
type DescribeComplianceTaskPolicyItemSummaryListResponse struct {
	PolicyItemSummaryList []CompliancePolicyItemSummary `json:"PolicyItemSummaryList"`
	TaskId                int64                         `json:"TaskId"`
	TotalCount            int                           `json:"TotalCount"`
}

// DescribeCompliancePolicyItemAffectedSummaryResponse is one item's
// roll-up.
type DescribeCompliancePolicyItemAffectedSummaryResponse struct {
	PolicyItemSummary CompliancePolicyItemSummary `json:"PolicyItemSummary"`
}

// DescribeCompliancePolicyItemAffectedAssetListResponse is a page of one
// item's results on the assets.
type DescribeCompliancePolicyItemAffectedAssetListResponse struct {
	AffectedAssetList []ComplianceAssetPolicyItem `json:"AffectedAssetList"`
	TotalCount        int                         `json:"TotalCount"`
}

// DescribeComplianceScanFailedAssetListResponse is a page of the assets
// whose last scan failed.
type DescribeComplianceScanFailedAssetListResponse struct {
	ScanFailedAssetList []ComplianceScanFailedAsset `json:"ScanFailedAssetList"`
	TotalCount          int                         `json:"TotalCount"`
}

// DescribeComplianceWhitelistItemListResponse is a page of the ignore
// list.
type DescribeComplianceWhitelistItemListResponse struct {
	TotalCount       int                       `json:"TotalCount"`
	WhitelistItemSet []ComplianceWhitelistItem `json:"WhitelistItemSet"`
}

// DescribeCompliancePeriodTaskListResponse is a page of the period tasks.
type DescribeCompliancePeriodTaskListResponse struct {
	PeriodTaskSet []PeriodTaskInfo `json:"PeriodTaskSet"`
	TotalCount    int              `json:"TotalCount"`
}

// ModifyCompliancePeriodTaskResponse carries only the RequestId.
type ModifyCompliancePeriodTaskResponse struct{}

// CreateComplianceTaskResponse names the task started.
type CreateComplianceTaskResponse struct {
	TaskId int64 `json:"TaskId"`
}

// ScanComplianceAssetsResponse names the task started.
type ScanComplianceAssetsResponse struct {
	TaskId int64 `json:"TaskId"`
}

// ScanComplianceScanFailedAssetsResponse names the task started: the
// response of ScanComplianceAssets.
type ScanComplianceScanFailedAssetsResponse = ScanComplianceAssetsResponse

// ScanComplianceAssetsByPolicyItemResponse names the task started.
type ScanComplianceAssetsByPolicyItemResponse struct {
	TaskId int64 `json:"TaskId"`
}

// ScanCompliancePolicyItemsResponse names the task started.
type ScanCompliancePolicyItemsResponse struct {
	TaskId int64 `json:"TaskId"`
}

// AddCompliancePolicyItemToWhitelistResponse carries only the RequestId.
type AddCompliancePolicyItemToWhitelistResponse struct{}

// AddComplianceAssetPolicySetToWhitelistResponse carries only the
// RequestId.
type AddComplianceAssetPolicySetToWhitelistResponse struct{}

// AddCompliancePolicyAssetSetToWhitelistResponse carries only the
// RequestId.
type AddCompliancePolicyAssetSetToWhitelistResponse struct{}

// DeleteCompliancePolicyItemFromWhitelistResponse carries only the
// RequestId.
type DeleteCompliancePolicyItemFromWhitelistResponse struct{}

// DeleteComplianceAssetPolicySetFromWhitelistResponse carries only the
// RequestId.
type DeleteComplianceAssetPolicySetFromWhitelistResponse struct{}

// DeleteCompliancePolicyAssetSetFromWhitelistResponse carries only the
// RequestId.
type DeleteCompliancePolicyAssetSetFromWhitelistResponse struct{}

// CreateExportComplianceStatusListJobResponse names the export job
// started.
type CreateExportComplianceStatusListJobResponse struct {
	JobId string `json:"JobId"`
}

// DescribeExportJobResultResponse is an export job's state: RUNNING with
// its progress (0-100), SUCCESS with a download link that expires, or
// FAILURE with why.
type DescribeExportJobResultResponse struct {
	DownloadURL    string  `json:"DownloadURL"`
	ExportProgress float64 `json:"ExportProgress"`
	ExportStatus   string  `json:"ExportStatus"`
	FailureMsg     string  `json:"FailureMsg"`
}
