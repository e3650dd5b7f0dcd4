//! The SQL of [`PostgresStore`](super::PostgresStore): every statement, qualified with the
//! store's schema, and the migration that creates the tables.

/// Every statement, with the schema name filled in once.
pub(super) struct Sql {
    pub(super) schema: String,
    pub(super) insert_run: String,
    pub(super) select_run: String,
    pub(super) insert_registered_hook: String,
    pub(super) bump_revision: String,
    pub(super) save_entries: String,
    pub(super) delete_entry: String,
    pub(super) upsert_entry: String,
    pub(super) suspend_hook: String,
    pub(super) select_hook: String,
    pub(super) claim_hook: String,
    pub(super) seen_dedupe: String,
    pub(super) release_hook: String,
    pub(super) select_entries: String,
    pub(super) pending_hooks: String,
    pub(super) list_runs: String,
    pub(super) due_runs: String,
    pub(super) claim_runs: String,
    pub(super) count_leased: String,
    pub(super) next_due: String,
    pub(super) renew_lease: String,
    pub(super) channel: String,
    pub(super) delete_run: String,
    pub(super) delete_entries: String,
    pub(super) delete_hooks: String,
}

/// The columns `read_run` and `read_hook` expect, in order.
const RUN_COLUMNS: &str =
    "run_id, workflow, version, input, outcome, revision, created_at, updated_at,
    lease_owner, lease_expires_at, queue, priority";
const HOOK_COLUMNS: &str = "hook_id, run_id, metadata, registered_at, suspended_at, payload";

