package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// ExportSchemaVersion is the version of the export model (and of the JSON
// export's schema, report/schema/export.schema.json).
const ExportSchemaVersion = "1"

// By says how an export is grouped.
type By string

// Export groupings.
const (
	ByAssetGroup By = "asset"
	ByItemGroup  By = "item"
)

// Meta is everything an export says besides its rows: what was checked,
// against which standards, when, with which tool, the summary figures and
// the waivers. It is small; rows are streamed.
type Meta struct {
	SchemaVersion string      `json:"SchemaVersion"`
	Tool          Tool        `json:"Tool"`
	GeneratedAt   time.Time   `json:"GeneratedAt"`
	By            By          `json:"By"`
	AssetType     assets.Type `json:"AssetType,omitempty"`
	// IDs are the asset or item ids the export was limited to (empty: all).
	IDs []uint64 `json:"Ids,omitempty"`
	// TaskIDs are the tasks the results come from; From and To bound
	// their check times.
	TaskIDs   []int64                `json:"TaskIds"`
	From      time.Time              `json:"From"`
	To        time.Time              `json:"To"`
	Standards []StandardInfo         `json:"Standards"`
	Hosts     []string               `json:"Hosts"`
	Summary   []store.AssetSummary   `json:"Summary"`
	Trend     []TrendPoint           `json:"Trend"`
	Waivers   []store.WhitelistEntry `json:"Waivers"`
	// ResultCount is the number of rows.
	ResultCount int `json:"ResultCount"`
}

// TrendPoint is one finished task's pass rate for an asset type.
type TrendPoint struct {
	TaskID     int64       `json:"TaskId"`
	FinishedAt time.Time   `json:"FinishedAt"`
	AssetType  assets.Type `json:"AssetType"`
	PassRate   float64     `json:"AssetPassedRate"`
	Failed     int         `json:"FailedAssetCount"`
	Passed     int         `json:"PassedAssetCount"`
}

// Source is what an encoder reads: the meta, then the rows, in the
// export's order, one at a time.
type Source interface {
	Meta() Meta
	Rows(ctx context.Context, fn func(results.Row) error) error
}

// Encoder writes one export format.
type Encoder interface {
	// Format is the --format name; Ext the file extension.
	Format() string
	Ext() string
	// Encode writes the export to w, streaming the rows; integrity is
	// filled in as the rows go by and must be written at the end.
	Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error
}

// Integrity computes an export's two digests: of the results it was built
// from (a canonical encoding of every row, in order) and of its content
// (every byte of the file, with the content digest itself written as 64
// zeros). Both are written in the export as
// "baseline-results-sha256=HEX" and "baseline-content-sha256=HEX";
// `baseline report verify` recomputes the content digest.
type Integrity struct {
	results hash.Hash
	content hash.Hash
	out     io.Writer
	rows    int
	signer  *Signer
}

// Markers that carry the digests in every format.
const (
	ResultsMarker = "baseline-results-sha256="
	ContentMarker = "baseline-content-sha256="
	zeroDigest    = "0000000000000000000000000000000000000000000000000000000000000000"
)

// NewIntegrity wraps the export's output: everything written through
// Writer is hashed into the content digest.
func NewIntegrity(w io.Writer) *Integrity {
	in := &Integrity{results: sha256.New(), content: sha256.New()}
	in.out = io.MultiWriter(w, in.content)
	return in
}

// Sign makes the export signed by s (nil: unsigned) and returns in.
func (in *Integrity) Sign(s *Signer) *Integrity {
	in.signer = s
	return in
}

// Writer is where an encoder writes the export.
func (in *Integrity) Writer() io.Writer { return in.out }

// AddRow folds a row into the results digest.
func (in *Integrity) AddRow(r results.Row) {
	in.rows++
	fmt.Fprintf(in.results, "%d\x1f%d\x1f%s\x1f%s\x1f%t\x1f%s\x1f%s\x1f%d\n", r.ItemID, r.AssetID, r.Status, r.Result, r.Ignored, r.Reason, r.CheckedAt, r.TaskID)
	for _, e := range r.Evidence {
		fmt.Fprintf(in.results, "\x1e%s\x1f%s\x1f%s\x1f%s\x1f%t\n", e.Source, e.Subject, e.Actual, e.Expected, e.Passed)
	}
}

