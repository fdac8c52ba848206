package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/store"
)

// Exists returns store.ErrNotFound unless the query, inside c, finds a row
// (its single integer column).
func Exists(ctx context.Context, c Conn, q string, args ...any) error {
	var one int
	if err := c.QueryRow(ctx, q, args...).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	}
	return nil
}

// EnsurePeriodTasks creates the missing period tasks (one per asset type,
// the default rule, switched off); it is idempotent.
func (s *Store) EnsurePeriodTasks(ctx context.Context) error {
	r := store.DefaultPeriodRule
	return s.Tx(ctx, func(c Conn) error {
		for _, t := range assets.Types {
			if _, err := c.Exec(ctx, `INSERT INTO period_tasks(asset_type, frequency, execution_time, enabled, updated_at)
				VALUES (?,?,?,?,?) ON CONFLICT (asset_type) DO NOTHING`, string(t), r.Frequency, r.ExecutionTime, r.Enable, Unix(s.Now())); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanPeriodTask(sc Scanner) (store.PeriodTask, error) {
	var p store.PeriodTask
	var at string
	var last, updated int64
	err := sc.Scan(&p.ID, &at, &p.Rule.Frequency, &p.Rule.ExecutionTime, &p.Rule.Enable, &last, &updated)
	p.AssetType, p.LastTriggerTime, p.UpdatedAt = assets.Type(at), FromUnix(last), FromUnix(updated)
	return p, err
}

// PeriodTasks lists the period tasks with their standards: every enabled
// standard covering the task's asset type, switched on unless the task
// switched it off. The standards of every task are read in one query.
func (s *Store) PeriodTasks(ctx context.Context) ([]store.PeriodTask, error) {
	out, err := List(ctx, s.DB, scanPeriodTask,
		`SELECT id, asset_type, frequency, execution_time, enabled = 1, last_trigger, updated_at FROM period_tasks ORDER BY id`)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*store.PeriodTask, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	settings, err := List(ctx, s.DB, scanPeriodStandard, periodStandards)
	if err != nil {
		return nil, err
	}
	for _, ps := range settings {
		if p := byID[ps.periodID]; p != nil {
			addStandard(p, ps.StandardSetting)
		}
	}
	return out, nil
}

// periodStandards reads each period task's standards with their counts of
// active items. The cross joins keep SQLite's join order (which it keeps
// for CROSS JOIN; PostgreSQL plans them as inner joins): each task, each
// enabled standard, then that standard's items of the task's asset type
// from their index, rather than every item of every standard.
const periodStandards = `SELECT p.id, st.id, st.name, st.description, COUNT(i.id), COALESCE(ps.enabled, 1) = 1
	FROM period_tasks p CROSS JOIN standards st CROSS JOIN items i
	LEFT JOIN period_standards ps ON ps.period_id = p.id AND ps.standard_id = st.id
	WHERE st.enabled = 1 AND i.asset_type = p.asset_type AND i.standard_id = st.id AND i.active = 1
	GROUP BY p.id, st.id, ps.enabled ORDER BY p.id, st.id`

// periodStandard is a standard's setting in one period task.
type periodStandard struct {
	periodID int64
	store.StandardSetting
}

func scanPeriodStandard(sc Scanner) (periodStandard, error) {
	var ps periodStandard
	err := sc.Scan(&ps.periodID, &ps.StandardID, &ps.Name, &ps.Description, &ps.PolicyItemCount, &ps.Enabled)
	return ps, err
}

// addStandard adds a standard's setting to p, and its items to p's total
// when it is switched on.
func addStandard(p *store.PeriodTask, st store.StandardSetting) {
	if st.Enabled {
		p.TotalPolicyItemCount += st.PolicyItemCount
	}
	p.Standards = append(p.Standards, st)
}

// SetPeriodTask changes a period task's rule and standard switches.
func (s *Store) SetPeriodTask(ctx context.Context, id int64, rule *store.PeriodRule, standards map[string]bool) (store.PeriodTask, error) {
	if rule != nil {
		if err := rule.Validate(); err != nil {
			return store.PeriodTask{}, err
		}
	}
	err := s.Tx(ctx, func(c Conn) error {
		if err := Exists(ctx, c, "SELECT 1 FROM period_tasks WHERE id = ?", id); err != nil {
			return fmt.Errorf("%w: PeriodTaskId %d", err, id)
		}
		if rule != nil {
			if _, err := c.Exec(ctx, "UPDATE period_tasks SET frequency = ?, execution_time = ?, enabled = ?, updated_at = ? WHERE id = ?",
				rule.Frequency, rule.ExecutionTime, rule.Enable, Unix(s.Now()), id); err != nil {
				return err
			}
		}
		for std, on := range standards {
			if err := Exists(ctx, c, "SELECT 1 FROM standards WHERE id = ?", std); err != nil {
				return fmt.Errorf("%w: StandardId %q", err, std)
			}
			if _, err := c.Exec(ctx, `INSERT INTO period_standards(period_id, standard_id, enabled) VALUES (?,?,?)
				ON CONFLICT(period_id, standard_id) DO UPDATE SET enabled = excluded.enabled`, id, std, on); err != nil {
				return err
			}
		}
		if len(standards) > 0 {
			_, err := c.Exec(ctx, "UPDATE period_tasks SET updated_at = ? WHERE id = ?", Unix(s.Now()), id)
			return err
		}
		return nil
	})
	if err != nil {
		return store.PeriodTask{}, err
	}
	all, err := s.PeriodTasks(ctx)
	if err != nil {
		return store.PeriodTask{}, err
	}
	for _, p := range all {
		if p.ID == id {
			return p, nil
		}
	}
	return store.PeriodTask{}, fmt.Errorf("%w: PeriodTaskId %d", store.ErrNotFound, id)
}

// MarkPeriodTriggered records when a period task last fired.
func (s *Store) MarkPeriodTriggered(ctx context.Context, id int64, at time.Time) error {
	_, err := s.DB.Exec(ctx, "UPDATE period_tasks SET last_trigger = ? WHERE id = ?", Unix(at), id)
	return err
}
