//! The writes of [`SqliteStore`](super::SqliteStore) that create runs and save them. Each runs
//! inside the writer's transaction, in a savepoint of its own (`writer.rs`): an error rolls back
//! what it wrote, and nothing of it is visible before the transaction commits.

use rusqlite::{Connection, OptionalExtension, params};

use super::{RUN_COLUMNS, backend, find_hook, find_run, read_run, revision_param};
use crate::store::{
    Changes, Created, NewRun, RunOutcome, Saved, StoreError, due_param, entry_text, hook_key,
    json_text, now_ms, outcome_text, refusal,
};

pub(super) fn create_run(connection: &Connection, run: &NewRun) -> Result<Created, StoreError> {
    if !run.hooks.is_empty() {
        // Hooks are checked before anything is written; without hooks the insert alone decides.
        if let Some(existing) = find_run(connection, &run.run_id)? {
            return Ok(Created::Existing(existing));
        }
        for hook_id in &run.hooks {
            if let Some(taken) = find_hook(connection, &hook_key(hook_id))? {
                return Err(StoreError::HookOwnedElsewhere {
                    hook_id: hook_id.to_string(),
                    owner: taken.run_id,
                });
            }
        }
    }
    let now = now_ms();
    let outcome = RunOutcome::Running;
    // One statement: the insert, or nothing if the run exists, returning the new row.
    let inserted = connection
        .prepare_cached(&format!(
            "INSERT INTO awaitly_runs (run_id, workflow, version, input, status, outcome, revision,
                 created_at, updated_at, due_at, lease_owner, lease_expires_at, queue, priority)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (run_id) DO NOTHING RETURNING {RUN_COLUMNS}"
        ))
        .and_then(|mut statement| {
            statement
                .query_row(
                    params![
                        run.run_id,
                        run.workflow,
                        run.version,
                        json_text(&run.input),
                        outcome.status().as_str(),
                        outcome_text(&outcome),
                        now,
                        run.ready_at_ms,
                        run.lease.as_ref().map(|lease| lease.owner.as_str()),
                        run.lease.as_ref().map(|lease| lease.expires_at(now)),
                        run.queue,
                        run.priority
                    ],
                    read_run,
                )
                .optional()
        })
        .map_err(backend)?;
    let Some(record) = inserted else {
        let existing = find_run(connection, &run.run_id)?
            .ok_or_else(|| StoreError::backend("the run that refused the insert is missing"))?;
        return Ok(Created::Existing(existing));
    };
    let record = record?;
    for hook_id in &run.hooks {
        connection
            .prepare_cached(
                "INSERT INTO awaitly_hooks (hook_id, run_id, registered_at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut statement| {
                statement.execute(params![hook_key(hook_id), run.run_id, now])
            })
            .map_err(backend)?;
    }
    Ok(Created::New(record))
}

pub(super) fn save(
    connection: &Connection,
    run_id: &str,
    expected_revision: u64,
    changes: &Changes,
) -> Result<Saved, StoreError> {
    let now = now_ms();
    let expected = revision_param(expected_revision)?;
    let outcome = changes.outcome.as_ref();
    let lease = changes.lease.as_ref();
    let updated = connection
        .prepare_cached(
            "UPDATE awaitly_runs SET revision = revision + 1, updated_at = ?3,
                 status = COALESCE(?4, status), outcome = COALESCE(?5, outcome),
                 version = COALESCE(?6, version),
                 due_at = CASE WHEN ?5 IS NULL THEN due_at ELSE ?7 END,
                 lease_owner = CASE WHEN ?8 IS NULL THEN lease_owner
                     WHEN COALESCE(?4, 'running') <> 'running' THEN NULL ELSE ?8 END,
                 lease_expires_at = CASE WHEN ?8 IS NULL THEN lease_expires_at
                     WHEN COALESCE(?4, 'running') <> 'running' THEN NULL ELSE ?9 END
             WHERE run_id = ?1 AND revision = ?2
               AND (lease_owner IS NULL OR lease_expires_at <= ?3 OR lease_owner = ?8)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                run_id,
                expected,
                now,
                outcome.map(|outcome| outcome.status().as_str()),
                outcome.map(outcome_text),
                changes.version,
                outcome.and_then(due_param),
                lease.map(|lease| lease.owner.as_str()),
                lease.map(|lease| lease.expires_at(now))
            ])
        })
        .map_err(backend)?;
    if updated == 0 {
        return Err(refusal(
            find_run(connection, run_id)?,
            run_id,
            expected_revision,
            now,
        ));
    }
    for key in &changes.removed {
        connection
            .prepare_cached("DELETE FROM awaitly_entries WHERE run_id = ?1 AND key = ?2")
            .and_then(|mut statement| statement.execute(params![run_id, key]))
            .map_err(backend)?;
    }
    for (key, entry) in &changes.entries {
        connection
            .prepare_cached(
                "INSERT INTO awaitly_entries (run_id, key, entry) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run_id, key) DO UPDATE SET entry = excluded.entry",
            )
            .and_then(|mut statement| statement.execute(params![run_id, key, entry_text(entry)]))
            .map_err(backend)?;
    }
    let mut delivered = None;
    for (position, hook) in changes
        .suspend_at
        .iter()
        .chain(&changes.waiting_at)
        .enumerate()
    {
        let suspend_at = position == 0 && changes.suspend_at.is_some();
        let key = hook_key(&hook.hook_id);
        if let Some(existing) = find_hook(connection, &key)? {
            if existing.run_id != run_id {
                // The writer rolls this write's savepoint (every change above) back.
                return Err(StoreError::HookOwnedElsewhere {
                    hook_id: hook.hook_id.to_string(),
                    owner: existing.run_id,
                });
            }
            if suspend_at {
                delivered = existing.payload;
            }
        }
        connection
            .prepare_cached(
                "INSERT INTO awaitly_hooks (hook_id, run_id, metadata, registered_at, suspended_at, deadline)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)
                 ON CONFLICT (hook_id) DO UPDATE SET metadata = excluded.metadata,
                     suspended_at = excluded.suspended_at, deadline = excluded.deadline",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    key,
                    run_id,
                    hook.metadata.as_ref().map(json_text),
                    now,
                    hook.deadline_ms
                ])
            })
            .map_err(backend)?;
    }
    Ok(Saved {
        revision: expected_revision + 1,
        delivered,
    })
}
