package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// SARIFEncoder writes the export as a SARIF 2.1.0 log
// (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), for tools that read
// static-analysis results: one run, whose tool.driver.rules are the check
// items and whose results are the (item, asset) rows.
//
//	{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":"baseline","version":"...","rules":[
//	{...one rule per item, one per line...}
//	]}},"results":[
//	{...one result per row, one per line...}
//	],"properties":{...the export's meta...,"integrity":"baseline-results-sha256=HEX baseline-content-sha256=HEX"}}]}
//
// Rules. A rule's id is "<StandardId>/<BenchmarkNumber>", e.g.
// "cis-docker-1.6.0/5.5" (numbers are unique within a standard; should two
// item ids ever share one, the later gets "#<CustomerPolicyItemId>"
// appended). Its name and shortDescription are the item's title, its help
// the remediation, its defaultConfiguration.level the risk's: critical and
// high are "error", medium "warning", low and notice "note".
//
// Results, in the export's order, by outcome:
//
//	PASSED          kind "pass",          level "none"
//	FAILED          kind "fail",          level from the risk
//	IGNORED         kind "fail",          level from the risk, with a
//	                suppression {"kind":"external","status":"accepted",
//	                "justification": the waiver's reason}
//	MANUAL          kind "review",        level "none"
//	NOT_APPLICABLE  kind "notApplicable", level "none"
//	CHECK_FAILED    kind "open",          level "none", the message saying
//	                the check could not be carried out, and why
//
// (SARIF requires level "none" whenever kind is not "fail".) The asset is
// a logical location {"name": asset name, "kind": "resource",
// "fullyQualifiedName": "<AssetType>/<name>/<CustomerAssetId>"}; the ids,
// node, task, check time and evidence are in the result's properties.
// There is no physical location (no file and line): GitHub code scanning,
// which requires one, will not take these logs; generic SARIF viewers and
// aggregators do.
//
// Two passes. SARIF lists the rules (in tool.driver, written first) before
// the results, and the rules are only known from the rows. Holding the rows
// is not an option (an export may have 1.5 million), so Encode reads the
// source twice: a first pass collects the distinct items only (a few
// hundred at most, so memory stays bounded), a second pass streams the
// results. The price is a second read of the store. The results digest is
// computed in the second pass only. Should the second pass meet an item
// that the first did not (the latest results changed in between), Encode
// fails rather than write a result whose rule is missing.
type SARIFEncoder struct{}

// SARIF constants.
const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	// sarifTrailer ends the run's properties (the integrity is their last
	// member), the run, the runs and the log.
	sarifTrailer = "\"integrity\":\"{results} {content}\"}}]}\n"
)

// Format implements Encoder.
func (SARIFEncoder) Format() string { return "sarif" }

// Ext implements Encoder.
func (SARIFEncoder) Ext() string { return ".sarif" }

type sarifText struct {
	Text string `json:"text"`
}

type sarifRuleProperties struct {
	ItemID     uint64      `json:"CustomerPolicyItemId"`
	Number     string      `json:"BenchmarkNumber"`
	StandardID string      `json:"StandardId"`
	Category   string      `json:"Category"`
	Risk       checks.Risk `json:"RiskLevel"`
	AssetType  assets.Type `json:"AssetType"`
}

type sarifRule struct {
	ID                   string     `json:"id"`
	Name                 string     `json:"name"`
	ShortDescription     sarifText  `json:"shortDescription"`
	FullDescription      sarifText  `json:"fullDescription"`
	Help                 *sarifText `json:"help,omitempty"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	Properties sarifRuleProperties `json:"properties"`

	index int
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	Kind               string `json:"kind"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
}

type sarifLocation struct {
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
}

type sarifSuppressionProperties struct {
	WaiverID  int64  `json:"WhitelistItemId,omitempty"`
	Operator  string `json:"Operator,omitempty"`
	ExpiresAt string `json:"ExpireTime,omitempty"`
}

type sarifSuppression struct {
	Kind          string                      `json:"kind"`
	Status        string                      `json:"status"`
	Justification string                      `json:"justification"`
	Properties    *sarifSuppressionProperties `json:"properties,omitempty"`
}

