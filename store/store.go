// Package store owns the durable compliance model: assets, standards and
// items, tasks, results per task and the latest result per (item, asset),
// ignore lists, scan-failed assets and the roll-ups computed from them.
// Callers use the Store interface; sub-packages implement it.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// Sentinel errors. Messages wrapping them name the offending parameter.
var (
	// ErrAlreadyScanning refuses a task whose scope overlaps a running one.
	ErrAlreadyScanning = errors.New("FailedOperation.ErrAlreadyScanning")
	// ErrNotFound is returned for an unknown id.
	ErrNotFound = errors.New("ResourceNotFound")
	// ErrInvalidParameter marks a bad filter, limit or argument.
	ErrInvalidParameter = errors.New("InvalidParameterValue")
	// ErrForbidden refuses a write that its author may not make: an
	// upload rewriting an asset recorded for another node.
	ErrForbidden = errors.New("AuthFailure.UnauthorizedOperation")
)

// Trigger says what started a task.
type Trigger string

// Task triggers.
const (
	TriggerManual  Trigger = "manual"
	TriggerRecheck Trigger = "recheck"
	TriggerPeriod  Trigger = "period"
	// TriggerUpload marks a scan run elsewhere (another daemon, or
	// `baseline scan --server` on another host) and uploaded to this
	// daemon's API (UploadComplianceScanResult).
	TriggerUpload Trigger = "upload"
)

// Triggers lists every trigger.
var Triggers = []Trigger{TriggerManual, TriggerRecheck, TriggerPeriod, TriggerUpload}

// Valid reports whether t is one of Triggers.
func (t Trigger) Valid() bool {
	for _, v := range Triggers {
		if t == v {
			return true
		}
	}
	return false
}

// Scope is what a task covers; an empty list means "all".
type Scope struct {
	Types     []assets.Type `json:"AssetTypes,omitempty"`
	Standards []string      `json:"StandardIds,omitempty"`
	Items     []uint64      `json:"CustomerPolicyItemIds,omitempty"`
	Assets    []uint64      `json:"CustomerAssetIds,omitempty"`
	// Node is the host whose assets the task scans.
	Node string `json:"NodeName,omitempty"`
}

// Overlaps reports whether two scopes could touch the same (item, asset)
// pair: then they must not run at once.
func (s Scope) Overlaps(o Scope) bool {
	return s.Node == o.Node && overlap(s.Types, o.Types) && overlap(s.Standards, o.Standards) &&
		overlap(s.Items, o.Items) && overlap(s.Assets, o.Assets)
}

func overlap[T comparable](a, b []T) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	set := make(map[T]bool, len(a))
	for _, v := range a {
		set[v] = true
	}
	for _, v := range b {
		if set[v] {
			return true
		}
	}
	return false
}

// Full reports whether the scope covers every asset of its types (so that
// assets it does not see are gone).
func (s Scope) Full() bool { return len(s.Assets) == 0 }

// String describes the scope for people.
func (s Scope) String() string {
	var parts []string
	if len(s.Types) > 0 {
		var ts []string
		for _, t := range s.Types {
			ts = append(ts, t.Short())
		}
		parts = append(parts, "types "+strings.Join(ts, ","))
	}
	if len(s.Standards) > 0 {
		parts = append(parts, "standards "+strings.Join(s.Standards, ","))
	}
	if len(s.Items) > 0 {
		parts = append(parts, fmt.Sprintf("items %v", s.Items))
	}
	if len(s.Assets) > 0 {
		parts = append(parts, fmt.Sprintf("assets %v", s.Assets))
	}
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, "; ")
}

// Task is one scan.
type Task struct {
	ID          int64              `json:"TaskId"`
	Trigger     Trigger            `json:"Trigger"`
	Scope       Scope              `json:"Scope"`
	Status      checks.CheckStatus `json:"CheckStatus"`
	Progress    int                `json:"CheckProgress"`
	StartedAt   time.Time          `json:"StartTime"`
	FinishedAt  time.Time          `json:"EndTime,omitzero"`
	CostSeconds float64            `json:"CheckCostTime"`
	Error       string             `json:"Error,omitempty"`
	ResultCount int                `json:"ResultCount"`
}

