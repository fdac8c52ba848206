package api

// The spec's compliance actions (X-TC-Action), and UploadAction, the
// product's own.
const (
	InitializeUserComplianceEnvironment           = "InitializeUserComplianceEnvironment"
	DescribeComplianceTaskAssetSummary            = "DescribeComplianceTaskAssetSummary"
	DescribeComplianceAssetList                   = "DescribeComplianceAssetList"
	DescribeComplianceAssetDetailInfo             = "DescribeComplianceAssetDetailInfo"
	DescribeComplianceAssetPolicyItemList         = "DescribeComplianceAssetPolicyItemList"
	DescribeComplianceTaskPolicyItemSummaryList   = "DescribeComplianceTaskPolicyItemSummaryList"
	DescribeCompliancePolicyItemAffectedSummary   = "DescribeCompliancePolicyItemAffectedSummary"
	DescribeCompliancePolicyItemAffectedAssetList = "DescribeCompliancePolicyItemAffectedAssetList"
	DescribeComplianceScanFailedAssetList         = "DescribeComplianceScanFailedAssetList"
	DescribeComplianceWhitelistItemList           = "DescribeComplianceWhitelistItemList"
	DescribeCompliancePeriodTaskList              = "DescribeCompliancePeriodTaskList"
	ModifyCompliancePeriodTask                    = "ModifyCompliancePeriodTask"
	CreateComplianceTask                          = "CreateComplianceTask"
	ScanComplianceAssets                          = "ScanComplianceAssets"
	ScanComplianceAssetsByPolicyItem              = "ScanComplianceAssetsByPolicyItem"
	ScanCompliancePolicyItems                     = "ScanCompliancePolicyItems"
	ScanComplianceScanFailedAssets                = "ScanComplianceScanFailedAssets"
	AddCompliancePolicyItemToWhitelist            = "AddCompliancePolicyItemToWhitelist"
	AddComplianceAssetPolicySetToWhitelist        = "AddComplianceAssetPolicySetToWhitelist"
	AddCompliancePolicyAssetSetToWhitelist        = "AddCompliancePolicyAssetSetToWhitelist"
	DeleteCompliancePolicyItemFromWhitelist       = "DeleteCompliancePolicyItemFromWhitelist"
	DeleteComplianceAssetPolicySetFromWhitelist   = "DeleteComplianceAssetPolicySetFromWhitelist"
	DeleteCompliancePolicyAssetSetFromWhitelist   = "DeleteCompliancePolicyAssetSetFromWhitelist"
	CreateExportComplianceStatusListJob           = "CreateExportComplianceStatusListJob"
	DescribeExportJobResult                       = "DescribeExportJobResult"
)

// Actions lists every action the server answers, UploadAction included.
var Actions = []string{
	InitializeUserComplianceEnvironment,
	DescribeComplianceTaskAssetSummary,
	DescribeComplianceAssetList,
	DescribeComplianceAssetDetailInfo,
	DescribeComplianceAssetPolicyItemList,
	DescribeComplianceTaskPolicyItemSummaryList,
	DescribeCompliancePolicyItemAffectedSummary,
	DescribeCompliancePolicyItemAffectedAssetList,
	DescribeComplianceScanFailedAssetList,
	DescribeComplianceWhitelistItemList,
	DescribeCompliancePeriodTaskList,
	ModifyCompliancePeriodTask,
	CreateComplianceTask,
	ScanComplianceAssets,
	ScanComplianceAssetsByPolicyItem,
	ScanCompliancePolicyItems,
	ScanComplianceScanFailedAssets,
	AddCompliancePolicyItemToWhitelist,
	AddComplianceAssetPolicySetToWhitelist,
	AddCompliancePolicyAssetSetToWhitelist,
	DeleteCompliancePolicyItemFromWhitelist,
	DeleteComplianceAssetPolicySetFromWhitelist,
	DeleteCompliancePolicyAssetSetFromWhitelist,
	CreateExportComplianceStatusListJob,
	DescribeExportJobResult,
	UploadAction,
}
