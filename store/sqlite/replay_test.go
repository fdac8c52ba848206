package sqlite

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/baselinehq/baseline/store"
)

// The replay guard: a signature's first use is recorded; a later use, for
// any action and through a second handle on the same file (a second
// daemon), gets that first use back; an expired record counts as absent,
// and expired records are pruned.
func TestUseSignature(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	quiet := Options{Logger: slog.New(slog.DiscardHandler)}
	a, err := Open(ctx, dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t0 := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	use := func(sig, action string, at time.Duration) store.SignatureUse {
		return store.SignatureUse{Signature: sig, Action: action, At: t0.Add(at), Until: t0.Add(5 * time.Minute)}
	}
	for _, step := range []struct {
		what        string
		db          *DB
		u           store.SignatureUse
		seen        bool
		firstAction string
		firstAt     time.Duration
	}{
		{"first use", a, use("s1", "DescribeComplianceAssetList", 0), false, "DescribeComplianceAssetList", 0},
		{"another action", a, use("s1", "CreateComplianceTask", time.Second), true, "DescribeComplianceAssetList", 0},
		{"the same action, second handle", b, use("s1", "DescribeComplianceAssetList", 2*time.Second), true, "DescribeComplianceAssetList", 0},
		{"another signature", b, use("s2", "CreateComplianceTask", 3*time.Second), false, "CreateComplianceTask", 3 * time.Second},
		{"after expiry", a, use("s1", "CreateComplianceTask", 6*time.Minute), false, "CreateComplianceTask", 6 * time.Minute},
	} {
		first, seen, err := step.db.UseSignature(ctx, step.u)
		if err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		if seen != step.seen || first.Action != step.firstAction || !first.At.Equal(t0.Add(step.firstAt)) {
			t.Errorf("%s: %+v, seen %v; want seen %v, first %s at +%s", step.what, first, seen, step.seen, step.firstAction, step.firstAt)
		}
	}
	// The use after expiry (a minute past the last pruning) pruned the
	// expired rows: only the replaced one is left.
	var n int
	if err := a.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM signatures`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d signature rows after expiry, want 1 (the others pruned)", n)
	}
}