// Filter is a ComplianceFilters entry: values are ORed, filters ANDed; the
// match is fuzzy (substring) unless ExactMatch.
type Filter struct {
	Name       string   `json:"Name"`
	Values     []string `json:"Values"`
	ExactMatch bool     `json:"ExactMatch"`
}

// Query pages and filters a list.
type Query struct {
	Offset  int
	Limit   int
	Filters []Filter
}

// Paging limits.
const (
	DefaultLimit = 10
	MaxLimit     = 100
	// MaxOffset bounds Offset: far beyond any list the store holds, and
	// small enough that Offset+Limit never overflows.
	MaxOffset = 1_000_000_000
)

// Filter limits: a query carries at most MaxFilters filters, each with at
// most MaxFilterValues values of at most MaxFilterValueBytes bytes, and a
// name of at most MaxFilterNameBytes bytes. They keep every query the
// store builds far below SQLite's limits (an expression tree 1,000 deep,
// 32,766 parameters) and refuse NUL, which SQLite's LIKE reads as the end
// of the pattern (so a substring filter of "\x00" would match every row).
const (
	MaxFilters          = 20
	MaxFilterValues     = 100
	MaxFilterValueBytes = 256
	MaxFilterNameBytes  = 64
)

// MaxID is the largest id the store holds: SQLite's integers are signed
// 64-bit, so a CustomerAssetId or CustomerPolicyItemId above it cannot
// name anything stored.
const MaxID = math.MaxInt64

// CheckIDs refuses, with ErrInvalidParameter naming what (the parameter
// or the kind of id), an id above MaxID.
func CheckIDs(what string, ids ...uint64) error {
	for _, id := range ids {
		if id > MaxID {
			return fmt.Errorf("%w: %s %d is out of range (ids are at most %d)", ErrInvalidParameter, what, id, uint64(MaxID))
		}
	}
	return nil
}

// Normalize applies the defaults and checks the bounds: the paging and
// the filters (see MaxFilters), each refusal naming the parameter.
func (q *Query) Normalize() error {
	if q.Offset < 0 || q.Offset > MaxOffset {
		return fmt.Errorf("%w: Offset must be between 0 and %d (got %d)", ErrInvalidParameter, MaxOffset, q.Offset)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return fmt.Errorf("%w: Limit must be between 1 and %d (got %d)", ErrInvalidParameter, MaxLimit, q.Limit)
	}
	if len(q.Filters) > MaxFilters {
		return fmt.Errorf("%w: Filters: at most %d filters (got %d)", ErrInvalidParameter, MaxFilters, len(q.Filters))
	}
	for i, f := range q.Filters {
		if err := f.check(i); err != nil {
			return err
		}
	}
	return nil
}

// check bounds one filter's name and values.
func (f Filter) check(i int) error {
	switch {
	case len(f.Name) > MaxFilterNameBytes:
		return fmt.Errorf("%w: Filters[%d].Name: at most %d bytes (got %d)", ErrInvalidParameter, i, MaxFilterNameBytes, len(f.Name))
	case strings.ContainsRune(f.Name, 0):
		return fmt.Errorf("%w: Filters[%d].Name contains a NUL character", ErrInvalidParameter, i)
	case len(f.Values) > MaxFilterValues:
		return fmt.Errorf("%w: Filters[%d] %q: at most %d values (got %d)", ErrInvalidParameter, i, f.Name, MaxFilterValues, len(f.Values))
	}
	for j, v := range f.Values {
		switch {
		case len(v) > MaxFilterValueBytes:
			return fmt.Errorf("%w: Filters[%d] %q: Values[%d]: at most %d bytes (got %d)", ErrInvalidParameter, i, f.Name, j, MaxFilterValueBytes, len(v))
		case strings.ContainsRune(v, 0):
			return fmt.Errorf("%w: Filters[%d] %q: Values[%d] contains a NUL character", ErrInvalidParameter, i, f.Name, j)
		}
	}
	return nil
}

