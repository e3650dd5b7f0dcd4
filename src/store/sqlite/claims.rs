//! The claims of [`SqliteStore`](super::SqliteStore): a delivery claiming a hook (and the run's
//! lease with it), and workers claiming the runs that need an executor. Each runs in the writer's
//! immediate transaction (its own savepoint), so no other connection — in this process or
//! another — decides in between.

use rusqlite::{Connection, OptionalExtension, params};

use super::{backend, find_hook, find_run};
use crate::store::{
    Claim, ClaimedRuns, Lease, QueueLimit, StoreError, ms_bound, ms_column, now_ms,
};

pub(super) fn claim_hook(
    connection: &Connection,
    hook_id: &str,
    payload: &str,
    now_ms: u64,
    dedupe_key: Option<&str>,
    lease: Option<&Lease>,
) -> Result<Claim, StoreError> {
    if let Some(key) = dedupe_key {
        let seen: Option<(String, String)> = connection
            .prepare_cached("SELECT run_id, hook_id FROM awaitly_hooks WHERE dedupe_key = ?1")
            .and_then(|mut statement| {
                statement
                    .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(backend)?;
        if let Some((run_id, claimed)) = seen {
            return Ok(Claim::Seen {
                run_id,
                same_hook: claimed == hook_id,
            });
        }
    }
    let Some(hook) = find_hook(connection, hook_id)? else {
        return Ok(Claim::Unknown);
    };
    if let Some(existing) = hook.payload {
        return Ok(Claim::Taken {
            run_id: hook.run_id,
            payload: existing,
        });
    }
    let deadline: Option<i64> = connection
        .prepare_cached("SELECT deadline FROM awaitly_hooks WHERE hook_id = ?1")
        .and_then(|mut statement| statement.query_row([hook_id], |row| row.get(0)))
        .map_err(backend)?;
    let deadline = deadline.map(ms_column).transpose()?;
    if deadline.is_some_and(|deadline| deadline <= now_ms) {
        return Ok(Claim::Expired {
            run_id: hook.run_id,
        });
    }
    connection
        .prepare_cached("UPDATE awaitly_hooks SET payload = ?2, dedupe_key = ?3 WHERE hook_id = ?1")
        .and_then(|mut statement| statement.execute(params![hook_id, payload, dedupe_key]))
        .map_err(backend)?;
    let suspended = hook.suspended_at_ms.is_some();
    let mut leased = false;
    if suspended {
        // The payload waits to be applied: the run needs an executor now, and the claimer takes
        // the run's lease if nobody holds it, so it applies the payload without racing a worker.
        let now = crate::store::now_ms();
        let owner = lease.map(|lease| lease.owner.as_str());
        leased = connection
            .prepare_cached(
                "UPDATE awaitly_runs SET due_at = 0,
                     lease_owner = CASE WHEN ?2 IS NOT NULL
                         AND (lease_owner IS NULL OR lease_expires_at <= ?3) THEN ?2 ELSE lease_owner END,
                     lease_expires_at = CASE WHEN ?2 IS NOT NULL
                         AND (lease_owner IS NULL OR lease_expires_at <= ?3) THEN ?4 ELSE lease_expires_at END
                 WHERE run_id = ?1 AND status = 'suspended'
                 RETURNING lease_owner IS ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(
                        params![
                            hook.run_id,
                            owner,
                            now,
                            lease.map(|lease| lease.expires_at(now))
                        ],
                        |row| row.get::<_, bool>(0),
                    )
                    .optional()
            })
            .map_err(backend)?
            .unwrap_or(false)
            && owner.is_some();
    }
    Ok(Claim::Claimed {
        run_id: hook.run_id,
        suspended,
        leased,
    })
}

/// Up to `take` claimable runs (of `queue`, if given), in claim order.
fn pick_due(
    connection: &Connection,
    queue: Option<&str>,
    take: usize,
    due_by: i64,
    now: u64,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT run_id FROM awaitly_runs
         WHERE due_at IS NOT NULL AND due_at <= ?1
           AND (lease_owner IS NULL OR lease_expires_at <= ?2) {}
         ORDER BY priority DESC, due_at, seq LIMIT ?3",
        if queue.is_some() {
            "AND queue = ?4"
        } else {
            "AND ?4 IS NULL"
        }
    );
    let mut statement = connection.prepare_cached(&sql).map_err(backend)?;
    let take = i64::try_from(take).unwrap_or(i64::MAX);
    let rows = statement
        .query_map(params![due_by, now, take, queue], |row| {
            row.get::<_, String>(0)
        })
        .map_err(backend)?;
    rows.map(|row| row.map_err(backend)).collect()
}

pub(super) fn claim_runs(
    connection: &Connection,
    due_by: u64,
    limit: usize,
    lease: &Lease,
    queues: &[QueueLimit],
) -> Result<ClaimedRuns, StoreError> {
    let now = now_ms();
    let due_by = ms_bound(due_by);
    // Inside the writer's immediate transaction: no other connection (in this process or another) claims
    // between the choice and the lease, so executors split due runs instead of racing on them.
    let mut chosen: Vec<String> = Vec::new();
    if queues.is_empty() {
        chosen.extend(pick_due(connection, None, limit, due_by, now)?);
    } else {
        for queue in queues {
            let remaining = limit.saturating_sub(chosen.len());
            let free = match queue.concurrency {
                Some(concurrency) => {
                    let busy: i64 = connection
                        .prepare_cached(
                            "SELECT COUNT(*) FROM awaitly_runs
                             WHERE queue = ?1 AND lease_owner IS NOT NULL AND lease_expires_at > ?2",
                        )
                        .and_then(|mut statement| {
                            statement.query_row(params![queue.queue, now], |row| row.get(0))
                        })
                        .map_err(backend)?;
                    concurrency.saturating_sub(usize::try_from(busy).unwrap_or(usize::MAX))
                }
                None => remaining,
            };
            if free.min(remaining) > 0 {
                chosen.extend(pick_due(
                    connection,
                    Some(&queue.queue),
                    free.min(remaining),
                    due_by,
                    now,
                )?);
            }
        }
    }
    let mut runs = Vec::with_capacity(chosen.len());
    for run_id in &chosen {
        connection
            .prepare_cached(
                "UPDATE awaitly_runs SET lease_owner = ?2, lease_expires_at = ?3 WHERE run_id = ?1",
            )
            .and_then(|mut statement| {
                statement.execute(params![run_id, lease.owner, lease.expires_at(now)])
            })
            .map_err(backend)?;
        if let Some(record) = find_run(connection, run_id)? {
            runs.push(record);
        }
    }
    let next_due_at: Option<i64> = connection
        .prepare_cached(
            "SELECT MIN(due_at) FROM awaitly_runs WHERE due_at IS NOT NULL AND due_at > ?1
               AND (lease_owner IS NULL OR lease_expires_at <= ?2)",
        )
        .and_then(|mut statement| statement.query_row(params![due_by, now], |row| row.get(0)))
        .map_err(backend)?;
    Ok(ClaimedRuns {
        runs,
        next_due_at_ms: next_due_at.map(ms_column).transpose()?,
    })
}
