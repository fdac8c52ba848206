package api

import (
	"os"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// UploadAction is the product's extension to the spec's actions: it
// records a scan that ran elsewhere (a node's daemon, `baseline scan
// --server` on another host) as a finished task of this daemon.
const UploadAction = "UploadComplianceScanResult"

// DefaultMaxUploadBytes bounds an upload's body unless configured: a
// container with its results takes about 22 KB, an image about 7 KB, so
// this holds a host with some 2,500 containers and their images.
const DefaultMaxUploadBytes = 64 << 20

// ScanUpload is the body of UploadComplianceScanResult: one finished scan.
// Its parts have the shapes of the scan JSON document (`baseline scan
// --format json`): the same StartedAt, FinishedAt, Results and
// ScanFailedAssets, and each asset as the document's Assets[].Asset. The
// Scope is a task's scope as the store records it.
type ScanUpload struct {
	// Scope is what the scan covered. NodeName (the host that scanned) and
	// StandardIds are required; AssetTypes and CustomerPolicyItemIds
	// narrow the standards' items; CustomerAssetIds, when given, make it a
	// partial scan (assets it did not see are not marked removed).
	Scope      store.Scope `json:"Scope"`
	StartedAt  time.Time   `json:"StartedAt"`
	FinishedAt time.Time   `json:"FinishedAt"`
	// Host is the scanned host, also when it is not itself in Assets (a
	// container scan): its address is its containers' HostIP.
	Host             *assets.Asset          `json:"Host,omitempty"`
	Assets           []assets.Asset         `json:"Assets"`
	Results          []results.Result       `json:"Results"`
	ScanFailedAssets []results.AssetFailure `json:"ScanFailedAssets"`
	// IdempotencyKey, when given, makes the upload apply once: a retry
	// with the same key (per NodeName) whose first attempt landed is
	// answered with the first attempt's task, and records nothing. At most
	// MaxIdempotencyKeyBytes printable ASCII characters.
	IdempotencyKey string `json:"IdempotencyKey,omitempty"`
}

// MaxIdempotencyKeyBytes bounds an upload's IdempotencyKey.
const MaxIdempotencyKeyBytes = 256

// UploadComplianceScanResultRequest is the request of UploadAction: a
// ScanUpload.
type UploadComplianceScanResultRequest = ScanUpload

// UploadComplianceScanResultResponse names the task the upload was
// recorded as, and the number of results it recorded.
type UploadComplianceScanResultResponse struct {
	// AlreadyApplied says that the upload's IdempotencyKey was applied
	// before: TaskId and ResultCount are that first attempt's.
	AlreadyApplied bool  `json:"AlreadyApplied,omitempty"`
	ResultCount    int   `json:"ResultCount"`
	TaskId         int64 `json:"TaskId"`
}

// NewScanUpload makes the upload of a finished scan. An empty scope's
// StandardIds become the standards the scan judged, and an empty NodeName
// this host's name (as a task run here would record it).
func NewScanUpload(scope store.Scope, rep *results.Report) ScanUpload {
	if len(scope.Standards) == 0 {
		for _, s := range rep.Standards {
			scope.Standards = append(scope.Standards, s.ID)
		}
	}
	if scope.Node == "" {
		scope.Node, _ = os.Hostname()
	}
	u := ScanUpload{Scope: scope, StartedAt: rep.StartedAt, FinishedAt: rep.FinishedAt, Assets: rep.Assets,
		Results: rep.Results, ScanFailedAssets: rep.Failures}
	if rep.Host.ID != 0 {
		h := rep.Host
		u.Host = &h
	}
	if u.Assets == nil {
		u.Assets = []assets.Asset{}
	}
	if u.Results == nil {
		u.Results = []results.Result{}
	}
	if u.ScanFailedAssets == nil {
		u.ScanFailedAssets = []results.AssetFailure{}
	}
	return u
}
