package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/internal/sqlstore"
)

// SyncCatalog records the standards and items; items no longer defined
// are kept (their results are history) but marked inactive. A standard's
// enabled switch, once set in the store, is kept. Rows that already say
// what the catalog says are left as they are, so that a command that
// syncs an unchanged catalog writes nothing.
func (s *DB) SyncCatalog(ctx context.Context, cat *checks.Catalog) error {
	digest := catalogDigest(cat)
	var synced string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = 'catalog_digest'").Scan(&synced)
	if err == nil && synced == digest {
		return nil // the last sync recorded this very catalog
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(name, value) VALUES ('catalog_digest', ?)
			ON CONFLICT(name) DO UPDATE SET value = excluded.value`, digest); err != nil {
			return err
		}
		q, args := sqlstore.Deactivation(cat)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		stdStmt, err := tx.PrepareContext(ctx, sqlstore.StandardUpsert)
		if err != nil {
			return err
		}
		defer stdStmt.Close()
		itemStmt, err := tx.PrepareContext(ctx, sqlstore.ItemUpsert)
		if err != nil {
			return err
		}
		defer itemStmt.Close()
		for _, st := range cat.Standards {
			if _, err := stdStmt.ExecContext(ctx, sqlstore.StandardArgs(st)...); err != nil {
				return err
			}
			for _, it := range st.Items {
				if _, err := itemStmt.ExecContext(ctx, sqlstore.ItemArgs(st, it)...); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// catalogDigest is a digest of what SyncCatalog records of a catalog: a
// store whose last sync recorded the same digest holds the catalog as it
// is, and syncing it again reads one row instead of writing hundreds.
func catalogDigest(cat *checks.Catalog) string {
	h := sha256.New()
	var n [8]byte
	field := func(v string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	for _, st := range cat.Standards {
		field("standard")
		field(st.ID)
		field(st.Name)
		field(st.Version)
		field(st.Description)
		field(st.Origin)
		field(strconv.FormatBool(st.Enabled))
		for _, it := range st.Items {
			field(strconv.FormatUint(it.ID, 10))
			field(it.Number)
			field(it.Title)
			field(it.Category)
			field(string(it.AssetType))
			field(string(it.Risk))
			field(strconv.FormatBool(it.Automated))
			field(strconv.FormatBool(it.Scored))
			field(it.Description)
			field(it.Procedure)
			field(it.Remediation)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BeginTask records a running task unless a running task's scope overlaps.
// The check and the insert share one write transaction, so two processes
// on the same store cannot both start the same scope.
func (s *DB) BeginTask(ctx context.Context, trigger store.Trigger, scope store.Scope) (store.Task, error) {
	if !trigger.Valid() {
		return store.Task{}, fmt.Errorf("%w: trigger %q is not one of %v", store.ErrInvalidParameter, trigger, store.Triggers)
	}
	if _, err := s.RecoverInterrupted(ctx); err != nil {
		return store.Task{}, err
	}
	var t store.Task
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := sqlstore.RunningOverlap(ctx, sqlConn{q: tx}, scope); err != nil {
			return err
		}
		sc, _ := json.Marshal(scope)
		now := s.now()
		res, err := tx.ExecContext(ctx, "INSERT INTO tasks(trigger, scope, status, started_at, pid, host) VALUES (?,?,?,?,?,?)",
			string(trigger), string(sc), sqlstore.StRunning, unix(now), s.pid, s.host)
		if err != nil {
			return err
		}
		id, _ := res.LastInsertId()
		t = store.Task{ID: id, Trigger: trigger, Scope: scope, Status: checks.CheckRunning, StartedAt: now.UTC()}
		return nil
	})
	return t, err
}

// RecoverInterrupted marks as failed the running tasks whose owner process
// is gone (killed mid-scan), and deletes the results written for them:
// none ever became the latest, the previous ones stand.
func (s *DB) RecoverInterrupted(ctx context.Context) (int, error) {
	running, err := sqlstore.List(ctx, s.DB, sqlstore.ScanTask, sqlstore.TaskSelect+" WHERE status = ?", sqlstore.StRunning)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range running {
		var host string
		var pid int
		if err := s.db.QueryRowContext(ctx, "SELECT host, pid FROM tasks WHERE id = ?", t.ID).Scan(&host, &pid); err != nil {
			return n, err
		}
		if s.alive(host, pid) {
			continue
		}
		reason := fmt.Sprintf("interrupted: process %d on %s ended before the task finished", pid, host)
		if err := s.tx(ctx, func(tx *sql.Tx) error { return sqlstore.EndRunning(ctx, sqlConn{q: tx}, t.ID, s.now(), reason) }); err != nil {
			return n, err
		}
		s.log.Warn("marked interrupted task failed", "task", t.ID, "pid", pid)
		n++
	}
	return n, nil
}
