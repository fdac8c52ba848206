package checks

// CheckStatus is the state of one (item, asset) check, as in the compliance API.
type CheckStatus string

// Check statuses.
const (
	CheckInit     CheckStatus = "CHECK_INIT"
	CheckRunning  CheckStatus = "CHECK_RUNNING"
	CheckFinished CheckStatus = "CHECK_FINISHED"
	// CheckFailed means the check could not be carried out; Reason says why.
	CheckFailed CheckStatus = "CHECK_FAILED"
)

// CheckResult is the outcome of a finished check.
type CheckResult string

// Check results. PASSED and FAILED are the API's; MANUAL and NOT_APPLICABLE
// make explicit what could not be judged automatically or does not apply,
// so that neither is ever reported as passed.
const (
	ResultPassed        CheckResult = "RESULT_PASSED"
	ResultFailed        CheckResult = "RESULT_FAILED"
	ResultManual        CheckResult = "RESULT_MANUAL"
	ResultNotApplicable CheckResult = "RESULT_NOT_APPLICABLE"
)

// Evidence is one observation behind a verdict: what was read, where, and
// what was expected of it.
type Evidence struct {
	Source   string `json:"Source"`
	Subject  string `json:"Subject,omitempty"`
	Actual   string `json:"Actual"`
	Expected string `json:"Expected"`
	Passed   bool   `json:"Passed"`
	// Text says the same in words, when the item's test has a label:
	// "the user is root (expected a non-root user)".
	Text string `json:"Text,omitempty"`
}

// Verdict is the outcome of evaluating one item on one asset.
type Verdict struct {
	Status   CheckStatus `json:"CheckStatus"`
	Result   CheckResult `json:"CheckResult,omitempty"`
	Reason   string      `json:"Reason,omitempty"`
	Evidence []Evidence  `json:"VerifyInfo,omitempty"`
}

// Failed builds a verdict for a check that could not be carried out.
func Failed(reason string) Verdict { return Verdict{Status: CheckFailed, Reason: reason} }
