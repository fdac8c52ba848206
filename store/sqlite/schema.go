package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// Result and status codes as stored (small integers keep 1.5 million rows
// small and fast).
const (
	stInit     = 0
	stRunning  = 1
	stFinished = 2
	stFailed   = 3

	resNone          = 0
	resPassed        = 1
	resFailed        = 2
	resManual        = 3
	resNotApplicable = 4
)

// migrations are applied in order; PRAGMA user_version records how many
// ran. Never edit a released migration: add a new one.
var migrations = []string{
	// 1: the compliance model.
	`
CREATE TABLE standards (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	version     TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	origin      TEXT NOT NULL DEFAULT '',
	enabled     INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE items (
	id          INTEGER PRIMARY KEY,
	base_id     TEXT NOT NULL,
	standard_id TEXT NOT NULL,
	name        TEXT NOT NULL,
	category    TEXT NOT NULL,
	asset_type  TEXT NOT NULL,
	risk        TEXT NOT NULL,
	automated   INTEGER NOT NULL,
	scored      INTEGER NOT NULL,
	description TEXT NOT NULL,
	procedure   TEXT NOT NULL,
	remediation TEXT NOT NULL,
	active      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX items_type ON items(asset_type, standard_id);
CREATE TABLE assets (
	id         INTEGER PRIMARY KEY,
	type       TEXT NOT NULL,
	name       TEXT NOT NULL,
	ref        TEXT NOT NULL,
	node_name  TEXT NOT NULL,
	host_ip    TEXT NOT NULL DEFAULT '',
	details    TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	removed_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX assets_type ON assets(type, removed_at, name);
CREATE TABLE tasks (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	trigger      TEXT NOT NULL,
	scope        TEXT NOT NULL,
	status       INTEGER NOT NULL,
	progress     INTEGER NOT NULL DEFAULT 0,
	started_at   INTEGER NOT NULL,
	finished_at  INTEGER NOT NULL DEFAULT 0,
	error        TEXT NOT NULL DEFAULT '',
	pid          INTEGER NOT NULL,
	host         TEXT NOT NULL,
	result_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tasks_status ON tasks(status);
CREATE TABLE results (
	task_id    INTEGER NOT NULL,
	asset_id   INTEGER NOT NULL,
	item_id    INTEGER NOT NULL,
	status     INTEGER NOT NULL,
	result     INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	evidence   TEXT NOT NULL,
	checked_at INTEGER NOT NULL,
	PRIMARY KEY (task_id, asset_id, item_id)
) WITHOUT ROWID;
CREATE TABLE latest (
	asset_id   INTEGER NOT NULL,
	item_id    INTEGER NOT NULL,
	task_id    INTEGER NOT NULL,
	status     INTEGER NOT NULL,
	result     INTEGER NOT NULL,
	ignored    INTEGER NOT NULL DEFAULT 0,
	checked_at INTEGER NOT NULL,
	PRIMARY KEY (asset_id, item_id)
) WITHOUT ROWID;
CREATE INDEX latest_item ON latest(item_id, result);
CREATE TABLE asset_failures (
	asset_id   INTEGER PRIMARY KEY,
	task_id    INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	suggestion TEXT NOT NULL,
	check_time INTEGER NOT NULL
);
CREATE TABLE task_failures (
	task_id    INTEGER NOT NULL,
	asset_id   INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	suggestion TEXT NOT NULL,
	check_time INTEGER NOT NULL,
	PRIMARY KEY (task_id, asset_id)
);
CREATE TABLE whitelist (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	item_id    INTEGER NOT NULL,
	all_assets INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0,
	lapsed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX whitelist_item ON whitelist(item_id, lapsed);
CREATE TABLE whitelist_assets (
	whitelist_id INTEGER NOT NULL REFERENCES whitelist(id) ON DELETE CASCADE,
	asset_id     INTEGER NOT NULL,
	PRIMARY KEY (whitelist_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX whitelist_assets_asset ON whitelist_assets(asset_id);
`,
	// 2: roll-ups kept per asset and per item, so that summaries and paged
	// lists stay fast at fleet size; rebuilt from the latest results.
	`
CREATE TABLE asset_rollup (
	asset_id     INTEGER PRIMARY KEY,
	passed       INTEGER NOT NULL,
	failed       INTEGER NOT NULL,
	ignored      INTEGER NOT NULL,
	manual       INTEGER NOT NULL,
	na           INTEGER NOT NULL,
	check_failed INTEGER NOT NULL,
	last_check   INTEGER NOT NULL
);
CREATE TABLE item_rollup (
	item_id      INTEGER PRIMARY KEY,
	passed       INTEGER NOT NULL,
	failed       INTEGER NOT NULL,
	ignored      INTEGER NOT NULL,
	manual       INTEGER NOT NULL,
	na           INTEGER NOT NULL,
	check_failed INTEGER NOT NULL,
	last_check   INTEGER NOT NULL
);
INSERT INTO asset_rollup SELECT asset_id,` + rollupColumns + ` FROM latest GROUP BY asset_id;
INSERT INTO item_rollup SELECT item_id,` + rollupColumns + ` FROM latest GROUP BY item_id;
`,
	// 3: period tasks, one per asset type, with their standards switched
	// on or off one by one.
	`
CREATE TABLE period_tasks (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	asset_type     TEXT NOT NULL UNIQUE,
	frequency      INTEGER NOT NULL,
	execution_time TEXT NOT NULL,
	enabled        INTEGER NOT NULL,
	last_trigger   INTEGER NOT NULL DEFAULT 0,
	updated_at     INTEGER NOT NULL
);
CREATE TABLE period_standards (
	period_id   INTEGER NOT NULL REFERENCES period_tasks(id) ON DELETE CASCADE,
	standard_id TEXT NOT NULL,
	enabled     INTEGER NOT NULL,
	PRIMARY KEY (period_id, standard_id)
) WITHOUT ROWID;
`,
	// 4: indexes measured at fleet size (10,000 assets x 150 items): a
	// covering index for per-item roll-ups and affected-asset pages, and
	// asset indexes that page without sorting and count nodes.
	`
DROP INDEX latest_item;
CREATE INDEX latest_item ON latest(item_id, result, status, ignored, checked_at);
CREATE INDEX assets_current ON assets(removed_at, type, name);
CREATE INDEX assets_nodes ON assets(type, removed_at, node_name);
`,
	// 5: uploads are held to their node. scope_node is the node each asset
	// was last recorded for (the NodeName of its task's scope; empty for
	// assets recorded before); upload_keys binds an upload key that the
	// configuration does not bind to the node of its first upload.
	`
ALTER TABLE assets ADD COLUMN scope_node TEXT NOT NULL DEFAULT '';
CREATE TABLE upload_keys (
	secret_id TEXT PRIMARY KEY,
	node_name TEXT NOT NULL,
	bound_at  INTEGER NOT NULL
);
`,
	// 6: the first use of each accepted API request's signature, while it
	// could be replayed (store.ReplayGuard), pruned by its expiry.
	`
CREATE TABLE signatures (
	signature  TEXT PRIMARY KEY,
	action     TEXT NOT NULL,
	used_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX signatures_expiry ON signatures(expires_at);
`,
	// 7: the setuid and setgid files of each image by its full id
	// (store.ImageFilesCache): files is their JSON, read_at when the image
	// was exported, used_at when the entry was last read or written (the
	// least recently used are pruned).
	`
CREATE TABLE image_files (
	image_id TEXT PRIMARY KEY,
	files    TEXT NOT NULL,
	read_at  INTEGER NOT NULL,
	used_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX image_files_used ON image_files(used_at);
`,
	// 8: exactly-once delivery to an upstream daemon (store.OutboxStore).
	// meta holds the store's random id (part of idempotency keys) and the
	// count of outbox entries dropped unsent; outbox the completed tasks
	// waiting for upload, oldest first; applied_uploads the idempotency
	// keys of the uploads recorded, with what they were recorded as.
	`
CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO meta(name, value) VALUES ('store_id', lower(hex(randomblob(16)))), ('outbox_dropped', '0');
CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	task_id      INTEGER NOT NULL,
	upload_key   TEXT NOT NULL UNIQUE,
	payload      BLOB NOT NULL,
	enqueued_at  INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	next_attempt INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE applied_uploads (
	node_name    TEXT NOT NULL,
	upload_key   TEXT NOT NULL,
	task_id      INTEGER NOT NULL,
	result_count INTEGER NOT NULL,
	applied_at   INTEGER NOT NULL,
	PRIMARY KEY (node_name, upload_key)
) WITHOUT ROWID;
CREATE INDEX applied_uploads_age ON applied_uploads(applied_at);
`,
}

// rollupColumns aggregates latest rows; the current-asset condition is
// applied when reading, so removed assets keep their history.
const rollupColumns = `
	SUM(status = 2 AND result = 1),
	SUM(status = 2 AND result = 2 AND ignored = 0),
	SUM(status = 2 AND result = 2 AND ignored = 1),
	SUM(status = 2 AND result = 3),
	SUM(status = 2 AND result = 4),
	SUM(status = 3),
	MAX(checked_at)`

// SchemaVersion is the number of migrations this build knows.
var SchemaVersion = len(migrations)

func (s *DB) migrate(ctx context.Context) error {
	return migrateTo(ctx, s.db, len(migrations))
}

// migrateTo applies migrations up to version n, each in its own
// transaction with the version bump.
func migrateTo(ctx context.Context, db *sql.DB, n int) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d): upgrade baseline", v, len(migrations))
	}
	for ; v < n; v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return nil
}
