package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/store"
)

// pruneSignaturesEvery is how often UseSignature deletes the expired
// signatures (ms).
const pruneSignaturesEvery = 60_000

// UseSignature records a request signature's first use, or returns the
// recorded one (store.ReplayGuard). A record past its expiry counts as
// absent and is replaced; expired records are deleted at most once a
// minute by each handle. Every daemon on the database shares the record.
func (s *DB) UseSignature(ctx context.Context, u store.SignatureUse) (store.SignatureUse, bool, error) {
	if err := s.pruneSignatures(ctx, u); err != nil {
		return store.SignatureUse{}, false, err
	}
	r, err := useSignature(ctx, s.db(), u)
	return r.First, r.Seen, err
}

// UseSignatures records several first uses in one transaction, as
// UseSignature does each (store.SignatureBatcher). The upserts need no
// write lock: the signature's primary key decides between daemons.
func (s *DB) UseSignatures(ctx context.Context, uses []store.SignatureUse) ([]store.SignatureSeen, error) {
	if len(uses) == 0 {
		return nil, nil
	}
	if err := s.pruneSignatures(ctx, uses[0]); err != nil {
		return nil, err
	}
	out := make([]store.SignatureSeen, len(uses))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for i, u := range uses {
			var err error
			if out[i], err = useSignature(ctx, conn{tx}, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pruneSignatures deletes the expired signatures, at most once a minute.
func (s *DB) pruneSignatures(ctx context.Context, u store.SignatureUse) error {
	now := unix(u.At)
	if last := s.signaturesPruned.Load(); now-last >= pruneSignaturesEvery && s.signaturesPruned.CompareAndSwap(last, now) {
		if _, err := s.db().exec(ctx, `DELETE FROM signatures WHERE expires_at < ?`, now); err != nil {
			s.signaturesPruned.Store(last)
			return err
		}
	}
	return nil
}

func useSignature(ctx context.Context, c conn, u store.SignatureUse) (store.SignatureSeen, error) {
	tag, err := c.exec(ctx, `
INSERT INTO signatures(signature, action, used_at, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT(signature) DO UPDATE SET action = excluded.action, used_at = excluded.used_at, expires_at = excluded.expires_at
WHERE signatures.expires_at < excluded.used_at`, u.Signature, u.Action, unix(u.At), unix(u.Until))
	if err != nil {
		return store.SignatureSeen{}, err
	}
	if tag.RowsAffected() == 1 {
		return store.SignatureSeen{First: u}, nil
	}
	first := store.SignatureUse{Signature: u.Signature}
	var at, until int64
	err = c.queryRow(ctx, `SELECT action, used_at, expires_at FROM signatures WHERE signature = ?`, u.Signature).Scan(&first.Action, &at, &until)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SignatureSeen{First: u}, nil // pruned in between: it had expired
	}
	if err != nil {
		return store.SignatureSeen{}, err
	}
	first.At, first.Until = fromUnix(at), fromUnix(until)
	return store.SignatureSeen{First: first, Seen: true}, nil
}
