//! Reading and writing runs: creating one (alone, or with its hooks and a notification), loading
//! one with its entries, and the saves that need a transaction of their own (removed keys, a
//! suspension); the plain saves go through the group commit of [`batch`](super::batch).

use awaitly_runtime::ResumeState;
use serde_json::Value;
use tokio_postgres::Row;

use super::batch::Pending;
use super::{PostgresStore, backend, read_run, to_i32, to_i64};
use crate::store::{
    Changes, Created, NewRun, RunOutcome, Saved, StoreError, StoredRun, due_param, entry_text,
    hook_key, json_text, ms_param, now_ms, outcome_text, parse_entry, parse_json, refusal,
};

impl PostgresStore {
    pub(super) async fn create(&self, run: NewRun) -> Result<Created, StoreError> {
        if run.hooks.is_empty() && run.lease.is_some() {
            return self.create_alone(run).await;
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(backend)?;
        let now = now_ms();
        let outcome = RunOutcome::Running;
        let inserted = transaction
            .query_opt(
                &transaction
                    .prepare_cached(&self.sql.insert_run)
                    .await
                    .map_err(backend)?,
                &[
                    &run.run_id,
                    &run.workflow,
                    &to_i32(run.version)?,
                    &json_text(&run.input),
                    &outcome.status().as_str(),
                    &outcome_text(&outcome),
                    &ms_param(now)?,
                    &run.lease.as_ref().map(|lease| lease.owner.as_str()),
                    &run.lease
                        .as_ref()
                        .map(|lease| ms_param(lease.expires_at(now)))
                        .transpose()?,
                    &run.queue,
                    &run.priority,
                    &ms_param(run.ready_at_ms)?,
                ],
            )
            .await
            .map_err(backend)?;
        let Some(inserted) = inserted else {
            let existing = transaction
                .query_one(&self.sql.select_run, &[&run.run_id])
                .await
                .map_err(backend)?;
            return Ok(Created::Existing(read_run(&existing)?));
        };
        for hook_id in &run.hooks {
            let added = transaction
                .execute(
                    &self.sql.insert_registered_hook,
                    &[&hook_key(hook_id), &run.run_id, &ms_param(now)?],
                )
                .await
                .map_err(backend)?;
            if added == 0 {
                let owner = transaction
                    .query_opt(&self.sql.select_hook, &[&hook_key(hook_id)])
                    .await
                    .map_err(backend)?
                    .map(|row| row.get::<_, String>(1))
                    .unwrap_or_default();
                // Dropping the transaction rolls the run back too.
                return Err(StoreError::HookOwnedElsewhere {
                    hook_id: hook_id.to_string(),
                    owner,
                });
            }
        }
        let record = read_run(&inserted)?;
        if run.lease.is_none() {
            // Enqueued for whichever worker claims it: wake the listening workers.
            self.notify(&transaction).await?;
        }
        transaction.commit().await.map_err(backend)?;
        Ok(Created::New(record))
    }

    /// A run with no hooks to register and a lease (so no worker to wake): one statement, its
    /// own transaction.
    pub(super) async fn create_alone(&self, run: NewRun) -> Result<Created, StoreError> {
        let client = self.client().await?;
        let now = now_ms();
        let outcome = RunOutcome::Running;
        let insert = client
            .prepare_cached(&self.sql.insert_run)
            .await
            .map_err(backend)?;
        let inserted = client
            .query_opt(
                &insert,
                &[
                    &run.run_id,
                    &run.workflow,
                    &to_i32(run.version)?,
                    &json_text(&run.input),
                    &outcome.status().as_str(),
                    &outcome_text(&outcome),
                    &ms_param(now)?,
                    &run.lease.as_ref().map(|lease| lease.owner.as_str()),
                    &run.lease
                        .as_ref()
                        .map(|lease| ms_param(lease.expires_at(now)))
                        .transpose()?,
                    &run.queue,
                    &run.priority,
                    &ms_param(run.ready_at_ms)?,
                ],
            )
            .await
            .map_err(backend)?;
        if let Some(row) = inserted {
            return Ok(Created::New(read_run(&row)?));
        }
        let existing = client
            .query_one(&self.sql.select_run, &[&run.run_id])
            .await
            .map_err(backend)?;
        Ok(Created::Existing(read_run(&existing)?))
    }

    pub(super) async fn load(&self, run_id: &str) -> Result<Option<StoredRun>, StoreError> {
        let mut client = self.client().await?;
        // One snapshot for the run row and its entries: a save landing between the two reads
        // must not pair an old outcome with new entries.
        let client = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(backend)?;
        let select_run = client
            .prepare_cached(&self.sql.select_run)
            .await
            .map_err(backend)?;
        let Some(row) = client
            .query_opt(&select_run, &[&run_id])
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let record = read_run(&row)?;
        let select_entries = client
            .prepare_cached(&self.sql.select_entries)
            .await
            .map_err(backend)?;
        let mut state = ResumeState::new();
        for row in client
            .query(&select_entries, &[&run_id])
            .await
            .map_err(backend)?
        {
            let key: String = row.get(0);
            let entry = parse_entry(run_id, &key, row.get(1))?;
            state.insert(key, entry);
        }
        client.commit().await.map_err(backend)?;
        Ok(Some(StoredRun { record, state }))
    }

    pub(super) async fn save_changes(
        &self,
        run_id: &str,
        expected_revision: u64,
        changes: Changes,
    ) -> Result<Saved, StoreError> {
        if let Some((pending, answer)) = Pending::new(run_id, expected_revision, &changes)? {
            let stopped = || StoreError::backend("the PostgreSQL batching task has stopped");
            if !self.batcher.send(pending) {
                return Err(stopped());
            }
            return answer.await.map_err(|_| stopped())?;
        }
        // Removed keys or a suspension: a transaction of its own.
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(backend)?;
        let now = now_ms();
        let outcome = changes.outcome.as_ref();
        let lease = changes.lease.as_ref();
        let version = changes.version.map(to_i32).transpose()?;
        let bump = transaction
            .prepare_cached(&self.sql.bump_revision)
            .await
            .map_err(backend)?;
        let updated = transaction
            .query_opt(
                &bump,
                &[
                    &run_id,
                    &to_i64(expected_revision)?,
                    &ms_param(now)?,
                    &outcome.map(|outcome| outcome.status().as_str()),
                    &outcome.map(outcome_text),
                    &version,
                    &outcome.and_then(due_param).map(ms_param).transpose()?,
                    &lease.map(|lease| lease.owner.as_str()),
                    &lease
                        .map(|lease| ms_param(lease.expires_at(now)))
                        .transpose()?,
                ],
            )
            .await
            .map_err(backend)?;
        let Some(updated) = updated else {
            let run = transaction
                .query_opt(&self.sql.select_run, &[&run_id])
                .await
                .map_err(backend)?
                .as_ref()
                .map(read_run)
                .transpose()?;
            return Err(refusal(run, run_id, expected_revision, now));
        };
        let due_at: Option<i64> = updated.get(0);
        let lease_owner: Option<&str> = updated.get(1);
        if outcome.is_some() && due_at.is_some() && lease_owner.is_none() {
            // A run nobody holds now has a due time: workers waiting for work recompute theirs.
            self.notify(&transaction).await?;
        }
        if !changes.removed.is_empty() {
            let delete = transaction
                .prepare_cached(&self.sql.delete_entry)
                .await
                .map_err(backend)?;
            for key in &changes.removed {
                transaction
                    .execute(&delete, &[&run_id, key])
                    .await
                    .map_err(backend)?;
            }
        }
        if !changes.entries.is_empty() {
            let upsert = transaction
                .prepare_cached(&self.sql.upsert_entry)
                .await
                .map_err(backend)?;
            for (key, entry) in &changes.entries {
                transaction
                    .execute(&upsert, &[&run_id, key, &entry_text(entry)])
                    .await
                    .map_err(backend)?;
            }
        }
        let delivered = match &changes.suspend_at {
            Some(hook) => self.suspend_at(&transaction, run_id, hook, now).await?,
            None => None,
        };
        for hook in &changes.waiting_at {
            self.suspend_at(&transaction, run_id, hook, now).await?;
        }
        transaction.commit().await.map_err(backend)?;
        Ok(Saved {
            revision: expected_revision + 1,
            delivered,
        })
    }

    /// Records that the run waits at `hook` (in the save's transaction); returns the payload a
    /// delivery stored with it before the run got there.
    pub(super) async fn suspend_at(
        &self,
        transaction: &tokio_postgres::Transaction<'_>,
        run_id: &str,
        hook: &awaitly_runtime::PendingHook,
        now: u64,
    ) -> Result<Option<Value>, StoreError> {
        // The upsert locks the hook row, so a concurrent claim either lands before (and its
        // payload is returned here) or after (and sees the run suspended).
        let row = transaction
            .query_opt(
                &self.sql.suspend_hook,
                &[
                    &hook_key(&hook.hook_id),
                    &run_id,
                    &hook.metadata.as_ref().map(json_text),
                    &ms_param(now)?,
                    &hook.deadline_ms.map(ms_param).transpose()?,
                ],
            )
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            let owner = transaction
                .query_opt(&self.sql.select_hook, &[&hook_key(&hook.hook_id)])
                .await
                .map_err(backend)?
                .map(|row| row.get::<_, String>(1))
                .unwrap_or_default();
            return Err(StoreError::HookOwnedElsewhere {
                hook_id: hook.hook_id.to_string(),
                owner,
            });
        };
        let payload: Option<&str> = row.get(0);
        payload.map(parse_json).transpose()
    }

    pub(super) async fn notify(
        &self,
        transaction: &tokio_postgres::Transaction<'_>,
    ) -> Result<(), StoreError> {
        transaction
            .execute("SELECT pg_notify($1, '')", &[&self.sql.channel])
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn query_all<T>(
        &self,
        sql: &str,
        read: fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let client = self.client().await?;
        let rows = client.query(sql, &[]).await.map_err(backend)?;
        rows.iter().map(read).collect()
    }

    pub(super) async fn delete(&self, run_id: &str) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(backend)?;
        let deleted = transaction
            .execute(&self.sql.delete_run, &[&run_id])
            .await
            .map_err(backend)?;
        transaction
            .execute(&self.sql.delete_entries, &[&run_id])
            .await
            .map_err(backend)?;
        transaction
            .execute(&self.sql.delete_hooks, &[&run_id])
            .await
            .map_err(backend)?;
        transaction.commit().await.map_err(backend)?;
        Ok(deleted == 1)
    }
}