// AssetSummary is the per-asset-type roll-up (ComplianceAssetSummary).
type AssetSummary struct {
	AssetType                       assets.Type        `json:"AssetType"`
	IsCustomerFirstCheck            bool               `json:"IsCustomerFirstCheck"`
	CheckStatus                     checks.CheckStatus `json:"CheckStatus"`
	CheckProgress                   float64            `json:"CheckProgress"`
	PassedPolicyItemCount           int                `json:"PassedPolicyItemCount"`
	FailedPolicyItemCount           int                `json:"FailedPolicyItemCount"`
	FailedCriticalPolicyItemCount   int                `json:"FailedCriticalPolicyItemCount"`
	FailedHighRiskPolicyItemCount   int                `json:"FailedHighRiskPolicyItemCount"`
	FailedMediumRiskPolicyItemCount int                `json:"FailedMediumRiskPolicyItemCount"`
	FailedLowRiskPolicyItemCount    int                `json:"FailedLowRiskPolicyItemCount"`
	NoticePolicyItemCount           int                `json:"NoticePolicyItemCount"`
	PassedAssetCount                int                `json:"PassedAssetCount"`
	FailedAssetCount                int                `json:"FailedAssetCount"`
	// AssetPassedRate is 0-100: compliant assets over all assets, counting
	// scan-failed ones; for Kubernetes, passed items over all items.
	AssetPassedRate        float64 `json:"AssetPassedRate"`
	ScanFailedAssetCount   int     `json:"ScanFailedAssetCount"`
	CheckCostTime          float64 `json:"CheckCostTime"`
	LastCheckTime          string  `json:"LastCheckTime"`
	OpenPolicyItemCount    int     `json:"OpenPolicyItemCount"`
	IgnoredPolicyItemCount int     `json:"IgnoredPolicyItemCount"`
	TotalPolicyItemCount   int     `json:"TotalPolicyItemCount"`
	DetectHostCount        int     `json:"DetectHostCount"`
	AssetCount             int     `json:"AssetCount"`
}

// AssetInfo is an asset with its roll-up (ComplianceAssetInfo).
type AssetInfo struct {
	assets.Asset
	HostIP                string             `json:"HostIP"`
	CheckStatus           checks.CheckStatus `json:"CheckStatus"`
	CheckResult           checks.CheckResult `json:"CheckResult"`
	PassedPolicyItemCount int                `json:"PassedPolicyItemCount"`
	FailedPolicyItemCount int                `json:"FailedPolicyItemCount"`
	IgnoredCount          int                `json:"IgnoredPolicyItemCount"`
	ManualCount           int                `json:"ManualPolicyItemCount"`
	NotApplicableCount    int                `json:"NotApplicablePolicyItemCount"`
	CheckFailedCount      int                `json:"CheckFailedPolicyItemCount"`
	LastCheckTime         string             `json:"LastCheckTime"`
	ScanFailed            bool               `json:"ScanFailed"`
}

// ItemSummary is an item with its roll-up (CompliancePolicyItemSummary).
type ItemSummary struct {
	ID                 uint64      `json:"CustomerPolicyItemId"`
	Number             string      `json:"BasePolicyItemId"`
	Name               string      `json:"Name"`
	Category           string      `json:"Category"`
	StandardID         string      `json:"BenchmarkStandardId"`
	StandardName       string      `json:"BenchmarkStandardName"`
	Risk               checks.Risk `json:"RiskLevel"`
	AssetType          assets.Type `json:"AssetType"`
	Automated          bool        `json:"Automated"`
	Scored             bool        `json:"Scored"`
	PassedAssetCount   int         `json:"PassedAssetCount"`
	FailedAssetCount   int         `json:"FailedAssetCount"`
	IgnoredAssetCount  int         `json:"IgnoredAssetCount"`
	ManualAssetCount   int         `json:"ManualAssetCount"`
	NotApplicableCount int         `json:"NotApplicableAssetCount"`
	CheckFailedCount   int         `json:"CheckFailedAssetCount"`
	// CheckResult is RESULT_FAILED when the item failed on some asset.
	CheckResult   checks.CheckResult `json:"CheckResult"`
	LastCheckTime string             `json:"LastCheckTime"`
	Whitelisted   bool               `json:"WhitelistId,omitempty"`
	Description   string             `json:"Description"`
	Procedure     string             `json:"AuditProcedure"`
	Remediation   string             `json:"FixSuggestion"`
}