// Rows is how many rows were added.
func (in *Integrity) Rows() int { return in.rows }

// ResultsDigest is the hex digest of the rows added so far.
func (in *Integrity) ResultsDigest() string { return hex.EncodeToString(in.results.Sum(nil)) }

// Finish writes the export's last bytes to w, the export's own output
// (not Writer, which would hash them twice): trailer is a template in which
// every {content} becomes the content digest and every {results} the
// results digest. The content digest covers everything written, with
// {content} counted as 64 zeros. A signed export's {content} is followed
// by " baseline-signature-ed25519=BASE64 baseline-signer-sha256=HEX", the
// signature counted as 88 zeros.
func (in *Integrity) Finish(w io.Writer, trailer string) (content string, err error) {
	results := in.ResultsDigest()
	withResults := strings.ReplaceAll(trailer, "{results}", ResultsMarker+results)
	zeroed := strings.ReplaceAll(withResults, "{content}", in.contentField(zeroDigest, zeroSignature))
	in.content.Write([]byte(zeroed))
	content = hex.EncodeToString(in.content.Sum(nil))
	sig := ""
	if in.signer != nil {
		sig = in.signer.sign(results, content)
	}
	_, err = io.WriteString(w, strings.ReplaceAll(withResults, "{content}", in.contentField(content, sig)))
	return content, err
}

// contentField is the content digest and, when signed, the signature and
// the signer's fingerprint.
func (in *Integrity) contentField(content, sig string) string {
	if in.signer == nil {
		return ContentMarker + content
	}
	return ContentMarker + content + " " + SignatureMarker + sig + " " + SignerMarker + in.signer.Fingerprint()
}

// VerifyContent checks a text export: the content digest recomputed with
// every content digest zeroed (and the signature, if any) must equal the
// one written. The digest has no secret: it shows that a file was not
// edited after it was written (by accident or by a tool), not that it came
// from a given daemon (see VerifyExport and Verification.CheckSignature);
// keep the results digest to compare with the store.
func VerifyContent(data []byte) (results, content string, ok bool, err error) {
	v, err := verifyText(data)
	return v.Results, v.Content, v.Intact, err
}

func verifyText(data []byte) (v Verification, err error) {
	s := string(data)
	// The digests are in the trailer, the last bytes: read the last
	// occurrence, so that a marker planted in a name cannot stand in.
	i := strings.LastIndex(s, ContentMarker)
	if i < 0 {
		return v, fmt.Errorf("no %s marker: not a baseline export, or the marker was removed", strings.TrimSuffix(ContentMarker, "="))
	}
	content := s[i+len(ContentMarker):]
	if len(content) < 64 {
		return v, fmt.Errorf("truncated content digest")
	}
	v.Content = content[:64]
	if j := strings.LastIndex(s, ResultsMarker); j >= 0 && len(s) >= j+len(ResultsMarker)+64 {
		v.Results = s[j+len(ResultsMarker) : j+len(ResultsMarker)+64]
	}
	// The signature, if any, follows the content digest.
	zeroed := s
	if k := strings.LastIndex(s, SignatureMarker); k > i {
		if v.Signature = signatureAt(s, k); v.Signature != "" {
			at := k + len(SignatureMarker)
			zeroed = s[:at] + zeroSignature + s[at+signatureLen:]
			if j := strings.LastIndex(s, SignerMarker); j > k {
				v.Signer = signerAt(s, j)
			}
		}
	}
	zeroed = strings.ReplaceAll(zeroed, ContentMarker+v.Content, ContentMarker+zeroDigest)
	sum := sha256.Sum256([]byte(zeroed))
	// Every occurrence must carry the same digest.
	if strings.Count(s, ContentMarker) != strings.Count(s, ContentMarker+v.Content) {
		return v, nil
	}
	v.Intact = hex.EncodeToString(sum[:]) == v.Content
	return v, nil
}