type sarifResultProperties struct {
	ItemID    uint64            `json:"CustomerPolicyItemId"`
	AssetID   uint64            `json:"CustomerAssetId"`
	AssetType assets.Type       `json:"AssetType"`
	NodeName  string            `json:"NodeName"`
	TaskID    int64             `json:"TaskId"`
	CheckedAt string            `json:"LastCheckTime"`
	Outcome   string            `json:"Outcome"`
	Reason    string            `json:"Reason,omitempty"`
	Evidence  []checks.Evidence `json:"VerifyInfo,omitempty"`
}

type sarifResult struct {
	RuleID              string          `json:"ruleId"`
	RuleIndex           int             `json:"ruleIndex"`
	Kind                string          `json:"kind"`
	Level               string          `json:"level"`
	Message             sarifText       `json:"message"`
	Locations           []sarifLocation `json:"locations"`
	PartialFingerprints struct {
		ItemAsset string `json:"baselineItemAsset/v1"`
	} `json:"partialFingerprints"`
	Suppressions []sarifSuppression    `json:"suppressions,omitempty"`
	Properties   sarifResultProperties `json:"properties"`
}

// sarifRunMeta is the run's properties bag, before the integrity.
type sarifRunMeta struct {
	SchemaVersion string         `json:"SchemaVersion"`
	GeneratedAt   string         `json:"GeneratedAt,omitempty"`
	By            By             `json:"By,omitempty"`
	AssetType     assets.Type    `json:"AssetType,omitempty"`
	IDs           []uint64       `json:"Ids,omitempty"`
	TaskIDs       []int64        `json:"TaskIds"`
	From          string         `json:"From,omitempty"`
	To            string         `json:"To,omitempty"`
	Standards     []StandardInfo `json:"Standards"`
	Hosts         []string       `json:"Hosts"`
	ResultCount   int            `json:"ResultCount"`
}

// Encode implements Encoder; see SARIFEncoder for the two passes.
func (SARIFEncoder) Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error {
	m := src.Meta()
	byItem, rules, err := sarifRules(ctx, src, m.Standards)
	if err != nil {
		return err
	}
	sw := newSARIFWriter(in.Writer())
	if err := sw.writeDriver(m.Tool, rules); err != nil {
		return err
	}
	n, err := sw.writeResults(ctx, src, in, byItem, newFindingWaivers(m.Waivers))
	if err != nil {
		return err
	}
	if err := sw.writeRunProperties(m, n); err != nil {
		return err
	}
	return finishText(w, in, sw, sarifTrailer, "sarif export")
}

