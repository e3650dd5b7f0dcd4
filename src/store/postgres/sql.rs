//! The SQL of [`PostgresStore`](super::PostgresStore): every statement, qualified with the
//! store's schema, and the migration that creates the tables.

/// Every statement, with the schema name filled in once.
pub(super) struct Sql {
    pub(super) schema: String,
    pub(super) insert_run: String,
    pub(super) select_run: String,
    pub(super) insert_registered_hook: String,
    pub(super) bump_revision: String,
    pub(super) delete_entry: String,
    pub(super) upsert_entry: String,
    pub(super) suspend_hook: String,
    pub(super) select_hook: String,
    pub(super) claim_hook: String,
    pub(super) release_hook: String,
    pub(super) select_entries: String,
    pub(super) pending_hooks: String,
    pub(super) list_runs: String,
    pub(super) delete_run: String,
    pub(super) delete_entries: String,
    pub(super) delete_hooks: String,
}

/// The columns `read_run` and `read_hook` expect, in order.
const RUN_COLUMNS: &str =
    "run_id, workflow, version, input, outcome, revision, created_at, updated_at";
const HOOK_COLUMNS: &str = "hook_id, run_id, metadata, registered_at, suspended_at, payload";

impl Sql {
    pub(super) fn new(schema: &str) -> Self {
        let s = format!("\"{schema}\"");
        Self {
            schema: schema.to_owned(),
            insert_run: format!(
                "INSERT INTO {s}.runs (run_id, workflow, version, input, status, outcome, revision, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) ON CONFLICT (run_id) DO NOTHING RETURNING {RUN_COLUMNS}"
            ),
            select_run: format!("SELECT {RUN_COLUMNS} FROM {s}.runs WHERE run_id = $1"),
            insert_registered_hook: format!(
                "INSERT INTO {s}.hooks (hook_id, run_id, registered_at) VALUES ($1, $2, $3)
                 ON CONFLICT (hook_id) DO NOTHING"
            ),
            bump_revision: format!(
                "UPDATE {s}.runs SET revision = revision + 1, updated_at = $3,
                     status = COALESCE($4, status), outcome = COALESCE($5, outcome),
                     version = COALESCE($6, version)
                 WHERE run_id = $1 AND revision = $2"
            ),
            delete_entry: format!("DELETE FROM {s}.entries WHERE run_id = $1 AND key = $2"),
            upsert_entry: format!(
                "INSERT INTO {s}.entries (run_id, key, entry) VALUES ($1, $2, $3)
                 ON CONFLICT (run_id, key) DO UPDATE SET entry = excluded.entry"
            ),
            suspend_hook: format!(
                "INSERT INTO {s}.hooks (hook_id, run_id, metadata, registered_at, suspended_at)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (hook_id) DO UPDATE SET metadata = excluded.metadata,
                     suspended_at = excluded.suspended_at
                 WHERE hooks.run_id = excluded.run_id
                 RETURNING payload"
            ),
            select_hook: format!("SELECT {HOOK_COLUMNS} FROM {s}.hooks WHERE hook_id = $1"),
            claim_hook: format!(
                "UPDATE {s}.hooks SET payload = $2 WHERE hook_id = $1 AND payload IS NULL
                 RETURNING run_id, suspended_at"
            ),
            release_hook: format!(
                "UPDATE {s}.hooks SET payload = NULL WHERE hook_id = $1 AND payload = $2"
            ),
            select_entries: format!(
                "SELECT key, entry FROM {s}.entries WHERE run_id = $1 ORDER BY seq"
            ),
            pending_hooks: format!(
                "SELECT {HOOK_COLUMNS} FROM {s}.hooks
                 WHERE payload IS NULL AND suspended_at IS NOT NULL ORDER BY suspended_at, hook_id"
            ),
            list_runs: format!("SELECT {RUN_COLUMNS} FROM {s}.runs ORDER BY seq"),
            delete_run: format!("DELETE FROM {s}.runs WHERE run_id = $1"),
            delete_entries: format!("DELETE FROM {s}.entries WHERE run_id = $1"),
            delete_hooks: format!("DELETE FROM {s}.hooks WHERE run_id = $1"),
        }
    }

    pub(super) fn migration(&self) -> String {
        let s = format!("\"{}\"", self.schema);
        format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.schema_version (version INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.runs (
                 seq BIGSERIAL NOT NULL,
                 run_id TEXT PRIMARY KEY,
                 workflow TEXT NOT NULL,
                 version INTEGER NOT NULL,
                 input TEXT NOT NULL,
                 status TEXT NOT NULL,
                 outcome TEXT NOT NULL,
                 revision BIGINT NOT NULL,
                 created_at BIGINT NOT NULL,
                 updated_at BIGINT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS runs_by_seq ON {s}.runs (seq);
             CREATE TABLE IF NOT EXISTS {s}.entries (
                 seq BIGSERIAL NOT NULL,
                 run_id TEXT NOT NULL,
                 key TEXT NOT NULL,
                 entry TEXT NOT NULL,
                 PRIMARY KEY (run_id, key)
             );
             CREATE INDEX IF NOT EXISTS entries_by_run_seq ON {s}.entries (run_id, seq);
             CREATE TABLE IF NOT EXISTS {s}.hooks (
                 hook_id TEXT PRIMARY KEY,
                 run_id TEXT NOT NULL,
                 metadata TEXT,
                 registered_at BIGINT NOT NULL,
                 suspended_at BIGINT,
                 payload TEXT
             );
             CREATE INDEX IF NOT EXISTS hooks_by_run ON {s}.hooks (run_id);
             CREATE INDEX IF NOT EXISTS hooks_pending ON {s}.hooks (suspended_at)
                 WHERE payload IS NULL AND suspended_at IS NOT NULL;"
        )
    }
}