// ScanFailedAsset is an asset whose last scan failed (ComplianceScanFailedAsset).
type ScanFailedAsset struct {
	AssetID    uint64      `json:"CustomerAssetId"`
	AssetType  assets.Type `json:"AssetType"`
	AssetName  string      `json:"AssetName"`
	NodeName   string      `json:"NodeName"`
	Reason     string      `json:"FailureReason"`
	Suggestion string      `json:"Suggestion"`
	CheckTime  string      `json:"CheckTime"`
	TaskID     int64       `json:"TaskId"`
}

// WhitelistEntry ignores one item everywhere or on a set of assets
// (ComplianceWhitelistItem), with who added it, why and until when.
type WhitelistEntry struct {
	ID           int64       `json:"WhitelistItemId"`
	ItemID       uint64      `json:"CustomerPolicyItemId"`
	ItemName     string      `json:"Name"`
	StandardID   string      `json:"BenchmarkStandardId"`
	StandardName string      `json:"StandardName"`
	AssetType    assets.Type `json:"AssetType"`
	AllAssets    bool        `json:"IsAll"`
	AssetIDs     []uint64    `json:"CustomerAssetIds,omitempty"`
	AssetCount   int         `json:"AssetCount"`
	Reason       string      `json:"Reason"`
	CreatedBy    string      `json:"Operator"`
	InsertTime   string      `json:"InsertTime"`
	UpdateTime   string      `json:"LastUpdateTime"`
	ExpiresAt    string      `json:"ExpireTime,omitempty"`
	Lapsed       bool        `json:"Lapsed"`
}

// WhitelistRequest adds entries: Items on every asset (Assets empty and
// All true), or Items on the listed Assets.
type WhitelistRequest struct {
	Items     []uint64
	Assets    []uint64
	All       bool
	Reason    string
	CreatedBy string
	ExpiresAt time.Time // zero: never
}

// Change is one (item, asset) pair whose verdict changed between two tasks.
type Change struct {
	ItemID    uint64             `json:"CustomerPolicyItemId"`
	Number    string             `json:"BasePolicyItemId"`
	Name      string             `json:"Name"`
	AssetID   uint64             `json:"CustomerAssetId"`
	AssetName string             `json:"AssetName"`
	Before    checks.CheckResult `json:"Before"`
	After     checks.CheckResult `json:"After"`
}

// Diff lists what newly failed and what was fixed between two tasks.
type Diff struct {
	From, To    int64    `json:"-"`
	NewlyFailed []Change `json:"NewlyFailed"`
	Fixed       []Change `json:"Fixed"`
}

// PeriodRule is when a period task runs (CompliancePeriodTaskRule):
// every Frequency days (1, 3 or 7) at ExecutionTime ("HH:mm:ss").
type PeriodRule struct {
	Frequency     int    `json:"Frequency"`
	ExecutionTime string `json:"ExecutionTime"`
	Enable        bool   `json:"Enable"`
}

// Validate checks the frequency and the time of day.
func (r PeriodRule) Validate() error {
	if r.Frequency != 1 && r.Frequency != 3 && r.Frequency != 7 {
		return fmt.Errorf("%w: PeriodRule.Frequency must be 1, 3 or 7 (days), got %d", ErrInvalidParameter, r.Frequency)
	}
	if _, err := time.Parse(time.TimeOnly, r.ExecutionTime); err != nil {
		return fmt.Errorf("%w: PeriodRule.ExecutionTime must be HH:mm:ss, got %q", ErrInvalidParameter, r.ExecutionTime)
	}
	return nil
}