impl Sql {
    // One statement per field: splitting the list would only scatter it.
    #[allow(clippy::too_many_lines)]
    pub(super) fn new(schema: &str) -> Self {
        let s = format!("\"{schema}\"");
        // The fenced revision bump of a save: only at the expected revision, only if no other
        // executor holds a live lease; a save that stops the run releases its lease.
        let bump = format!(
            "UPDATE {s}.runs SET revision = revision + 1, updated_at = $3,
                 status = COALESCE($4, status), outcome = COALESCE($5, outcome),
                 version = COALESCE($6, version),
                 due_at = CASE WHEN $5::TEXT IS NULL THEN due_at ELSE $7 END,
                 lease_owner = CASE WHEN $8::TEXT IS NULL THEN lease_owner
                     WHEN COALESCE($4::TEXT, 'running') <> 'running' THEN NULL ELSE $8 END,
                 lease_expires_at = CASE WHEN $8::TEXT IS NULL THEN lease_expires_at
                     WHEN COALESCE($4::TEXT, 'running') <> 'running' THEN NULL ELSE $9 END
             WHERE run_id = $1 AND revision = $2
               AND (lease_owner IS NULL OR lease_expires_at <= $3 OR lease_owner = $8)"
        );
        Self {
            schema: schema.to_owned(),
            insert_run: format!(
                "INSERT INTO {s}.runs (run_id, workflow, version, input, status, outcome, revision,
                     created_at, updated_at, due_at, lease_owner, lease_expires_at, queue, priority)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7, $12, $8, $9, $10, $11)
                 ON CONFLICT (run_id) DO NOTHING RETURNING {RUN_COLUMNS}"
            ),
            select_run: format!("SELECT {RUN_COLUMNS} FROM {s}.runs WHERE run_id = $1"),
            insert_registered_hook: format!(
                "INSERT INTO {s}.hooks (hook_id, run_id, registered_at) VALUES ($1, $2, $3)
                 ON CONFLICT (hook_id) DO NOTHING"
            ),
            bump_revision: format!("{bump} RETURNING due_at, lease_owner"),
            // A whole save in one statement (one round trip, no transaction of its own): the
            // fenced revision bump, the entries ($10 keys, $11 texts, in order) only if the bump
            // matched, the wake-up of listening workers ($12) for a run nobody holds that now has
            // a due time; or, when the bump matched nothing, the run as this statement saw it, to
            // tell a conflict from a lease held elsewhere. Several such statements share one
            // transaction when saves are group-committed.
            save_entries: format!(
                "WITH bumped AS ({bump} RETURNING due_at, lease_owner),
                 upserted AS (
                     INSERT INTO {s}.entries (run_id, key, entry)
                     SELECT $1, entry.key, entry.text
                     FROM unnest($10::TEXT[], $11::TEXT[]) WITH ORDINALITY AS entry(key, text, position)
                     WHERE EXISTS (SELECT 1 FROM bumped)
                     ORDER BY entry.position
                     ON CONFLICT (run_id, key) DO UPDATE SET entry = excluded.entry
                 )
                 SELECT TRUE, b.due_at, b.lease_owner, NULL::BIGINT, NULL::BIGINT,
                     CASE WHEN $5::TEXT IS NOT NULL AND b.due_at IS NOT NULL AND b.lease_owner IS NULL
                         THEN pg_notify($12, '') IS NULL END
                 FROM bumped b
                 UNION ALL
                 SELECT FALSE, NULL::BIGINT, r.lease_owner, r.revision, r.lease_expires_at, NULL::BOOLEAN
                 FROM {s}.runs r WHERE r.run_id = $1 AND NOT EXISTS (SELECT 1 FROM bumped)"
            ),
            delete_entry: format!("DELETE FROM {s}.entries WHERE run_id = $1 AND key = $2"),
            upsert_entry: format!(
                "INSERT INTO {s}.entries (run_id, key, entry) VALUES ($1, $2, $3)
                 ON CONFLICT (run_id, key) DO UPDATE SET entry = excluded.entry"
            ),
            suspend_hook: format!(
                "INSERT INTO {s}.hooks (hook_id, run_id, metadata, registered_at, suspended_at, deadline)
                 VALUES ($1, $2, $3, $4, $4, $5)
                 ON CONFLICT (hook_id) DO UPDATE SET metadata = excluded.metadata,
                     suspended_at = excluded.suspended_at, deadline = excluded.deadline
                 WHERE hooks.run_id = excluded.run_id
                 RETURNING payload"
            ),
            select_hook: format!(
                "SELECT {HOOK_COLUMNS}, deadline FROM {s}.hooks WHERE hook_id = $1"
            ),
            // One statement: the claim, and (for a run waiting at the hook) marking the run due
            // and leasing it to the claimer when nobody holds it.
            claim_hook: format!(
                "WITH claimed AS (
                     UPDATE {s}.hooks SET payload = $2, dedupe_key = $4
                     WHERE hook_id = $1 AND payload IS NULL AND (deadline IS NULL OR deadline > $3)
                     RETURNING run_id, suspended_at
                 ), run AS (
                     UPDATE {s}.runs SET due_at = 0,
                         lease_owner = CASE WHEN $5::TEXT IS NOT NULL
                             AND (runs.lease_owner IS NULL OR runs.lease_expires_at <= $6)
                             THEN $5 ELSE runs.lease_owner END,
                         lease_expires_at = CASE WHEN $5::TEXT IS NOT NULL
                             AND (runs.lease_owner IS NULL OR runs.lease_expires_at <= $6)
                             THEN $7 ELSE runs.lease_expires_at END
                     FROM claimed
                     WHERE runs.run_id = claimed.run_id AND claimed.suspended_at IS NOT NULL
                       AND runs.status = 'suspended'
                     RETURNING runs.lease_owner
                 )
                 SELECT claimed.run_id, claimed.suspended_at, (SELECT lease_owner FROM run)
                 FROM claimed"
            ),
            seen_dedupe: format!("SELECT run_id, hook_id FROM {s}.hooks WHERE dedupe_key = $1"),
            release_hook: format!(
                "UPDATE {s}.hooks SET payload = NULL, dedupe_key = NULL
                 WHERE hook_id = $1 AND payload = $2"
            ),
            select_entries: format!(
                "SELECT key, entry FROM {s}.entries WHERE run_id = $1 ORDER BY seq"
            ),
            pending_hooks: format!(
                "SELECT h.hook_id, h.run_id, h.metadata, h.registered_at, h.suspended_at, h.payload,
                     r.outcome
                 FROM {s}.hooks h JOIN {s}.runs r ON r.run_id = h.run_id
                 WHERE h.payload IS NULL AND h.suspended_at IS NOT NULL AND r.status = 'suspended'
                 ORDER BY h.suspended_at, h.hook_id"
            ),
            list_runs: format!("SELECT {RUN_COLUMNS} FROM {s}.runs ORDER BY seq"),
            due_runs: format!(
                "SELECT {RUN_COLUMNS} FROM {s}.runs WHERE due_at IS NOT NULL AND due_at <= $1
                   AND status = 'suspended'
                 ORDER BY due_at, seq LIMIT $2"
            ),
            claim_runs: format!(
                "UPDATE {s}.runs SET lease_owner = $3, lease_expires_at = $4
                 WHERE run_id IN (
                     SELECT run_id FROM {s}.runs
                     WHERE due_at IS NOT NULL AND due_at <= $1
                       AND (lease_owner IS NULL OR lease_expires_at <= $2)
                       AND ($6::TEXT IS NULL OR queue = $6)
                     ORDER BY priority DESC, due_at, seq LIMIT $5
                     FOR UPDATE SKIP LOCKED
                 )
                 RETURNING {RUN_COLUMNS}"
            ),
            count_leased: format!(
                "SELECT COUNT(*) FROM {s}.runs
                 WHERE queue = $1 AND lease_owner IS NOT NULL AND lease_expires_at > $2"
            ),
            next_due: format!(
                "SELECT MIN(due_at) FROM {s}.runs WHERE due_at IS NOT NULL AND due_at > $1
                   AND (lease_owner IS NULL OR lease_expires_at <= $2)"
            ),
            renew_lease: format!(
                "UPDATE {s}.runs SET lease_expires_at = $3 WHERE run_id = $1 AND lease_owner = $2"
            ),
            channel: format!("awaitly_{schema}"),
            delete_run: format!("DELETE FROM {s}.runs WHERE run_id = $1"),
            delete_entries: format!("DELETE FROM {s}.entries WHERE run_id = $1"),
            delete_hooks: format!("DELETE FROM {s}.hooks WHERE run_id = $1"),
        }
    }

    /// Fills the columns version 2 added from what version 1 stored: a suspended run's hook
    /// deadline is in its outcome, a pending hook's in its entry.
    pub(super) fn backfill_from_1(&self) -> String {
        let s = format!("\"{}\"", self.schema);
        format!(
            "UPDATE {s}.runs SET due_at = (outcome::jsonb #>> '{{hook,deadline}}')::BIGINT
                 WHERE status = 'suspended';
             UPDATE {s}.hooks SET deadline = (entries.entry::jsonb #>> '{{error,deadline}}')::BIGINT
                 FROM {s}.entries
                 WHERE entries.run_id = hooks.run_id AND entries.key = 'hook:' || hooks.hook_id
                   AND hooks.suspended_at IS NOT NULL;"
        )
    }

    /// Marks what needs an executor after the upgrade to version 3: runs left running, and
    /// suspended runs holding a delivered payload not applied yet.
    pub(super) fn backfill_from_2(&self) -> String {
        let s = format!("\"{}\"", self.schema);
        format!(
            "UPDATE {s}.runs SET due_at = 0 WHERE status = 'running';
             UPDATE {s}.runs SET due_at = 0 WHERE status = 'suspended' AND EXISTS (
                 SELECT 1 FROM {s}.hooks WHERE hooks.run_id = runs.run_id
                   AND hooks.payload IS NOT NULL AND hooks.suspended_at IS NOT NULL);"
        )
    }

    /// Replaces every stored hook id by its digest (version 4: the hooks table hands out no
    /// live capability).
    pub(super) fn digest_hook_ids(&self) -> String {
        let s = format!("\"{}\"", self.schema);
        format!(
            "UPDATE {s}.hooks SET hook_id = encode(sha256(convert_to(hook_id, 'UTF8')), 'hex');"
        )
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
                 updated_at BIGINT NOT NULL,
                 due_at BIGINT
             );
             ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS due_at BIGINT;
             ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS lease_owner TEXT;
             ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS lease_expires_at BIGINT;
             ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS queue TEXT NOT NULL DEFAULT 'default';
             ALTER TABLE {s}.runs ADD COLUMN IF NOT EXISTS priority INTEGER NOT NULL DEFAULT 0;
             CREATE INDEX IF NOT EXISTS runs_leased ON {s}.runs (queue, lease_expires_at)
                 WHERE lease_owner IS NOT NULL;
             CREATE INDEX IF NOT EXISTS runs_due ON {s}.runs (due_at) WHERE due_at IS NOT NULL;
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
                 payload TEXT,
                 deadline BIGINT,
                 dedupe_key TEXT
             );
             ALTER TABLE {s}.hooks ADD COLUMN IF NOT EXISTS deadline BIGINT;
             ALTER TABLE {s}.hooks ADD COLUMN IF NOT EXISTS dedupe_key TEXT;
             CREATE UNIQUE INDEX IF NOT EXISTS hooks_dedupe ON {s}.hooks (dedupe_key)
                 WHERE dedupe_key IS NOT NULL;
             CREATE INDEX IF NOT EXISTS hooks_by_run ON {s}.hooks (run_id);
             CREATE INDEX IF NOT EXISTS hooks_pending ON {s}.hooks (suspended_at)
                 WHERE payload IS NULL AND suspended_at IS NOT NULL;"
        )
    }
}
