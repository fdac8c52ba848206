package store

// Migration is one versioned change of the store's schema, written for
// each backend: the same tables, columns and indexes in each dialect.
// PostgreSQL's text columns that lists are ordered by compare bytes
// (COLLATE "C"), as SQLite's do, whatever the database's locale; its
// indexes include the columns that SQLite's carry implicitly (a table's
// key), so that counts and pages read the index alone.
// Version n of a store is the first n migrations of Migrations applied.
type Migration struct {
	// SQLite is the change for the embedded SQLite file.
	SQLite string
	// Postgres is the change for a PostgreSQL database.
	Postgres string
}

// Migrations is the one list of schema changes that every backend walks,
// in order. Never edit a released migration: add a new one.
var Migrations = []Migration{
	// 1: the compliance model.
	{
		SQLite: `
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
		Postgres: `
CREATE TABLE standards (
	id          TEXT COLLATE "C" PRIMARY KEY,
	name        TEXT NOT NULL,
	version     TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	origin      TEXT NOT NULL DEFAULT '',
	enabled     SMALLINT NOT NULL DEFAULT 1
);
CREATE TABLE items (
	id          BIGINT PRIMARY KEY,
	base_id     TEXT NOT NULL,
	standard_id TEXT COLLATE "C" NOT NULL,
	name        TEXT NOT NULL,
	category    TEXT NOT NULL,
	asset_type  TEXT NOT NULL,
	risk        TEXT NOT NULL,
	automated   SMALLINT NOT NULL,
	scored      SMALLINT NOT NULL,
	description TEXT NOT NULL,
	procedure   TEXT NOT NULL,
	remediation TEXT NOT NULL,
	active      SMALLINT NOT NULL DEFAULT 1
);
CREATE INDEX items_type ON items(asset_type, standard_id);
CREATE TABLE assets (
	id         BIGINT PRIMARY KEY,
	type       TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	ref        TEXT NOT NULL,
	node_name  TEXT COLLATE "C" NOT NULL,
	host_ip    TEXT NOT NULL DEFAULT '',
	details    JSONB NOT NULL,
	first_seen BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	removed_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX assets_type ON assets(type, removed_at, name);
CREATE TABLE tasks (
	id           BIGSERIAL PRIMARY KEY,
	trigger      TEXT NOT NULL,
	scope        TEXT NOT NULL,
	status       SMALLINT NOT NULL,
	progress     INTEGER NOT NULL DEFAULT 0,
	started_at   BIGINT NOT NULL,
	finished_at  BIGINT NOT NULL DEFAULT 0,
	error        TEXT NOT NULL DEFAULT '',
	pid          INTEGER NOT NULL,
	host         TEXT NOT NULL,
	result_count INTEGER NOT NULL DEFAULT 0,
	owner        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tasks_status ON tasks(status);
CREATE TABLE results (
	task_id    BIGINT NOT NULL,
	asset_id   BIGINT NOT NULL,
	item_id    BIGINT NOT NULL,
	status     SMALLINT NOT NULL,
	result     SMALLINT NOT NULL,
	reason     TEXT NOT NULL,
	evidence   JSONB,
	checked_at BIGINT NOT NULL,
	PRIMARY KEY (task_id, asset_id, item_id)
);
CREATE TABLE latest (
	asset_id   BIGINT NOT NULL,
	item_id    BIGINT NOT NULL,
	task_id    BIGINT NOT NULL,
	status     SMALLINT NOT NULL,
	result     SMALLINT NOT NULL,
	ignored    SMALLINT NOT NULL DEFAULT 0,
	checked_at BIGINT NOT NULL,
	PRIMARY KEY (asset_id, item_id)
);
CREATE INDEX latest_item ON latest(item_id, result);
CREATE INDEX latest_task ON latest(task_id);
CREATE TABLE asset_failures (
	asset_id   BIGINT PRIMARY KEY,
	task_id    BIGINT NOT NULL,
	reason     TEXT NOT NULL,
	suggestion TEXT NOT NULL,
	check_time BIGINT NOT NULL
);
CREATE TABLE task_failures (
	task_id    BIGINT NOT NULL,
	asset_id   BIGINT NOT NULL,
	reason     TEXT NOT NULL,
	suggestion TEXT NOT NULL,
	check_time BIGINT NOT NULL,
	PRIMARY KEY (task_id, asset_id)
);
CREATE TABLE whitelist (
	id         BIGSERIAL PRIMARY KEY,
	item_id    BIGINT NOT NULL,
	all_assets SMALLINT NOT NULL,
	reason     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL DEFAULT 0,
	lapsed     SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX whitelist_item ON whitelist(item_id, lapsed);
CREATE TABLE whitelist_assets (
	whitelist_id BIGINT NOT NULL REFERENCES whitelist(id) ON DELETE CASCADE,
	asset_id     BIGINT NOT NULL,
	PRIMARY KEY (whitelist_id, asset_id)
);
CREATE INDEX whitelist_assets_asset ON whitelist_assets(asset_id);
`,
	},
	// 2: roll-ups kept per asset and per item, so that summaries and paged
	// lists stay fast at fleet size; rebuilt from the latest results.
	{
		SQLite: `
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
INSERT INTO asset_rollup SELECT asset_id,
	SUM(status = 2 AND result = 1),
	SUM(status = 2 AND result = 2 AND ignored = 0),
	SUM(status = 2 AND result = 2 AND ignored = 1),
	SUM(status = 2 AND result = 3),
	SUM(status = 2 AND result = 4),
	SUM(status = 3),
	MAX(checked_at) FROM latest GROUP BY asset_id;
INSERT INTO item_rollup SELECT item_id,
	SUM(status = 2 AND result = 1),
	SUM(status = 2 AND result = 2 AND ignored = 0),
	SUM(status = 2 AND result = 2 AND ignored = 1),
	SUM(status = 2 AND result = 3),
	SUM(status = 2 AND result = 4),
	SUM(status = 3),
	MAX(checked_at) FROM latest GROUP BY item_id;
`,
		Postgres: `
CREATE TABLE asset_rollup (
	asset_id     BIGINT PRIMARY KEY,
	passed       INTEGER NOT NULL,
	failed       INTEGER NOT NULL,
	ignored      INTEGER NOT NULL,
	manual       INTEGER NOT NULL,
	na           INTEGER NOT NULL,
	check_failed INTEGER NOT NULL,
	last_check   BIGINT NOT NULL
);
CREATE TABLE item_rollup (
	item_id      BIGINT PRIMARY KEY,
	passed       INTEGER NOT NULL,
	failed       INTEGER NOT NULL,
	ignored      INTEGER NOT NULL,
	manual       INTEGER NOT NULL,
	na           INTEGER NOT NULL,
	check_failed INTEGER NOT NULL,
	last_check   BIGINT NOT NULL
);
INSERT INTO asset_rollup SELECT asset_id,
	COUNT(*) FILTER (WHERE status = 2 AND result = 1),
	COUNT(*) FILTER (WHERE status = 2 AND result = 2 AND ignored = 0),
	COUNT(*) FILTER (WHERE status = 2 AND result = 2 AND ignored = 1),
	COUNT(*) FILTER (WHERE status = 2 AND result = 3),
	COUNT(*) FILTER (WHERE status = 2 AND result = 4),
	COUNT(*) FILTER (WHERE status = 3),
	MAX(checked_at) FROM latest GROUP BY asset_id;
INSERT INTO item_rollup SELECT item_id,
	COUNT(*) FILTER (WHERE status = 2 AND result = 1),
	COUNT(*) FILTER (WHERE status = 2 AND result = 2 AND ignored = 0),
	COUNT(*) FILTER (WHERE status = 2 AND result = 2 AND ignored = 1),
	COUNT(*) FILTER (WHERE status = 2 AND result = 3),
	COUNT(*) FILTER (WHERE status = 2 AND result = 4),
	COUNT(*) FILTER (WHERE status = 3),
	MAX(checked_at) FROM latest GROUP BY item_id;
`,
	},
	// 3: period tasks, one per asset type, with their standards switched
	// on or off one by one.
	{
		SQLite: `
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
		Postgres: `
CREATE TABLE period_tasks (
	id             BIGSERIAL PRIMARY KEY,
	asset_type     TEXT NOT NULL UNIQUE,
	frequency      INTEGER NOT NULL,
	execution_time TEXT NOT NULL,
	enabled        SMALLINT NOT NULL,
	last_trigger   BIGINT NOT NULL DEFAULT 0,
	updated_at     BIGINT NOT NULL
);
CREATE TABLE period_standards (
	period_id   BIGINT NOT NULL REFERENCES period_tasks(id) ON DELETE CASCADE,
	standard_id TEXT NOT NULL,
	enabled     SMALLINT NOT NULL,
	PRIMARY KEY (period_id, standard_id)
);
`,
	},
	// 4: indexes measured at fleet size (10,000 assets x 150 items): a
	// covering index for per-item roll-ups and affected-asset pages, and
	// asset indexes that page without sorting and count nodes.
	{
		SQLite: `
DROP INDEX latest_item;
CREATE INDEX latest_item ON latest(item_id, result, status, ignored, checked_at);
CREATE INDEX assets_current ON assets(removed_at, type, name);
CREATE INDEX assets_nodes ON assets(type, removed_at, node_name);
`,
		Postgres: `
DROP INDEX latest_item;
CREATE INDEX latest_item ON latest(item_id, result, status, ignored, checked_at) INCLUDE (asset_id, task_id);
CREATE INDEX assets_current ON assets(removed_at, type, name);
CREATE INDEX assets_nodes ON assets(type, removed_at, node_name) INCLUDE (id);
`,
	},
	// 5: uploads are held to their node. scope_node is the node each asset
	// was last recorded for (the NodeName of its task's scope; empty for
	// assets recorded before); upload_keys binds an upload key that the
	// configuration does not bind to the node of its first upload.
	{
		SQLite: `
ALTER TABLE assets ADD COLUMN scope_node TEXT NOT NULL DEFAULT '';
CREATE TABLE upload_keys (
	secret_id TEXT PRIMARY KEY,
	node_name TEXT NOT NULL,
	bound_at  INTEGER NOT NULL
);
`,
		Postgres: `
ALTER TABLE assets ADD COLUMN scope_node TEXT NOT NULL DEFAULT '';
CREATE TABLE upload_keys (
	secret_id TEXT PRIMARY KEY,
	node_name TEXT NOT NULL,
	bound_at  BIGINT NOT NULL
);
`,
	},
	// 6: the first use of each accepted API request's signature, while it
	// could be replayed (store.ReplayGuard), pruned by its expiry.
	{
		SQLite: `
CREATE TABLE signatures (
	signature  TEXT PRIMARY KEY,
	action     TEXT NOT NULL,
	used_at    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX signatures_expiry ON signatures(expires_at);
`,
		Postgres: `
CREATE TABLE signatures (
	signature  TEXT PRIMARY KEY,
	action     TEXT NOT NULL,
	used_at    BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX signatures_expiry ON signatures(expires_at);
`,
	},
	// 7: the setuid and setgid files of each image by its full id
	// (store.ImageFilesCache): files is their JSON, read_at when the image
	// was exported, used_at when the entry was last read or written (the
	// least recently used are pruned).
	{
		SQLite: `
CREATE TABLE image_files (
	image_id TEXT PRIMARY KEY,
	files    TEXT NOT NULL,
	read_at  INTEGER NOT NULL,
	used_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX image_files_used ON image_files(used_at);
`,
		Postgres: `
CREATE TABLE image_files (
	image_id TEXT PRIMARY KEY,
	files    TEXT NOT NULL,
	read_at  BIGINT NOT NULL,
	used_at  BIGINT NOT NULL
);
CREATE INDEX image_files_used ON image_files(used_at);
`,
	},
	// 8: exactly-once delivery to an upstream daemon (store.OutboxStore).
	// meta holds the store's random id (part of idempotency keys) and the
	// count of outbox entries dropped unsent; outbox the completed tasks
	// waiting for upload, oldest first; applied_uploads the idempotency
	// keys of the uploads recorded, with what they were recorded as.
	{
		SQLite: `
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
		// The store id: 32 lowercase hex digits, as SQLite's.
		Postgres: `
CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
INSERT INTO meta(name, value) VALUES ('store_id', replace(gen_random_uuid()::text, '-', '')), ('outbox_dropped', '0');
CREATE TABLE outbox (
	id           BIGSERIAL PRIMARY KEY,
	task_id      BIGINT NOT NULL,
	upload_key   TEXT NOT NULL UNIQUE,
	payload      BYTEA NOT NULL,
	enqueued_at  BIGINT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	next_attempt BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE applied_uploads (
	node_name    TEXT NOT NULL,
	upload_key   TEXT NOT NULL,
	task_id      BIGINT NOT NULL,
	result_count INTEGER NOT NULL,
	applied_at   BIGINT NOT NULL,
	PRIMARY KEY (node_name, upload_key)
);
CREATE INDEX applied_uploads_age ON applied_uploads(applied_at);
`,
	},
	// 9: the roll-up per asset type that the summary reads: its current
	// assets, those passed, failed and scan-failed (as the summary counts
	// them from asset_rollup and asset_failures) and its nodes. Writes keep
	// it in the transaction that changes what it counts; built here from
	// the roll-ups per asset. In SQLite, an index of the asset columns
	// that pages of latest results filter and order by, so that counting
	// an item's assets does not read each asset's row (its details).
	{
		SQLite: `
CREATE TABLE type_rollup (
	asset_type  TEXT PRIMARY KEY,
	assets      INTEGER NOT NULL,
	passed      INTEGER NOT NULL,
	failed      INTEGER NOT NULL,
	scan_failed INTEGER NOT NULL,
	nodes       INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO type_rollup SELECT a.type, COUNT(*),
	SUM(af.asset_id IS NULL AND COALESCE(r.check_failed, 0) = 0 AND COALESCE(r.failed, 0) = 0),
	SUM(af.asset_id IS NULL AND COALESCE(r.check_failed, 0) = 0 AND COALESCE(r.failed, 0) > 0),
	SUM(af.asset_id IS NOT NULL OR COALESCE(r.check_failed, 0) > 0),
	COUNT(DISTINCT a.node_name)
	FROM assets a LEFT JOIN asset_rollup r ON r.asset_id = a.id LEFT JOIN asset_failures af ON af.asset_id = a.id
	WHERE a.removed_at = 0 GROUP BY a.type;
CREATE INDEX assets_live ON assets(id, removed_at, type, name, node_name);
`,
		Postgres: `
CREATE TABLE type_rollup (
	asset_type  TEXT PRIMARY KEY,
	assets      INTEGER NOT NULL,
	passed      INTEGER NOT NULL,
	failed      INTEGER NOT NULL,
	scan_failed INTEGER NOT NULL,
	nodes       INTEGER NOT NULL
);
INSERT INTO type_rollup SELECT a.type, COUNT(*),
	COUNT(*) FILTER (WHERE af.asset_id IS NULL AND COALESCE(r.check_failed, 0) = 0 AND COALESCE(r.failed, 0) = 0),
	COUNT(*) FILTER (WHERE af.asset_id IS NULL AND COALESCE(r.check_failed, 0) = 0 AND COALESCE(r.failed, 0) > 0),
	COUNT(*) FILTER (WHERE af.asset_id IS NOT NULL OR COALESCE(r.check_failed, 0) > 0),
	COUNT(DISTINCT a.node_name)
	FROM assets a LEFT JOIN asset_rollup r ON r.asset_id = a.id LEFT JOIN asset_failures af ON af.asset_id = a.id
	WHERE a.removed_at = 0 GROUP BY a.type;
`,
	},
	// 10: SQLite keeps the request signatures in a database file of their
	// own (store/sqlite), so that recording one, at every API call, does
	// not make the store's readers drop their page caches; store/sqlite
	// copies the rows there before this drops the table. PostgreSQL keeps
	// its table.
	{
		SQLite:   `DROP TABLE IF EXISTS signatures;`,
		Postgres: `SELECT 1;`,
	},
	// 11: SQLite keeps results in a table with a row id, in the order
	// they are written, with their key (unique) in an index of its own:
	// a scan's batches append to the table instead of splitting pages
	// all over a task's key range, so that each page is written about
	// once. The per-item index of the latest results no longer holds
	// their check time: a rescan whose outcome did not change leaves its
	// entries as they are. PostgreSQL keeps its tables.
	// store/sqlite first creates results_appended and moves the rows into
	// it task by task (ResultsAppended), so that the file never holds two
	// copies of them.
	{
		SQLite: `
DROP TABLE results;
ALTER TABLE results_appended RENAME TO results;
CREATE UNIQUE INDEX results_key ON results(task_id, asset_id, item_id);
DROP INDEX latest_item;
CREATE INDEX latest_item ON latest(item_id, result, status, ignored);
`,
		Postgres: `SELECT 1;`,
	},
	// 12: the current assets in list order (type, name, id) with the
	// columns a list shows, in an index of their own (partial: removed
	// assets are not in it), so that a page deep in the asset list skips
	// index entries without testing each against the range's end, and reads
	// its rows from the index instead of each asset's row.
	{
		SQLite:   `CREATE INDEX assets_list ON assets(type, name, id, node_name, host_ip, ref) WHERE removed_at = 0;`,
		Postgres: `CREATE INDEX assets_list ON assets(type, name, id) INCLUDE (node_name, host_ip, ref) WHERE removed_at = 0;`,
	},
	// 13: the current assets in name order (name, id), the order of an
	// item's affected assets, in an index of their own (partial: removed
	// assets are not in it), so that a page near the list's start walks
	// the assets in that order, instead of sorting all the item's results
	// by their assets' names; and the active items in list order
	// (standard_id, id), so that the item list is counted and its page
	// chosen without reading the items' rows, with their texts.
	{
		SQLite: `CREATE INDEX assets_names ON assets(name, id) WHERE removed_at = 0;
CREATE INDEX items_list ON items(standard_id, id) WHERE active = 1;`,
		Postgres: `CREATE INDEX assets_names ON assets(name, id) WHERE removed_at = 0;
CREATE INDEX items_list ON items(standard_id, id) WHERE active = 1;`,
	},
	// 14: each latest row keeps its asset's name while the asset is
	// current (current_name, NULL once it is removed), and the per-item
	// index of the latest results holds it after the result, then the
	// asset's id: an item's results of one outcome on current assets are
	// a range of that index in the order of their affected-asset page
	// (name, id), which a page walks without reading any asset, and counts
	// without subtracting the removed assets' results. Ingest writes the
	// name with a new latest row, and rewrites it only for an asset
	// renamed, removed or found again.
	{
		SQLite: `
ALTER TABLE latest ADD COLUMN current_name TEXT;
DROP INDEX latest_item;
UPDATE latest SET current_name = (SELECT a.name FROM assets a WHERE a.id = latest.asset_id AND a.removed_at = 0);
CREATE INDEX latest_item ON latest(item_id, result, current_name, asset_id, status, ignored);
`,
		Postgres: `
ALTER TABLE latest ADD COLUMN current_name TEXT COLLATE "C";
DROP INDEX latest_item;
UPDATE latest l SET current_name = a.name FROM assets a WHERE a.id = l.asset_id AND a.removed_at = 0;
CREATE INDEX latest_item ON latest(item_id, result, current_name, asset_id) INCLUDE (status, ignored, checked_at, task_id);
`,
	},
	// 15: SQLite's latest rows keep the row id of their result
	// (result_row), so that a page of latest results reads each one's
	// reason and evidence with one search of the results table instead of
	// one of its key's index and then one of the table. The column starts
	// empty, without rewriting the latest rows: ingest writes it with each
	// latest row it writes, and a row without it, or whose id no longer
	// names its result (a VACUUM renumbers the results), has its result
	// read by its key. PostgreSQL keeps its tables.
	{
		SQLite:   `ALTER TABLE latest ADD COLUMN result_row INTEGER;`,
		Postgres: `SELECT 1;`,
	},
}

// SignaturesMoved is the version whose migration drops SQLite's
// signatures table, their rows moved to the signatures' own file first.
const SignaturesMoved = 10

// ResultsAppended is the version whose migration replaces SQLite's
// results table with results_appended, which store/sqlite creates and
// fills first.
const ResultsAppended = 11

// SchemaVersion is the number of migrations this build knows.
var SchemaVersion = len(Migrations)