// StandardSetting is a standard of a period task, switched on or off
// (ComplianceBenchmarkStandard).
type StandardSetting struct {
	StandardID      string `json:"StandardId"`
	Name            string `json:"Name"`
	Description     string `json:"Description"`
	PolicyItemCount int    `json:"PolicyItemCount"`
	Enabled         bool   `json:"Enabled"`
}

// PeriodTask is the periodic scan of one asset type (CompliancePeriodTask).
type PeriodTask struct {
	ID                   int64             `json:"PeriodTaskId"`
	AssetType            assets.Type       `json:"AssetType"`
	Rule                 PeriodRule        `json:"PeriodRule"`
	Standards            []StandardSetting `json:"BenchmarkStandardSet"`
	TotalPolicyItemCount int               `json:"TotalPolicyItemCount"`
	LastTriggerTime      time.Time         `json:"-"`
	UpdatedAt            time.Time         `json:"-"`
}

// EnabledStandards lists the ids of the task's standards switched on.
func (p PeriodTask) EnabledStandards() []string {
	var out []string
	for _, s := range p.Standards {
		if s.Enabled {
			out = append(out, s.StandardID)
		}
	}
	return out
}

// DefaultPeriodRule is a new period task's rule: daily at 03:00, off.
var DefaultPeriodRule = PeriodRule{Frequency: 1, ExecutionTime: "03:00:00", Enable: false}

// ResultQuery selects results to stream for an export.
type ResultQuery struct {
	// TaskID streams one task's results; 0 streams the latest results.
	TaskID    int64
	AssetType assets.Type
	// AssetIDs or ItemIDs limit the rows (empty: all).
	AssetIDs []uint64
	ItemIDs  []uint64
	// ByItem orders rows by item then asset; otherwise by asset then item.
	ByItem bool
	// NoEvidence leaves reasons' evidence out (a pass that only counts).
	NoEvidence bool
}

// TrendPoint is one finished task's outcome for an asset type.
type TrendPoint struct {
	TaskID       int64       `json:"TaskId"`
	FinishedAt   time.Time   `json:"FinishedAt"`
	AssetType    assets.Type `json:"AssetType"`
	AssetCount   int         `json:"AssetCount"`
	FailedAssets int         `json:"FailedAssetCount"`
	PassRate     float64     `json:"AssetPassedRate"`
}

// CatalogStore records the loaded standards and items and which standards
// are switched on.
type CatalogStore interface {
	// SyncCatalog records the loaded standards and items.
	SyncCatalog(ctx context.Context, cat *checks.Catalog) error
	// SetStandardEnabled switches a standard on or off.
	SetStandardEnabled(ctx context.Context, id string, enabled bool) error
	// DisabledStandards lists the standards switched off in the store.
	DisabledStandards(ctx context.Context) ([]string, error)
}

// TaskStore keeps tasks and ingests their results.
type TaskStore interface {
	// BeginTask records a running task, or refuses with ErrAlreadyScanning
	// when a running task's scope overlaps, in this process or another.
	BeginTask(ctx context.Context, trigger Trigger, scope Scope) (Task, error)
	// Progress records a running task's progress (0-100).
	Progress(ctx context.Context, taskID int64, pct int) error
	// AddResults writes a batch of a running task's results as its assets
	// are judged. No reader sees them until CompleteTask completes the
	// task; FailTask and RecoverInterrupted delete them.
	AddResults(ctx context.Context, taskID int64, rs []results.Result) error
	// CompleteTask completes a task in one transaction: the report's
	// assets, scan failures and results (beside those AddResults wrote),
	// and every result of the task made the latest, with the roll-ups.
	CompleteTask(ctx context.Context, taskID int64, rep *results.Report) error
	// FailTask ends a task that could not complete, deleting the results
	// written for it; earlier tasks' results stay.
	FailTask(ctx context.Context, taskID int64, reason string) error
	// RecoverInterrupted marks running tasks whose process is gone as
	// failed, deleting the results written for them.
	RecoverInterrupted(ctx context.Context) (int, error)
	Task(ctx context.Context, id int64) (Task, error)
	Tasks(ctx context.Context, q Query) ([]Task, int, error)
	// Diff compares two finished tasks (0, 0: the last two).
	Diff(ctx context.Context, from, to int64) (Diff, error)
	// Prune deletes finished tasks beyond the newest keep, keeping every
	// result that is still some pair's latest.
	Prune(ctx context.Context, keep int) (int, error)
}