// sarifRules is the first pass: it reads the distinct items, nothing else.
// It returns their rules by item id, and in the order tool.driver lists
// them (by item id), with their index and unique ids set.
func sarifRules(ctx context.Context, src Source, standards []StandardInfo) (map[uint64]*sarifRule, []*sarifRule, error) {
	byItem := map[uint64]*sarifRule{}
	err := src.Rows(ctx, func(r results.Row) error {
		if _, ok := byItem[r.ItemID]; !ok {
			byItem[r.ItemID] = newSARIFRule(r, standards)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	rules := make([]*sarifRule, 0, len(byItem))
	for _, rule := range byItem {
		rules = append(rules, rule)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Properties.ItemID < rules[j].Properties.ItemID })
	used := map[string]bool{}
	for i, rule := range rules {
		rule.index = i
		if used[rule.ID] {
			rule.ID += "#" + Itoa(rule.Properties.ItemID)
		}
		used[rule.ID] = true
	}
	return byItem, rules, nil
}

// sarifWriter writes the log: its fixed markup as it is, and every value
// (a name, a rule, a result, the run's properties) with one reused JSON
// encoder, without HTML escaping and without the encoder's newline.
type sarifWriter struct {
	findingOut
	buf bytes.Buffer
	enc *json.Encoder
}

func newSARIFWriter(w io.Writer) *sarifWriter {
	s := &sarifWriter{findingOut: newFindingOut(w)}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

// emit writes v's JSON.
func (s *sarifWriter) emit(v any) error {
	s.buf.Reset()
	if err := encodeLine(s.enc, &s.buf, v); err != nil {
		return err
	}
	s.raw(s.buf.Bytes())
	return nil
}

// element starts the i-th element of an array that holds one a line.
func (s *sarifWriter) element(i int) {
	if i > 0 {
		s.char(',')
	}
	s.char('\n')
}

// endArray ends the line of an array's last element, if it has any.
func (s *sarifWriter) endArray(n int) {
	if n > 0 {
		s.char('\n')
	}
}

// writeDriver writes the log's start, up to the results: the tool and its rules.
func (s *sarifWriter) writeDriver(tool Tool, rules []*sarifRule) error {
	s.str(`{"$schema":"` + sarifSchema + `","version":"` + sarifVersion + `","runs":[{"tool":{"driver":{"name":`)
	if err := s.emit(orDefault(tool.Name, "baseline")); err != nil {
		return fmt.Errorf("sarif export: %w", err)
	}
	if tool.Version != "" {
		s.str(`,"version":`)
		if err := s.emit(tool.Version); err != nil {
			return fmt.Errorf("sarif export: %w", err)
		}
	}
	s.str(`,"rules":[`)
	for i, rule := range rules {
		s.element(i)
		if err := s.emit(rule); err != nil {
			return fmt.Errorf("sarif export: rule %s: %w", rule.ID, err)
		}
	}
	s.endArray(len(rules))
	s.str(`]}},"results":[`)
	return nil
}

// writeResults is the second pass: it writes the results and returns how many.
func (s *sarifWriter) writeResults(ctx context.Context, src Source, in *Integrity, byItem map[uint64]*sarifRule, waivers findingWaivers) (int, error) {
	res := sarifResult{Locations: make([]sarifLocation, 1)}
	res.Locations[0].LogicalLocations = make([]sarifLogicalLocation, 1)
	n := 0
	err := src.Rows(ctx, func(r results.Row) error {
		rule, ok := byItem[r.ItemID]
		if !ok {
			return fmt.Errorf("sarif export: item %d (%s) was not among the rules read first: the results changed during the export; export again", r.ItemID, findingRuleID(r))
		}
		in.AddRow(r)
		fillSARIFResult(&res, r, rule, waivers)
		s.element(n)
		if err := s.emit(&res); err != nil {
			return fmt.Errorf("sarif export: row %d (item %d, asset %d): %w", n+1, r.ItemID, r.AssetID, err)
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	s.endArray(n)
	return n, nil
}

// writeRunProperties writes the run's properties but their last member, the
// integrity, which the trailer holds; n is the number of results.
func (s *sarifWriter) writeRunProperties(m Meta, n int) error {
	s.str(`],"properties":`)
	meta := sarifRunMeta{SchemaVersion: orDefault(m.SchemaVersion, ExportSchemaVersion), GeneratedAt: FormatTime(m.GeneratedAt), By: m.By,
		AssetType: m.AssetType, IDs: m.IDs, TaskIDs: nonNil(m.TaskIDs), From: FormatTime(m.From), To: FormatTime(m.To),
		Standards: nonNil(m.Standards), Hosts: nonNil(m.Hosts), ResultCount: n}
	s.buf.Reset()
	if err := encodeLine(s.enc, &s.buf, meta); err != nil {
		return fmt.Errorf("sarif export: meta: %w", err)
	}
	// The meta object without its closing brace: the integrity follows.
	s.raw(bytes.TrimSuffix(s.buf.Bytes(), []byte("}")))
	s.char(',')
	return nil
}

func newSARIFRule(r results.Row, standards []StandardInfo) *sarifRule {
	std := r.StandardID
	for _, s := range standards {
		if s.ID == r.StandardID {
			std = strings.TrimSpace(s.Name + " " + s.Version)
			break
		}
	}
	full := std + ", recommendation " + r.Number
	if r.Category != "" {
		full += " (" + r.Category + ")"
	}
	full += ": " + r.Title
	rule := &sarifRule{ID: findingRuleID(r), Name: r.Title, ShortDescription: sarifText{r.Title}, FullDescription: sarifText{full},
		Properties: sarifRuleProperties{ItemID: r.ItemID, Number: r.Number, StandardID: r.StandardID, Category: r.Category, Risk: r.Risk, AssetType: r.AssetType}}
	if r.Remediation != "" {
		rule.Help = &sarifText{r.Remediation}
	}
	rule.DefaultConfiguration.Level = sarifLevel(r.Risk)
	return rule
}

// fillSARIFResult overwrites res with the row's result, reusing its
// location slices.
func fillSARIFResult(res *sarifResult, r results.Row, rule *sarifRule, waivers findingWaivers) {
	loc := &res.Locations[0].LogicalLocations[0]
	*loc = sarifLogicalLocation{Name: r.AssetName, Kind: "resource", FullyQualifiedName: findingAssetKey(r)}
	res.RuleID, res.RuleIndex = rule.ID, rule.index
	res.PartialFingerprints.ItemAsset = Itoa(r.ItemID) + "/" + Itoa(r.AssetID)
	res.Suppressions = res.Suppressions[:0]
	res.Properties = sarifResultProperties{ItemID: r.ItemID, AssetID: r.AssetID, AssetType: r.AssetType, NodeName: r.NodeName,
		TaskID: r.TaskID, CheckedAt: r.CheckedAt, Outcome: r.Outcome(), Reason: r.Reason, Evidence: r.Evidence}

	res.Level = "none"
	var what string
	failedOnly := false
	switch r.Outcome() {
	case "PASSED":
		res.Kind, what = "pass", "passed"
	case "FAILED":
		res.Kind, res.Level, what, failedOnly = "fail", sarifLevel(r.Risk), "failed", true
	case "IGNORED":
		w := waivers.find(r)
		res.Kind, res.Level, what, failedOnly = "fail", sarifLevel(r.Risk), "failed (waived: "+w.reason()+")", true
		s := sarifSuppression{Kind: "external", Status: "accepted", Justification: w.reason()}
		if w != nil {
			s.Properties = &sarifSuppressionProperties{WaiverID: w.ID, Operator: w.CreatedBy, ExpiresAt: w.ExpiresAt}
		}
		res.Suppressions = append(res.Suppressions, s)
	case "MANUAL":
		res.Kind, what = "review", "manual review required"
	case "NOT_APPLICABLE":
		res.Kind, what = "notApplicable", "not applicable"
	case "CHECK_FAILED":
		res.Kind, what = "open", "the check could not be carried out"
	default:
		res.Kind, what = "informational", "no result ("+string(r.Status)+")"
	}
	res.Message.Text = sarifMessage(r, what, failedOnly)
}

// sarifMessage is a result's message: "TITLE: WHAT: REASON." (the reason
// alone when it starts with what), then the evidence (only the
// observations that failed, with failedOnly).
func sarifMessage(r results.Row, what string, failedOnly bool) string {
	var sb strings.Builder
	sb.WriteString(r.Title)
	sb.WriteString(": ")
	switch {
	case r.Reason == "":
		sb.WriteString(what)
	case strings.HasPrefix(r.Reason, what):
		// "manual review required; evidence collected", not
		// "manual review required: manual review required; ..."
		sb.WriteString(r.Reason)
	default:
		sb.WriteString(what)
		sb.WriteString(": ")
		sb.WriteString(r.Reason)
	}
	sb.WriteByte('.')
	if ev := findingEvidence(r.Evidence, failedOnly); len(ev) > 0 {
		sb.WriteString(" Evidence: ")
		sb.WriteString(strings.Join(ev, "; "))
		sb.WriteByte('.')
	}
	return sb.String()
}

// sarifLevel maps a risk to a SARIF level.
func sarifLevel(r checks.Risk) string {
	switch r {
	case checks.RiskCritical, checks.RiskHigh:
		return "error"
	case checks.RiskLow, checks.RiskNotice:
		return "note"
	}
	return "warning"
}
