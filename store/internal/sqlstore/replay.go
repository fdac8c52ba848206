package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/baselinehq/baseline/store"
)

// pruneSignaturesEvery is how often UseSignature deletes the expired
// signatures (ms).
const pruneSignaturesEvery = 60_000

// UseSignature records a request signature's first use, or returns the
// recorded one (store.ReplayGuard). A record past its expiry counts as
// absent and is replaced; expired records are deleted at most once a
// minute by each handle. Every process on the database shares the record.
func (s *Store) UseSignature(ctx context.Context, u store.SignatureUse) (store.SignatureUse, bool, error) {
	now := Unix(u.At)
	if last := s.signaturesPruned.Load(); now-last >= pruneSignaturesEvery && s.signaturesPruned.CompareAndSwap(last, now) {
		if _, err := s.DB.Exec(ctx, `DELETE FROM signatures WHERE expires_at < ?`, now); err != nil {
			s.signaturesPruned.Store(last)
			return store.SignatureUse{}, false, err
		}
	}
	n, err := s.DB.Exec(ctx, `
INSERT INTO signatures(signature, action, used_at, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT(signature) DO UPDATE SET action = excluded.action, used_at = excluded.used_at, expires_at = excluded.expires_at
WHERE signatures.expires_at < excluded.used_at`, u.Signature, u.Action, now, Unix(u.Until))
	if err != nil {
		return store.SignatureUse{}, false, err
	}
	if n == 1 {
		return u, false, nil
	}
	first := store.SignatureUse{Signature: u.Signature}
	var at, until int64
	err = s.DB.QueryRow(ctx, `SELECT action, used_at, expires_at FROM signatures WHERE signature = ?`, u.Signature).Scan(&first.Action, &at, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return u, false, nil // pruned in between: it had expired
	}
	if err != nil {
		return store.SignatureUse{}, false, err
	}
	first.At, first.Until = FromUnix(at), FromUnix(until)
	return first, true, nil
}