// ResultReader answers the queries on the latest results and their
// roll-ups: per asset type, per asset, per item, and scan-failed assets.
type ResultReader interface {
	Summary(ctx context.Context, types []assets.Type) ([]AssetSummary, error)
	Assets(ctx context.Context, q Query) ([]AssetInfo, int, error)
	// AssetList is Assets with, of each asset's details, only what a list
	// of assets shows (ComplianceAssetInfo): an image's Tag, a host's
	// InstanceID; the other details are left out.
	AssetList(ctx context.Context, q Query) ([]AssetInfo, int, error)
	Asset(ctx context.Context, id uint64) (AssetInfo, error)
	AssetItems(ctx context.Context, assetID uint64, q Query) ([]results.Row, int, error)
	Items(ctx context.Context, q Query) ([]ItemSummary, int, error)
	Item(ctx context.Context, id uint64) (ItemSummary, error)
	ItemAssets(ctx context.Context, itemID uint64, q Query) ([]results.Row, int, error)
	ScanFailed(ctx context.Context, q Query) ([]ScanFailedAsset, int, error)
}

// ExportReader streams what an export is built from.
type ExportReader interface {
	// ResultRows streams results with their evidence, in order.
	ResultRows(ctx context.Context, q ResultQuery, fn func(results.Row) error) error
	// Trend gives the newest finished tasks' outcomes for an asset type,
	// oldest first (at most n tasks).
	Trend(ctx context.Context, t assets.Type, n int) ([]TrendPoint, error)
	// TaskFailures lists a task's scan-failed assets (0: the current ones).
	TaskFailures(ctx context.Context, taskID int64) ([]ScanFailedAsset, error)
}

// WhitelistStore keeps the ignore list.
type WhitelistStore interface {
	AddWhitelist(ctx context.Context, req WhitelistRequest) ([]WhitelistEntry, error)
	// RemoveWhitelist deletes entries by id.
	RemoveWhitelist(ctx context.Context, ids []int64) error
	// RemoveWhitelistAssets takes assets off item entries (the spec's
	// removal of an item from a set of assets, or of items from an asset).
	RemoveWhitelistAssets(ctx context.Context, items, assets []uint64) error
	Whitelist(ctx context.Context, q Query) ([]WhitelistEntry, int, error)
}

// PeriodStore keeps the period tasks' settings.
type PeriodStore interface {
	// EnsurePeriodTasks creates the missing period tasks, one per asset
	// type, with DefaultPeriodRule; existing ones are left as they are.
	EnsurePeriodTasks(ctx context.Context) error
	PeriodTasks(ctx context.Context) ([]PeriodTask, error)
	// SetPeriodTask changes a period task's rule (when not nil) and
	// switches its standards (id → on) and returns it.
	SetPeriodTask(ctx context.Context, id int64, rule *PeriodRule, standards map[string]bool) (PeriodTask, error)
}

// UploadStore holds uploads to their node: the node an upload key that
// the configuration does not bind was bound to by its first upload, and
// the node each asset was last recorded for (the NodeName of the scope of
// the task that recorded it). CompleteTask refuses, with ErrForbidden, an
// upload task carrying an asset last recorded for another node.
type UploadStore interface {
	// BindUploadKey binds the key to node unless it is bound already and
	// returns the node it is bound to.
	BindUploadKey(ctx context.Context, secretID, node string) (string, error)
	// AssetNodes gives, for each listed asset the store holds, the node it
	// was last recorded for; assets unknown, or recorded before the store
	// kept nodes, are absent.
	AssetNodes(ctx context.Context, ids []uint64) (map[uint64]string, error)
}

