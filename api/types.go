package api

import (
	"time"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// Page is the paging and filter part of every list request: Offset
// (default 0), Limit (default 10, at most 100) and ComplianceFilters.
type Page struct {
	Offset  int            `json:"Offset"`
	Limit   int            `json:"Limit"`
	Filters []store.Filter `json:"Filters,omitempty"`
}

// Time is the API's time format; never checked is all zeros.
func Time(s string) string {
	if s == "" {
		return "0000-00-00 00:00:00"
	}
	return s
}

// ComplianceAssetInfo is an asset in a list. Its fields are declared in
// the order of their JSON names, the order of the response's bytes, so
// that the reply is written without sorting them.
type ComplianceAssetInfo struct {
	AssetName             string `json:"AssetName"`
	AssetType             string `json:"AssetType"`
	CheckResult           string `json:"CheckResult"`
	CheckStatus           string `json:"CheckStatus"`
	CustomerAssetId       uint64 `json:"CustomerAssetId"`
	FailedPolicyItemCount int    `json:"FailedPolicyItemCount"`
	HostIP                string `json:"HostIP"`
	IgnoredCount          int    `json:"IgnoredPolicyItemCount"`
	ImageTag              string `json:"ImageTag"`
	InstanceId            string `json:"InstanceId"`
	LastCheckTime         string `json:"LastCheckTime"`
	NodeName              string `json:"NodeName"`
	PassedPolicyItemCount int    `json:"PassedPolicyItemCount"`
}

// NewAssetInfo converts an asset with its roll-up.
func NewAssetInfo(a store.AssetInfo) ComplianceAssetInfo {
	out := ComplianceAssetInfo{CustomerAssetId: a.ID, AssetType: string(a.Type), AssetName: a.Name, HostIP: a.HostIP, NodeName: a.NodeName,
		CheckStatus: string(a.CheckStatus), PassedPolicyItemCount: a.PassedPolicyItemCount, FailedPolicyItemCount: a.FailedPolicyItemCount,
		LastCheckTime: Time(a.LastCheckTime), CheckResult: string(a.CheckResult), IgnoredCount: a.IgnoredCount}
	if a.Image != nil {
		out.ImageTag = a.Image.Tag
	}
	if a.Host != nil {
		out.InstanceId = a.Host.InstanceID
	}
	return out
}

// ComplianceAssetPolicyItem is one item's latest result on an asset; the
// same shape serves ComplianceAffectedAsset.
type ComplianceAssetPolicyItem struct {
	CustomerPolicyItemId  uint64            `json:"CustomerPolicyItemId"`
	BasePolicyItemId      uint64            `json:"BasePolicyItemId"`
	BenchmarkNumber       string            `json:"BenchmarkNumber"`
	Name                  string            `json:"Name"`
	Category              string            `json:"Category"`
	BenchmarkStandardId   uint64            `json:"BenchmarkStandardId"`
	BenchmarkStandardKey  string            `json:"BenchmarkStandardKey"`
	BenchmarkStandardName string            `json:"BenchmarkStandardName"`
	RiskLevel             string            `json:"RiskLevel"`
	CheckStatus           string            `json:"CheckStatus"`
	CheckResult           string            `json:"CheckResult"`
	WhitelistId           uint64            `json:"WhitelistId"`
	FixSuggestion         string            `json:"FixSuggestion"`
	LastCheckTime         string            `json:"LastCheckTime"`
	VerifyInfo            string            `json:"VerifyInfo"`
	Evidence              []checks.Evidence `json:"Evidence,omitempty"`
	Reason                string            `json:"Reason,omitempty"`
	TaskId                int64             `json:"TaskId"`
	CustomerAssetId       uint64            `json:"CustomerAssetId"`
	AssetName             string            `json:"AssetName"`
	AssetType             string            `json:"AssetType"`
	NodeName              string            `json:"NodeName"`
}

// NewAssetPolicyItem converts a result row; standardID is the standard's
// numeric id and whitelistID the ignore-list entry that covers the row (0:
// none).
func NewAssetPolicyItem(r results.Row, standardID uint64, standardName string, whitelistID uint64) ComplianceAssetPolicyItem {
	return ComplianceAssetPolicyItem{CustomerPolicyItemId: r.ItemID, BasePolicyItemId: r.ItemID, BenchmarkNumber: r.Number, Name: r.Title,
		Category: r.Category, BenchmarkStandardId: standardID, BenchmarkStandardKey: r.StandardID, BenchmarkStandardName: standardName, RiskLevel: string(r.Risk),
		CheckStatus: string(r.Status), CheckResult: string(r.Result), FixSuggestion: r.Remediation, LastCheckTime: Time(r.CheckedAt),
		VerifyInfo: VerifyInfo(r), Evidence: r.Evidence, Reason: r.Reason, TaskId: r.TaskID, CustomerAssetId: r.AssetID, AssetName: r.AssetName,
		AssetType: string(r.AssetType), NodeName: r.NodeName, WhitelistId: whitelistID}
}

// VerifyInfo renders a row's evidence as the API's one-line VerifyInfo:
// "source: subject actual (expected expected)" for its first failed
// evidence, else "source: subject actual" for its first, else the row's
// reason. (Joined, not formatted: a page renders it for each of its rows.)
func VerifyInfo(r results.Row) string {
	for _, e := range r.Evidence {
		if !e.Passed {
			return e.Source + ": " + e.Subject + " " + e.Actual + " (expected " + e.Expected + ")"
		}
	}
	if len(r.Evidence) > 0 {
		e := r.Evidence[0]
		return e.Source + ": " + e.Subject + " " + e.Actual
	}
	return r.Reason
}

// CompliancePolicyItemSummary is an item with its roll-up.
type CompliancePolicyItemSummary struct {
	CustomerPolicyItemId  uint64 `json:"CustomerPolicyItemId"`
	BasePolicyItemId      uint64 `json:"BasePolicyItemId"`
	BenchmarkNumber       string `json:"BenchmarkNumber"`
	Name                  string `json:"Name"`
	Category              string `json:"Category"`
	BenchmarkStandardName string `json:"BenchmarkStandardName"`
	BenchmarkStandardId   uint64 `json:"BenchmarkStandardId"`
	BenchmarkStandardKey  string `json:"BenchmarkStandardKey"`
	RiskLevel             string `json:"RiskLevel"`
	AssetType             string `json:"AssetType"`
	LastCheckTime         string `json:"LastCheckTime"`
	CheckStatus           string `json:"CheckStatus"`
	CheckResult           string `json:"CheckResult"`
	PassedAssetCount      int    `json:"PassedAssetCount"`
	FailedAssetCount      int    `json:"FailedAssetCount"`
	IgnoredAssetCount     int    `json:"IgnoredAssetCount"`
	WhitelistId           uint64 `json:"WhitelistId"`
	FixSuggestion         string `json:"FixSuggestion"`
	Description           string `json:"Description"`
	AuditProcedure        string `json:"AuditProcedure"`
	IsEnable              uint64 `json:"IsEnable"`
}

// NewPolicyItemSummary converts an item with its roll-up; standardID is the
// standard's numeric id and whitelistID the ignore-list entry of the item
// (0: none).
func NewPolicyItemSummary(it store.ItemSummary, standardID uint64, whitelistID uint64) CompliancePolicyItemSummary {
	out := CompliancePolicyItemSummary{CustomerPolicyItemId: it.ID, BasePolicyItemId: it.ID, BenchmarkNumber: it.Number, Name: it.Name,
		Category: it.Category, BenchmarkStandardName: it.StandardName, BenchmarkStandardId: standardID, BenchmarkStandardKey: it.StandardID, RiskLevel: string(it.Risk),
		AssetType: string(it.AssetType), LastCheckTime: Time(it.LastCheckTime), CheckStatus: string(checks.CheckFinished),
		CheckResult: string(it.CheckResult), PassedAssetCount: it.PassedAssetCount, FailedAssetCount: it.FailedAssetCount,
		IgnoredAssetCount: it.IgnoredAssetCount, FixSuggestion: it.Remediation, Description: it.Description, AuditProcedure: it.Procedure, IsEnable: 1,
		WhitelistId: whitelistID}
	if it.LastCheckTime == "" {
		out.CheckStatus = string(checks.CheckInit)
	}
	return out
}

// PeriodTaskInfo is a CompliancePeriodTask with numeric standard ids.
type PeriodTaskInfo struct {
	PeriodTaskId         int64                         `json:"PeriodTaskId"`
	AssetType            string                        `json:"AssetType"`
	LastTriggerTime      string                        `json:"LastTriggerTime"`
	TotalPolicyItemCount int                           `json:"TotalPolicyItemCount"`
	PeriodRule           store.PeriodRule              `json:"PeriodRule"`
	BenchmarkStandardSet []ComplianceBenchmarkStandard `json:"BenchmarkStandardSet"`
}

// ComplianceBenchmarkStandard is a standard of a period task: StandardId
// is its numeric id, StandardKey its own.
type ComplianceBenchmarkStandard struct {
	Description     string `json:"Description"`
	Enabled         bool   `json:"Enabled"`
	Name            string `json:"Name"`
	PolicyItemCount int    `json:"PolicyItemCount"`
	StandardId      uint64 `json:"StandardId"`
	StandardKey     string `json:"StandardKey"`
}

// ComplianceAssetSummary is the roll-up of an asset type, with the rule
// of its period task when it has one.
type ComplianceAssetSummary struct {
	store.AssetSummary
	PeriodRule *store.PeriodRule `json:"PeriodRule,omitempty"`
}

// ComplianceScanFailedAsset is an asset whose last scan failed, as listed.
type ComplianceScanFailedAsset struct {
	store.ScanFailedAsset
	CheckStatus string `json:"CheckStatus"`
}

// ComplianceWhitelistItem is an ignore-list entry, with its standard's
// numeric id (StandardId; the entry's BenchmarkStandardId is the
// standard's own) and the spec's name of its asset count.
type ComplianceWhitelistItem struct {
	store.WhitelistEntry
	StandardNum        uint64 `json:"StandardId"`
	AffectedAssetCount int    `json:"AffectedAssetCount"`
}

// ComplianceAssetDetailInfo is an asset as DescribeComplianceAssetDetailInfo
// gives it: AssetStatus is a container's run state, AssetCreateTime its
// creation time (both empty for the other types).
type ComplianceAssetDetailInfo struct {
	AssetCreateTime       string `json:"AssetCreateTime"`
	AssetName             string `json:"AssetName"`
	AssetStatus           string `json:"AssetStatus"`
	AssetType             string `json:"AssetType"`
	CheckResult           string `json:"CheckResult"`
	CheckStatus           string `json:"CheckStatus"`
	CustomerAssetId       uint64 `json:"CustomerAssetId"`
	FailedPolicyItemCount int    `json:"FailedPolicyItemCount"`
	HostIP                string `json:"HostIP"`
	HostName              string `json:"HostName"`
	LastCheckTime         string `json:"LastCheckTime"`
	NodeName              string `json:"NodeName"`
	PassedPolicyItemCount int    `json:"PassedPolicyItemCount"`
}

// ComplianceContainerDetailInfo are a container's details.
type ComplianceContainerDetailInfo struct {
	ContainerId string `json:"ContainerId"`
	PodName     string `json:"PodName"`
}

// ComplianceHostDetailInfo are a host's details.
type ComplianceHostDetailInfo struct {
	ContainerdVersion string `json:"ContainerdVersion"`
	DockerVersion     string `json:"DockerVersion"`
	K8SVersion        string `json:"K8SVersion"`
}

// ComplianceImageDetailInfo are an image's details.
type ComplianceImageDetailInfo struct {
	ImageId    string `json:"ImageId"`
	ImageName  string `json:"ImageName"`
	ImageTag   string `json:"ImageTag"`
	Repository string `json:"Repository"`
}

// ComplianceK8SDetailInfo are a Kubernetes asset's details.
type ComplianceK8SDetailInfo struct {
	ClusterName    string `json:"ClusterName"`
	ClusterVersion string `json:"ClusterVersion"`
}

// NewAssetDetail converts an asset with its roll-up, and the details of
// its type.
func NewAssetDetail(a store.AssetInfo) DescribeComplianceAssetDetailInfoResponse {
	out := DescribeComplianceAssetDetailInfoResponse{AssetDetailInfo: ComplianceAssetDetailInfo{
		CustomerAssetId: a.ID, AssetType: string(a.Type), AssetName: a.Name, NodeName: a.NodeName, HostName: a.NodeName,
		HostIP: a.HostIP, CheckStatus: string(a.CheckStatus), PassedPolicyItemCount: a.PassedPolicyItemCount,
		FailedPolicyItemCount: a.FailedPolicyItemCount, LastCheckTime: Time(a.LastCheckTime), CheckResult: string(a.CheckResult),
	}}
	switch {
	case a.Container != nil:
		out.AssetDetailInfo.AssetStatus = string(a.Container.State)
		if !a.Container.CreateTime.IsZero() {
			out.AssetDetailInfo.AssetCreateTime = a.Container.CreateTime.UTC().Format(time.DateTime)
		}
		out.ContainerDetailInfo = &ComplianceContainerDetailInfo{ContainerId: a.Container.ContainerID, PodName: a.Container.PodName}
	case a.Image != nil:
		out.ImageDetailInfo = &ComplianceImageDetailInfo{ImageId: a.Image.ImageID, ImageName: a.Image.Name, ImageTag: a.Image.Tag, Repository: a.Image.Repository}
	case a.Host != nil:
		out.HostDetailInfo = &ComplianceHostDetailInfo{DockerVersion: a.Host.DockerVersion, K8SVersion: a.Host.K8sVersion, ContainerdVersion: a.Host.ContainerdVersion}
	case a.Cluster != nil:
		out.K8SDetailInfo = &ComplianceK8SDetailInfo{ClusterName: a.Cluster.ClusterName, ClusterVersion: a.Cluster.Version}
	}
	return out
}
