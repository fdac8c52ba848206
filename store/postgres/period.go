package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/store"
)

// EnsurePeriodTasks creates the missing period tasks (one per asset type,
// the default rule, switched off); it is idempotent.
func (s *DB) EnsurePeriodTasks(ctx context.Context) error {
	r := store.DefaultPeriodRule
	return s.tx(ctx, func(c conn) error {
		for _, t := range assets.Types {
			if _, err := c.exec(ctx, `INSERT INTO period_tasks(asset_type, frequency, execution_time, enabled, updated_at)
				VALUES (?,?,?,?,?) ON CONFLICT (asset_type) DO NOTHING`, string(t), r.Frequency, r.ExecutionTime, r.Enable, unix(s.now())); err != nil {
				return err
			}
		}
		return nil
	})
}

// PeriodTasks lists the period tasks with their standards: every enabled
// standard covering the task's asset type, switched on unless the task
// switched it off.
func (s *DB) PeriodTasks(ctx context.Context) ([]store.PeriodTask, error) {
	rows, err := s.db().query(ctx, `SELECT id, asset_type, frequency, execution_time, enabled = 1, last_trigger, updated_at FROM period_tasks ORDER BY id`)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.PeriodTask, error) {
		var p store.PeriodTask
		var at string
		var last, updated int64
		err := r.Scan(&p.ID, &at, &p.Rule.Frequency, &p.Rule.ExecutionTime, &p.Rule.Enable, &last, &updated)
		p.AssetType, p.LastTriggerTime, p.UpdatedAt = assets.Type(at), fromUnix(last), fromUnix(updated)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.periodStandards(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *DB) periodStandards(ctx context.Context, p *store.PeriodTask) error {
	rows, err := s.db().query(ctx, `SELECT st.id, st.name, st.description, COUNT(i.id), COALESCE(ps.enabled, 1) = 1
		FROM standards st JOIN items i ON i.standard_id = st.id AND i.asset_type = ? AND i.active = 1
		LEFT JOIN period_standards ps ON ps.period_id = ? AND ps.standard_id = st.id
		WHERE st.enabled = 1 GROUP BY st.id, ps.enabled ORDER BY st.id`, string(p.AssetType), p.ID)
	if err != nil {
		return err
	}
	p.Standards, p.TotalPolicyItemCount = nil, 0
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.StandardSetting, error) {
		var st store.StandardSetting
		err := r.Scan(&st.StandardID, &st.Name, &st.Description, &st.PolicyItemCount, &st.Enabled)
		return st, err
	})
	for _, st := range list {
		if st.Enabled {
			p.TotalPolicyItemCount += st.PolicyItemCount
		}
		p.Standards = append(p.Standards, st)
	}
	return err
}

// SetPeriodTask changes a period task's rule and standard switches.
func (s *DB) SetPeriodTask(ctx context.Context, id int64, rule *store.PeriodRule, standards map[string]bool) (store.PeriodTask, error) {
	if rule != nil {
		if err := rule.Validate(); err != nil {
			return store.PeriodTask{}, err
		}
	}
	err := s.tx(ctx, func(c conn) error {
		if err := exists(ctx, c, "SELECT 1 FROM period_tasks WHERE id = ?", id); err != nil {
			return fmt.Errorf("%w: PeriodTaskId %d", err, id)
		}
		if rule != nil {
			if _, err := c.exec(ctx, "UPDATE period_tasks SET frequency = ?, execution_time = ?, enabled = ?, updated_at = ? WHERE id = ?",
				rule.Frequency, rule.ExecutionTime, rule.Enable, unix(s.now()), id); err != nil {
				return err
			}
		}
		for std, on := range standards {
			if err := exists(ctx, c, "SELECT 1 FROM standards WHERE id = ?", std); err != nil {
				return fmt.Errorf("%w: StandardId %q", err, std)
			}
			if _, err := c.exec(ctx, `INSERT INTO period_standards(period_id, standard_id, enabled) VALUES (?,?,?)
				ON CONFLICT(period_id, standard_id) DO UPDATE SET enabled = excluded.enabled`, id, std, on); err != nil {
				return err
			}
		}
		if len(standards) > 0 {
			_, err := c.exec(ctx, "UPDATE period_tasks SET updated_at = ? WHERE id = ?", unix(s.now()), id)
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
func (s *DB) MarkPeriodTriggered(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db().exec(ctx, "UPDATE period_tasks SET last_trigger = ? WHERE id = ?", unix(at), id)
	return err
}