// SignatureUse is a use of an API request's signature.
type SignatureUse struct {
	// Signature is the request's TC3-HMAC-SHA256 signature (hex).
	Signature string
	// Action is the X-TC-Action it was accepted for.
	Action string
	// At is when it was accepted; Until is when its timestamp leaves the
	// accepted window, after which the signature cannot be presented again.
	At, Until time.Time
}

// ReplayGuard remembers the signatures of accepted API requests while they
// could be presented again, so that every daemon serving the store can
// refuse a captured request replayed to it.
type ReplayGuard interface {
	// UseSignature records u as its signature's first use, unless the
	// signature is already recorded: then it returns that first use and
	// seen true. Expired records are pruned along the way.
	UseSignature(ctx context.Context, u SignatureUse) (first SignatureUse, seen bool, err error)
}

// SignatureSeen is what a ReplayGuard answers for one use: the
// signature's first use, and whether it was recorded before.
type SignatureSeen struct {
	First SignatureUse
	Seen  bool
}

// SignatureBatcher is a ReplayGuard that records several uses in one
// transaction (group commit): each answer is as UseSignature's, and none
// is given before the transaction commits.
type SignatureBatcher interface {
	UseSignatures(ctx context.Context, uses []SignatureUse) ([]SignatureSeen, error)
}

// ImageFiles are the setuid and setgid files of one image's file system,
// and its secret-looking files, as read from the image at ReadAt.
type ImageFiles struct {
	Setuid []string `json:"setuid"`
	Setgid []string `json:"setgid"`
	// Secrets is nil in an entry recorded before secret-looking files were
	// read: such an entry does not say whether the image has any.
	Secrets []string `json:"secrets"`
	// ReadAt is when the image was exported and its files listed.
	ReadAt time.Time `json:"-"`
	// History is the image's build history, newest first, read at
	// HistoryAt; nil in an entry recorded without it.
	History   []ImageHistoryStep `json:"history,omitempty"`
	HistoryAt time.Time          `json:"history_at,omitzero"`
}

// ImageHistoryStep is one step of an image's build history.
type ImageHistoryStep struct {
	ID        string `json:"id"`
	Created   int64  `json:"created"`
	CreatedBy string `json:"created_by"`
	Comment   string `json:"comment"`
	Size      int64  `json:"size"`
}

// ImageFilesCache keeps the setuid and setgid files of each image, and its
// build history, by its full id (sha256:…, a digest of its content, never
// a name or tag): an image's content cannot change under the same id, so a
// scan need not export, nor ask the history of, an image it listed before. Entries not used for a while are
// pruned, and their number is bounded.
type ImageFilesCache interface {
	// ImageFiles returns the files recorded for the image id, and ok false
	// when none are. It only reads: MarkImageFilesUsed records the use.
	ImageFiles(ctx context.Context, imageID string) (files ImageFiles, ok bool, err error)
	// PutImageFiles records the files read from the image id.
	PutImageFiles(ctx context.Context, imageID string, files ImageFiles) error
	// MarkImageFilesUsed records that the entries of the image ids were
	// used now (the cache keeps the most recently used), in one write for
	// a whole scan's images.
	MarkImageFilesUsed(ctx context.Context, imageIDs []string) error
}

// PeriodLock lets one daemon, among several sharing a store, start a due
// period task: the one holding the task's lock re-reads it, starts it if
// it is still due, and records it as triggered before unlocking. A lock
// whose holder dies is released with it, so another daemon takes over.
// A backend that only one process writes at a time (the SQLite file)
// need not offer it.
type PeriodLock interface {
	// LockPeriod takes the period task's lock unless another daemon holds
	// it (ok false); unlock releases it.
	LockPeriod(ctx context.Context, id int64) (unlock func(), ok bool, err error)
}

// ErrAlreadyApplied refuses to record an upload whose idempotency key is
// recorded already: its first attempt landed (OutboxStore.CompleteUpload).
var ErrAlreadyApplied = errors.New("the upload's idempotency key is already applied")

// AppliedUploadRetention is how long an applied upload's idempotency key
// is remembered: a retry of that upload arriving later is recorded again.
const AppliedUploadRetention = 90 * 24 * time.Hour

