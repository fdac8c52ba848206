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
	if err := s.pruneSignatures(ctx, u); err != nil {
		return store.SignatureUse{}, false, err
	}
	r, err := useSignature(ctx, s.signatureConn(), u)
	return r.First, r.Seen, err
}

// UseSignatures records several first uses in one transaction, as
// UseSignature does each (store.SignatureBatcher). The transaction is
// SignatureTx: the signature's primary key decides between processes, so
// it need not wait for the store's write lock (an ingest under way).
func (s *Store) UseSignatures(ctx context.Context, uses []store.SignatureUse) ([]store.SignatureSeen, error) {
	if len(uses) == 0 {
		return nil, nil
	}
	if err := s.pruneSignatures(ctx, uses[0]); err != nil {
		return nil, err
	}
	tx := s.SignatureTx
	if tx == nil {
		tx = s.Tx
	}
	out := make([]store.SignatureSeen, len(uses))
	err := tx(ctx, func(c Conn) error {
		for i, u := range uses {
			var err error
			if out[i], err = useSignature(ctx, c, u); err != nil {
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

// signatureConn is where the signatures are kept.
func (s *Store) signatureConn() Conn {
	if s.Signatures != nil {
		return s.Signatures
	}
	return s.DB
}

// pruneSignatures deletes the expired signatures, at most once a minute.
func (s *Store) pruneSignatures(ctx context.Context, u store.SignatureUse) error {
	now := Unix(u.At)
	if last := s.signaturesPruned.Load(); now-last >= pruneSignaturesEvery && s.signaturesPruned.CompareAndSwap(last, now) {
		if _, err := s.signatureConn().Exec(ctx, `DELETE FROM signatures WHERE expires_at < ?`, now); err != nil {
			s.signaturesPruned.Store(last)
			return err
		}
	}
	return nil
}

func useSignature(ctx context.Context, c Conn, u store.SignatureUse) (store.SignatureSeen, error) {
	n, err := c.Exec(ctx, `
INSERT INTO signatures(signature, action, used_at, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT(signature) DO UPDATE SET action = excluded.action, used_at = excluded.used_at, expires_at = excluded.expires_at
WHERE signatures.expires_at < excluded.used_at`, u.Signature, u.Action, Unix(u.At), Unix(u.Until))
	if err != nil {
		return store.SignatureSeen{}, err
	}
	if n == 1 {
		return store.SignatureSeen{First: u}, nil
	}
	first := store.SignatureUse{Signature: u.Signature}
	var at, until int64
	err = c.QueryRow(ctx, `SELECT action, used_at, expires_at FROM signatures WHERE signature = ?`, u.Signature).Scan(&first.Action, &at, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return store.SignatureSeen{First: u}, nil // pruned in between: it had expired
	}
	if err != nil {
		return store.SignatureSeen{}, err
	}
	first.At, first.Until = FromUnix(at), FromUnix(until)
	return store.SignatureSeen{First: first, Seen: true}, nil
}
