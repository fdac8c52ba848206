package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// SyncCatalog records the standards and items; items no longer defined
// are kept (their results are history) but marked inactive. A standard's
// enabled switch, once set in the store, is kept. Only what changed is
// written: an unchanged catalog writes nothing.
func (s *DB) SyncCatalog(ctx context.Context, cat *checks.Catalog) error {
	return s.tx(ctx, func(c conn) error {
		q, args := sqlstore.Deactivation(cat)
		if _, err := c.exec(ctx, q, args...); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, st := range cat.Standards {
			b.Queue(rebind(sqlstore.StandardUpsert), storable(sqlstore.StandardArgs(st))...)
			for _, it := range st.Items {
				b.Queue(rebind(sqlstore.ItemUpsert), storable(sqlstore.ItemArgs(st, it))...)
			}
		}
		return c.q.(pgx.Tx).SendBatch(ctx, b).Close()
	})
}

// BeginTask records a running task unless a running task's scope overlaps.
// The check and the insert share one transaction under the write lock, so
// two daemons on the same database cannot both start the same scope.
func (s *DB) BeginTask(ctx context.Context, trigger store.Trigger, scope store.Scope) (store.Task, error) {
	if !trigger.Valid() {
		return store.Task{}, fmt.Errorf("%w: trigger %q is not one of %v", store.ErrInvalidParameter, trigger, store.Triggers)
	}
	owner, err := s.currentOwner(ctx)
	if err != nil {
		return store.Task{}, err
	}
	if _, err := s.RecoverInterrupted(ctx); err != nil {
		return store.Task{}, err
	}
	var t store.Task
	err = s.tx(ctx, func(c conn) error {
		if err := sqlstore.RunningOverlap(ctx, c, scope); err != nil {
			return err
		}
		sc, _ := json.Marshal(scope)
		now := s.now()
		var id int64
		if err := c.queryRow(ctx, "INSERT INTO tasks(trigger, scope, status, started_at, pid, host, owner) VALUES (?,?,?,?,?,?,?) RETURNING id",
			string(trigger), string(sc), sqlstore.StRunning, unix(now), s.pid, s.host, owner).Scan(&id); err != nil {
			return err
		}
		t = store.Task{ID: id, Trigger: trigger, Scope: scope, Status: checks.CheckRunning, StartedAt: now.UTC()}
		return nil
	})
	return t, err
}

// RecoverInterrupted marks as failed the running tasks whose owner (the
// store handle of the daemon that began them) is gone: its connection
// ended, so its owner lock was released. The results written for them
// are deleted: none ever became the latest, the previous ones stand.
func (s *DB) RecoverInterrupted(ctx context.Context) (int, error) {
	type owned struct {
		id    int64
		owner int32
		pid   int
		host  string
	}
	rows, err := s.db().query(ctx, "SELECT id, owner, pid, host FROM tasks WHERE status = ?", sqlstore.StRunning)
	if err != nil {
		return 0, err
	}
	running, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (owned, error) {
		var o owned
		var key int64
		err := r.Scan(&o.id, &key, &o.pid, &o.host)
		o.owner = int32(key)
		return o, err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range running {
		alive, err := s.ownerAlive(ctx, t.owner)
		if err != nil {
			return n, err
		}
		if alive {
			continue
		}
		reason := fmt.Sprintf("interrupted: process %d on %s ended before the task finished", t.pid, t.host)
		if err := s.tx(ctx, func(c conn) error { return sqlstore.EndRunning(ctx, c, t.id, s.now(), reason) }); err != nil {
			return n, err
		}
		s.log.Warn("marked interrupted task failed", "task", t.id, "pid", t.pid, "host", t.host)
		n++
	}
	return n, nil
}