// OutboxEntry is a completed task waiting in a node's outbox until its
// upstream daemon acknowledges it.
type OutboxEntry struct {
	// ID orders the outbox: the lowest is the oldest.
	ID     int64
	TaskID int64
	// Key is the upload's idempotency key, unique in the outbox.
	Key string
	// Payload is the upload as it will be sent (opaque to the store).
	Payload    []byte
	EnqueuedAt time.Time
	// Attempts counts the failed attempts so far; LastError is the last
	// one's reason, NextAttempt when the next one is due (zero: at once).
	Attempts    int
	LastError   string
	NextAttempt time.Time
}

// OutboxStats describe a node's outbox.
type OutboxStats struct {
	// Depth is how many entries wait; Oldest is the oldest one's
	// EnqueuedAt (zero when none waits).
	Depth  int
	Oldest time.Time
	// Dropped counts the entries ever dropped unsent: pushed out of a full
	// outbox, or refused by the upstream.
	Dropped int64
}

// AppliedUpload is an upload recorded under its idempotency key, with
// what it was recorded as.
type AppliedUpload struct {
	Node, Key   string
	TaskID      int64
	ResultCount int
	AppliedAt   time.Time
}

// OutboxStore delivers tasks from a node to its upstream daemon exactly
// once: on the node, the outbox of completed tasks waiting for upload
// (durable, oldest first, bounded); on the upstream, the idempotency keys
// of the uploads applied, recorded in the ingest's own transaction.
type OutboxStore interface {
	// StoreID is a random id made once for the store: idempotency keys
	// carry it, so that a store made afresh never reuses another's keys.
	StoreID(ctx context.Context) (string, error)
	// EnqueueOutbox appends e to the outbox. When the outbox holds limit
	// entries (limit > 0), the oldest are dropped to make room, counted in
	// Dropped and returned.
	EnqueueOutbox(ctx context.Context, e OutboxEntry, max int) (dropped []OutboxEntry, err error)
	// OutboxHead returns the oldest entry, and ok false when none waits.
	OutboxHead(ctx context.Context) (e OutboxEntry, ok bool, err error)
	// AckOutbox removes an entry that the upstream acknowledged.
	AckOutbox(ctx context.Context, id int64) error
	// DropOutbox removes an entry that will never be sent (refused by the
	// upstream), counted in Dropped.
	DropOutbox(ctx context.Context, id int64) error
	// RetryOutbox records a failed attempt of an entry: one more attempt,
	// its reason, and when the next one is due.
	RetryOutbox(ctx context.Context, id int64, reason string, next time.Time) error
	OutboxStats(ctx context.Context) (OutboxStats, error)
	// CompleteUpload is CompleteTask for an uploaded task carrying an
	// idempotency key: the key (with the node that sent it) is recorded
	// applied in the same transaction as the results. A key recorded
	// already is refused with ErrAlreadyApplied, and nothing is stored.
	// Keys older than AppliedUploadRetention are pruned.
	CompleteUpload(ctx context.Context, taskID int64, rep *results.Report, node, key string) error
	// AppliedUpload returns the upload recorded under the node's key, and
	// ok false when there is none.
	AppliedUpload(ctx context.Context, node, key string) (u AppliedUpload, ok bool, err error)
}

// HealthChecker says whether a store can serve: it answers, and its
// schema is the one this program knows (every migration applied).
type HealthChecker interface {
	Ready(ctx context.Context) error
}

// Store is every role: a backend that keeps the whole compliance model
// (the embedded SQLite store). Callers take the roles they need; a
// backend that can offer only some (the remote store) implements those.
// OutboxStore and HealthChecker are outside it: callers find them on a
// Store by a type assertion, and do without where a backend lacks them.
type Store interface {
	CatalogStore
	TaskStore
	ResultReader
	ExportReader
	WhitelistStore
	PeriodStore
	UploadStore
	ReplayGuard
	ImageFilesCache
	// MarkPeriodTriggered records when a period task last fired.
	MarkPeriodTriggered(ctx context.Context, id int64, at time.Time) error
	Close() error
}
