//! `cancel RUN [--reason …]`: records a run's cancellation in the store, without the workflow's
//! code. The run is saved with the `run:cancel` entry and made due (outcome running, no lease),
//! so the next worker that claims due runs (or `Engine::recover`) replays it, stops it where it
//! stood, runs its compensations and stores it as cancelled.

use awaitly_runtime::{CANCEL_KEY, Cancellation, StepEntry};
use serde_json::json;

use super::CliError;
use super::table::cell;
use crate::store::{Changes, RunOutcome, RunStatus, Store, StoreError};

/// Records the cancellation of `run_id` with `reason`; what to print.
pub(crate) async fn cancel(
    store: &dyn Store,
    run_id: &str,
    reason: Option<&str>,
    now_ms: u64,
    json: bool,
) -> Result<String, CliError> {
    let unknown = || CliError::UnknownRun {
        run_id: run_id.to_owned(),
    };
    let run = store.load_run(run_id).await?.ok_or_else(unknown)?;
    let record = &run.record;
    let busy = || CliError::RunBusy {
        run_id: run_id.to_owned(),
    };
    match record.status() {
        RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled => {
            return Err(CliError::RunFinished {
                run_id: run_id.to_owned(),
                status: record.status().as_str().to_owned(),
            });
        }
        RunStatus::Running | RunStatus::Suspended | RunStatus::Stopped => {}
    }
    if record
        .lease
        .as_ref()
        .is_some_and(|lease| lease.is_live(now_ms))
    {
        return Err(busy());
    }
    let cancellation = reason.map_or_else(Cancellation::default, Cancellation::new);
    let entry = StepEntry::ok(&cancellation)
        .map_err(|error| StoreError::backend(format!("the cancellation is not JSON: {error}")))?;
    // A cancellation already recorded stays: the first reason wins, as in the runtime.
    let entries = if run.state.contains_key(CANCEL_KEY) {
        Vec::new()
    } else {
        vec![(CANCEL_KEY.to_owned(), entry)]
    };
    let changes = Changes {
        entries,
        outcome: Some(RunOutcome::Running),
        ..Changes::default()
    };
    match store.save(run_id, record.revision, changes).await {
        Ok(_) => {}
        Err(StoreError::Leased { .. } | StoreError::Conflict { .. }) => return Err(busy()),
        Err(StoreError::UnknownRun { .. }) => return Err(unknown()),
        Err(other) => return Err(other.into()),
    }
    Ok(if json {
        let mut text = serde_json::to_string_pretty(&json!({
            "cancelled": run_id,
            "reason": cancellation.reason,
            "status": "running",
        }))
        .unwrap_or_default();
        text.push('\n');
        text
    } else {
        format!(
            "cancellation recorded for run {}; the next worker (or Engine::recover) stops it and runs its compensations\n",
            cell(run_id)
        )
    })
}