// ExportQuery says what to export.
type ExportQuery struct {
	By        By
	AssetType assets.Type
	// IDs limit the export to these assets (By asset) or items (By item).
	IDs []uint64
	// TaskID exports one task's results; 0 exports the latest results.
	TaskID int64
}

// Encoders lists the export formats, in one explicit list.
func Encoders() []Encoder { return encoders }

var encoders = []Encoder{XLSXEncoder{}, CSVEncoder{}, JSONEncoder{}, HTMLEncoder{}, SARIFEncoder{}, JUnitEncoder{}, PDFEncoder{}}

// EncoderFor returns the encoder of a format.
func EncoderFor(format string) (Encoder, error) {
	var names []string
	for _, e := range encoders {
		if e.Format() == format {
			return e, nil
		}
		names = append(names, e.Format())
	}
	sort.Strings(names)
	return nil, fmt.Errorf("--format: %q is not one of %s", format, strings.Join(names, ", "))
}

// FormatTime is the export's time format (UTC).
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Itoa is strconv.FormatUint for ids in cells.
func Itoa(id uint64) string { return strconv.FormatUint(id, 10) }

// joinIDs lists ids (assets, items) as "1, 2, 3".
func joinIDs(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = Itoa(id)
	}
	return strings.Join(s, ", ")
}

// joinTaskIDs lists task ids as "1, 2, 3".
func joinTaskIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

// toolName is the tool as the exports name it: "baseline 1.2.0".
func toolName(t Tool) string { return strings.TrimSpace(t.Name + " " + t.Version) }

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// groupKey is the key of the group a row belongs to in an export grouped
// by item (byItem) or by asset: the rows come grouped, and a group ends
// where the key changes.
func groupKey(r results.Row, byItem bool) uint64 {
	if byItem {
		return r.ItemID
	}
	return r.AssetID
}

// finishText ends a text export: it flushes out, the buffer in front of
// Integrity.Writer, then writes the trailer (see Integrity.Finish) to w.
// Errors are prefixed with what ("json export").
func finishText(w io.Writer, in *Integrity, out interface{ Flush() error }, trailer, what string) error {
	if err := out.Flush(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := in.Finish(w, trailer); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// progressSource counts rows as an encoder reads them.
type progressSource struct {
	Source
	total    int
	done     int
	progress func(done, total int)
}

// Rows counts one pass; an encoder that reads the rows twice (SARIF lists
// its rules first) restarts the count.
func (p *progressSource) Rows(ctx context.Context, fn func(results.Row) error) error {
	p.done = 0
	return p.Source.Rows(ctx, func(r results.Row) error {
		p.done++
		if p.progress != nil && (p.done%1000 == 0 || p.done == p.total) {
			p.progress(p.done, p.total)
		}
		return fn(r)
	})
}

// Export writes src to w with the encoder, signed by signer unless it is
// nil, reporting progress (rows done out of the meta's result count) when
// progress is set.
func Export(ctx context.Context, enc Encoder, w io.Writer, src Source, signer *Signer, progress func(done, total int)) error {
	ps := &progressSource{Source: src, total: src.Meta().ResultCount, progress: progress}
	return enc.Encode(ctx, w, ps, NewIntegrity(w).Sign(signer))
}

// Verify checks any export: XLSX by its cells, every text format by its
// bytes.
func Verify(data []byte) (results, content string, ok bool, err error) {
	v, err := VerifyExport(data)
	return v.Results, v.Content, v.Intact, err
}

// VerifyExport checks any export's digests and reads its signature, if any
// (Verification.CheckSignature proves it).
func VerifyExport(data []byte) (Verification, error) {
	if len(data) > 4 && string(data[:4]) == "PK\x03\x04" {
		return verifyXLSXCells(bytes.NewReader(data), int64(len(data)))
	}
	return verifyText(data)
}
