//! Creating the tables of [`PostgresStore`](super::PostgresStore), and migrating older schemas
//! forward, under an advisory lock.

use super::{PostgresStore, backend};
use crate::store::StoreError;

/// The schema version this build creates; a newer one is refused instead of misread.
///
/// 1. runs, entries, hooks.
/// 2. `runs.due_at` (when a sleeping or waiting run is due; indexed), `hooks.deadline` (checked
///    by claims) and `hooks.dedupe_key` (a verified provider event id, unique); older schemas
///    are migrated forward on connect.
/// 3. `runs.lease_owner` and `lease_expires_at` (the executor advancing the run), `queue` and
///    `priority` (where workers claim it from); `due_at` also marks running runs and runs
///    holding an unapplied payload.
/// 4. `hooks.hook_id` holds the SHA-256 of the hook id (hex), not the id.
const SCHEMA_VERSION: i32 = 4;

impl PostgresStore {
    pub(super) async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(backend)?;
        // Instances starting together would race on CREATE … IF NOT EXISTS; the lock orders them.
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                &[&self.sql.schema],
            )
            .await
            .map_err(backend)?;
        transaction
            .batch_execute(&self.sql.migration())
            .await
            .map_err(backend)?;
        let schema = format!("\"{}\"", self.sql.schema);
        let stored: Option<i32> = transaction
            .query_opt(&format!("SELECT version FROM {schema}.schema_version"), &[])
            .await
            .map_err(backend)?
            .map(|row| row.get(0));
        match stored {
            Some(version) if version > SCHEMA_VERSION => {
                return Err(StoreError::corrupt(format_args!(
                    "schema `{}` has awaitly schema version {version}; this build understands up to {SCHEMA_VERSION}: upgrade awaitly",
                    self.sql.schema
                )));
            }
            Some(version) if version < SCHEMA_VERSION => {
                if version < 2 {
                    transaction
                        .batch_execute(&self.sql.backfill_from_1())
                        .await
                        .map_err(backend)?;
                }
                if version < 3 {
                    transaction
                        .batch_execute(&self.sql.backfill_from_2())
                        .await
                        .map_err(backend)?;
                }
                transaction
                    .batch_execute(&self.sql.digest_hook_ids())
                    .await
                    .map_err(backend)?;
                transaction
                    .execute(
                        &format!("UPDATE {schema}.schema_version SET version = $1"),
                        &[&SCHEMA_VERSION],
                    )
                    .await
                    .map_err(backend)?;
            }
            Some(_) => {}
            None => {
                transaction
                    .execute(
                        &format!("INSERT INTO {schema}.schema_version (version) VALUES ($1)"),
                        &[&SCHEMA_VERSION],
                    )
                    .await
                    .map_err(backend)?;
            }
        }
        transaction.commit().await.map_err(backend)
    }
}
