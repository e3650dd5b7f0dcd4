//! The claims of [`PostgresStore`](super::PostgresStore): a delivery claiming a hook (and the
//! run's lease with it) in one statement, and workers claiming the runs that need an executor
//! with `FOR UPDATE SKIP LOCKED`.

use awaitly_runtime::HookId;
use serde_json::Value;

use super::{PostgresStore, backend, read_hook, read_run};
use crate::store::{
    Claim, ClaimedRuns, Lease, QueueLimit, StoreError, hook_key, json_text, ms_bound, ms_column,
    ms_param, now_ms,
};

impl PostgresStore {
    pub(super) async fn claim(
        &self,
        hook_id: &HookId,
        payload: &Value,
        now_ms: u64,
        dedupe_key: Option<&str>,
        lease: Option<&Lease>,
    ) -> Result<Claim, StoreError> {
        let client = self.client().await?;
        let payload = json_text(payload);
        let now = ms_bound(now_ms);
        let owner = lease.map(|lease| lease.owner.as_str());
        let digest = hook_key(hook_id);
        loop {
            if let Some(key) = dedupe_key
                && let Some(row) = client
                    .query_opt(&self.sql.seen_dedupe, &[&key])
                    .await
                    .map_err(backend)?
            {
                let claimed: String = row.get(1);
                return Ok(Claim::Seen {
                    run_id: row.get(0),
                    same_hook: claimed == digest,
                });
            }
            let claimed = match client
                .query_opt(
                    &self.sql.claim_hook,
                    &[
                        &digest,
                        &payload,
                        &now,
                        &dedupe_key,
                        &owner,
                        &ms_param(crate::store::now_ms())?,
                        &lease
                            .map(|lease| ms_param(lease.expires_at(crate::store::now_ms())))
                            .transpose()?,
                    ],
                )
                .await
            {
                Ok(claimed) => claimed,
                // Another hook's claim took the dedupe key meanwhile: look again.
                Err(error)
                    if error.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) =>
                {
                    continue;
                }
                Err(error) => return Err(backend(error)),
            };
            if let Some(row) = claimed {
                let suspended_at: Option<i64> = row.get(1);
                let lease_owner: Option<&str> = row.get(2);
                return Ok(Claim::Claimed {
                    run_id: row.get(0),
                    suspended: suspended_at.is_some(),
                    leased: owner.is_some() && lease_owner == owner,
                });
            }
            let Some(row) = client
                .query_opt(&self.sql.select_hook, &[&digest])
                .await
                .map_err(backend)?
            else {
                return Ok(Claim::Unknown);
            };
            let deadline: Option<i64> = row.get(6);
            let hook = read_hook(&row)?;
            if let Some(existing) = hook.payload {
                return Ok(Claim::Taken {
                    run_id: hook.run_id,
                    payload: existing,
                });
            }
            if deadline.is_some_and(|deadline| deadline <= now) {
                return Ok(Claim::Expired {
                    run_id: hook.run_id,
                });
            }
            // Released between the two statements (its payload did not decode): claim again.
        }
    }

    pub(super) async fn claim_due(
        &self,
        due_by: u64,
        limit: usize,
        lease: &Lease,
        queues: &[QueueLimit],
    ) -> Result<ClaimedRuns, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(backend)?;
        let now = now_ms();
        let due_by = ms_bound(due_by);
        let expires = ms_param(lease.expires_at(now))?;
        let now = ms_param(now)?;
        let claim = transaction
            .prepare_cached(&self.sql.claim_runs)
            .await
            .map_err(backend)?;
        let mut runs = Vec::new();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // `FOR UPDATE SKIP LOCKED`: concurrent claimers take disjoint runs instead of queueing
        // behind each other's row locks.
        if queues.is_empty() {
            let rows = transaction
                .query(
                    &claim,
                    &[&due_by, &now, &lease.owner, &expires, &limit, &None::<&str>],
                )
                .await
                .map_err(backend)?;
            for row in &rows {
                runs.push(read_run(row)?);
            }
        } else {
            for queue in queues {
                let remaining = limit - i64::try_from(runs.len()).unwrap_or(i64::MAX);
                if remaining <= 0 {
                    break;
                }
                let take = match queue.concurrency {
                    Some(concurrency) => {
                        // Claimers of one limited queue take turns, so two of them cannot both
                        // see the last free slot.
                        transaction
                            .execute(
                                "SELECT pg_advisory_xact_lock(hashtext($1))",
                                &[&format!("{}:{}", self.sql.channel, queue.queue)],
                            )
                            .await
                            .map_err(backend)?;
                        let busy: i64 = transaction
                            .query_one(&self.sql.count_leased, &[&queue.queue, &now])
                            .await
                            .map_err(backend)?
                            .get(0);
                        (i64::try_from(concurrency).unwrap_or(i64::MAX) - busy).min(remaining)
                    }
                    None => remaining,
                };
                if take <= 0 {
                    continue;
                }
                let rows = transaction
                    .query(
                        &claim,
                        &[
                            &due_by,
                            &now,
                            &lease.owner,
                            &expires,
                            &take,
                            &Some(queue.queue.as_str()),
                        ],
                    )
                    .await
                    .map_err(backend)?;
                for row in &rows {
                    runs.push(read_run(row)?);
                }
            }
        }
        runs.sort_by_key(|run| std::cmp::Reverse(run.priority));
        let next_due: Option<i64> = transaction
            .query_one(&self.sql.next_due, &[&due_by, &now])
            .await
            .map_err(backend)?
            .get(0);
        transaction.commit().await.map_err(backend)?;
        Ok(ClaimedRuns {
            runs,
            next_due_at_ms: next_due.map(ms_column).transpose()?,
        })
    }
}
