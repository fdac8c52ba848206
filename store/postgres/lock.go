package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/store"
)

var _ store.PeriodLock = (*DB)(nil)

// LockPeriod takes the period task's session lock on a connection of its
// own (store.PeriodLock): the server releases it when unlocked, or when
// the connection ends with the daemon that held it.
func (s *DB) LockPeriod(ctx context.Context, id int64) (func(), bool, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	conn := c.Hijack()
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", periodClass, int32(id)).Scan(&ok); err != nil || !ok {
		_ = conn.Close(ctx)
		return nil, false, err
	}
	s.locksMu.Lock()
	if s.locks == nil {
		s.locks = map[*pgx.Conn]bool{}
	}
	s.locks[conn] = true
	s.locksMu.Unlock()
	unlock := func() {
		s.locksMu.Lock()
		held := s.locks[conn]
		delete(s.locks, conn)
		s.locksMu.Unlock()
		if held { // closing the connection releases its lock
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = conn.Close(ctx)
			cancel()
		}
	}
	return unlock, true, nil
}
