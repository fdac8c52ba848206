package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// A query kept prepared answers from the data committed since it last
// ran, and the cache holds at most
// maxCachedStatements texts: the queries past the bound still run.
func TestPreparedQueriesSeeNewWritesAndAreBounded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	conn := f.db.Signatures
	count := func() int {
		var n int
		if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM signatures WHERE action = ?", "Describe").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	now := time.Now()
	for i := range 3 {
		if got := count(); got != i {
			t.Fatalf("after %d signatures, the prepared count says %d", i, got)
		}
		if _, _, err := f.db.UseSignature(ctx, store.SignatureUse{Signature: fmt.Sprintf("s%d", i), Action: "Describe", At: now, Until: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range maxCachedStatements + 10 {
		q := fmt.Sprintf("SELECT COUNT(*) + %d FROM signatures", i)
		var n int
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil || n != 3+i {
			t.Fatalf("%s: %d, %v", q, n, err)
		}
		err := sqlstore.Each(ctx, conn, func(sc sqlstore.Scanner) error { return sc.Scan(&n) }, q)
		if err != nil || n != 3+i {
			t.Fatalf("%s (rows): %d, %v", q, n, err)
		}
	}
	c := conn.(signaturesConn).c.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) != maxCachedStatements {
		t.Errorf("%d statements cached, want the bound %d", len(c.m), maxCachedStatements)
	}
}
