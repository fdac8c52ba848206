package upstream

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/internal/fleet"
	"github.com/baselinehq/baseline/store"
)

// nodePayload is the outbox entry of a node's task of 200 containers
// judged by 75 items (15,000 results).
func nodePayload(tb testing.TB) (payload, doc []byte) {
	tb.Helper()
	cat, err := fleet.Catalog()
	if err != nil {
		tb.Fatal(err)
	}
	node, err := fleet.BuildNode(cat, 7, fleet.NodeSize{Containers: 200, Images: 50, Items: 75}, time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC))
	if err != nil {
		tb.Fatal(err)
	}
	u := api.NewScanUpload(store.Scope{Node: node.Name, Items: node.Items}, node.Report)
	u.IdempotencyKey = Key(node.Name, "store-1", 42)
	if payload, err = encode(u); err != nil {
		tb.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		tb.Fatal(err)
	}
	if doc, err = io.ReadAll(zr); err != nil {
		tb.Fatal(err)
	}
	return payload, doc
}

// An outbox entry is sent as the document it holds: digest gives that
// document's length and SHA-256, which sign the request, and the document
// is the upload with its idempotency key. An entry cut short or altered
// is unreadable, so that the forwarder drops it instead of sending it.
func TestDigestOfAnOutboxEntry(t *testing.T) {
	payload, doc := nodePayload(t)
	size, sum, err := digest(payload)
	want := sha256.Sum256(doc)
	if err != nil || size != int64(len(doc)) || sum != hex.EncodeToString(want[:]) {
		t.Fatalf("digest = %d, %s, %v; want %d, %x", size, sum, err, len(doc), want)
	}
	var u api.ScanUpload
	if err := json.Unmarshal(doc, &u); err != nil || u.IdempotencyKey != Key("fleet-node-0007", "store-1", 42) || len(u.Results) != 15000 {
		t.Fatalf("the entry's document: %v, key %q, %d results", err, u.IdempotencyKey, len(u.Results))
	}
	altered := bytes.Clone(payload)
	altered[len(altered)/2] ^= 0xff
	for name, p := range map[string][]byte{"cut short": payload[:len(payload)/2], "altered": altered, "empty": nil} {
		if _, _, err := digest(p); err == nil {
			t.Errorf("digest of an entry %s: no error", name)
		}
	}
}

// BenchmarkForwardPayload is the forwarder's own work to send a node's
// task from its outbox entry (15,000 results): the digest pass, then the
// document decompressed as it is sent (here to nowhere).
func BenchmarkForwardPayload(b *testing.B) {
	payload, doc := nodePayload(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		size, _, err := digest(payload)
		if err != nil {
			b.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, zr); err != nil || n != size {
			b.Fatalf("sent %d of %d bytes: %v", n, size, err)
		}
	}
	b.ReportMetric(float64(len(doc))/1e6, "doc-MB")
	b.ReportMetric(float64(len(payload))/1e6, "entry-MB")
}
