//! The tool's commands: each reads the store and renders a table, or JSON for scripts. The text
//! returned is printed by [`super::console::Console`], which escapes it; cells and detail lines
//! are escaped here as well, so that a line feed in a stored value cannot forge a line.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::CliError;
use super::table::Table;
use crate::inspect::{
    self, RunSummary, StepRecord, StepStatus, Wait, WaitKind, human_age, utc_time,
};
use crate::store::{RunOutcome, RunRecord, RunStatus, Store};

/// `runs --status … --workflow …`.
#[derive(Default)]
pub(crate) struct RunFilter {
    status: Option<RunStatus>,
    workflow: Option<String>,
}

impl RunFilter {
    /// The filter for these flags; an unknown status is [`CliError::UnknownStatus`].
    pub(crate) fn parse(status: Option<&str>, workflow: Option<&str>) -> Result<Self, CliError> {
        let status = match status {
            None => None,
            Some(text) => Some(
                RunStatus::parse(text).ok_or_else(|| CliError::UnknownStatus {
                    status: text.to_owned(),
                })?,
            ),
        };
        Ok(Self {
            status,
            workflow: workflow.map(str::to_owned),
        })
    }

    fn keeps(&self, record: &RunRecord) -> bool {
        self.status.is_none_or(|status| record.status() == status)
            && self
                .workflow
                .as_ref()
                .is_none_or(|workflow| record.workflow == *workflow)
    }
}

/// `runs`: every run the filter keeps, as a table or JSON.
pub(crate) async fn runs(
    store: &dyn Store,
    filter: &RunFilter,
    now_ms: u64,
    json: bool,
) -> Result<String, CliError> {
    let runs: Vec<RunSummary> = inspect::survey(store)
        .await?
        .into_iter()
        .filter(|run| filter.keeps(&run.record))
        .collect();
    if json {
        let runs: Vec<Value> = runs
            .iter()
            .map(|run| run_json(&run.record, &run.waits, now_ms))
            .collect();
        return Ok(pretty(&Value::Array(runs)));
    }
    if runs.is_empty() {
        return Ok("no runs\n".to_owned());
    }
    let mut table = Table::new(&[
        "RUN", "WORKFLOW", "VERSION", "STATUS", "AGE", "UPDATED", "WAITS ON",
    ]);
    for run in &runs {
        let record = &run.record;
        table.row(vec![
            record.run_id.clone(),
            record.workflow.clone(),
            record.version.to_string(),
            record.status().as_str().to_owned(),
            human_age(now_ms, record.created_at_ms),
            format!("{} ago", human_age(now_ms, record.updated_at_ms)),
            waits_on(&run.waits),
        ]);
    }
    Ok(table.render())
}

/// `run ID`: one run's details and steps, as text or JSON.
pub(crate) async fn run(
    store: &dyn Store,
    run_id: &str,
    now_ms: u64,
    json: bool,
) -> Result<String, CliError> {
    let Some(run) = store.load_run(run_id).await? else {
        return Err(CliError::UnknownRun {
            run_id: run_id.to_owned(),
        });
    };
    let hooks = store.pending_hooks().await?;
    let waits = inspect::waits_of(&run.record, &run.state, &hooks);
    let steps = inspect::steps_of(&run.state, now_ms);
    let constructs =
        inspect::constructs_of(store, run_id, &run.state, &run.record.outcome, now_ms).await?;
    if json {
        let mut value = run_json(&run.record, &waits, now_ms);
        value["outcome"] = serde_json::to_value(&run.record.outcome).unwrap_or_default();
        value["steps"] = steps.iter().map(step_json).collect();
        super::constructs::add_json(&mut value, &constructs);
        return Ok(pretty(&value));
    }
    let record = &run.record;
    let mut text = format!(
        "run       {}\nworkflow  {} v{}\nstatus    {}\ncreated   {} ({} ago)\nupdated   {} ({} ago)\n",
        super::table::cell(&record.run_id),
        super::table::cell(&record.workflow),
        record.version,
        record.status().as_str(),
        utc_time(record.created_at_ms),
        human_age(now_ms, record.created_at_ms),
        utc_time(record.updated_at_ms),
        human_age(now_ms, record.updated_at_ms),
    );
    match &record.outcome {
        RunOutcome::Failed { error } => {
            let _ = writeln!(text, "error     {}", super::table::cell(&error.to_string()));
        }
        RunOutcome::Stopped { message } => {
            let _ = writeln!(text, "stopped   {}", super::table::cell(message));
        }
        _ => {}
    }
    if !waits.is_empty() {
        let _ = writeln!(text, "waits on  {}", super::table::cell(&waits_on(&waits)));
    }
    super::constructs::add_lines(&mut text, &constructs);
    text.push('\n');
    if steps.is_empty() {
        text.push_str("no steps recorded\n");
        return Ok(text);
    }
    let mut table = Table::new(&["KEY", "STATUS", "RECORDED AT", "VALUE", "ERROR"]);
    for step in &steps {
        table.row(vec![
            step.key.clone(),
            step.status.as_str().to_owned(),
            step.recorded_at_ms.map_or_else(|| "-".to_owned(), utc_time),
            step.value_bytes
                .map_or_else(|| "-".to_owned(), |bytes| format!("{bytes} B")),
            match (&step.error, step.status) {
                (Some(error), StepStatus::Failed) => error.to_string(),
                _ => "-".to_owned(),
            },
        ]);
    }
    text.push_str(&table.render());
    Ok(text)
}

/// `hooks`: every pending hook and approval.
pub(crate) async fn hooks(store: &dyn Store, now_ms: u64, json: bool) -> Result<String, CliError> {
    let waiting = waits_where(store, |wait| wait.kind != WaitKind::Sleep).await?;
    if json {
        let rows: Vec<Value> = waiting
            .iter()
            .map(|(record, wait)| {
                let mut value = wait_json(wait, now_ms);
                value["run_id"] = json!(record.run_id);
                value["workflow"] = json!(record.workflow);
                value
            })
            .collect();
        return Ok(pretty(&Value::Array(rows)));
    }
    if waiting.is_empty() {
        return Ok("no pending hooks or approvals\n".to_owned());
    }
    let mut table = Table::new(&[
        "RUN", "WORKFLOW", "KIND", "WAITS ON", "AGE", "DEADLINE", "REASON", "METADATA",
    ]);
    for (record, wait) in &waiting {
        table.row(vec![
            record.run_id.clone(),
            record.workflow.clone(),
            wait.kind.as_str().to_owned(),
            wait.key.clone(),
            wait.since_ms
                .map_or_else(|| "-".to_owned(), |since| human_age(now_ms, since)),
            deadline_cell(wait, now_ms),
            wait.reason.clone().unwrap_or_else(|| "-".to_owned()),
            wait.metadata
                .as_ref()
                .map_or_else(|| "-".to_owned(), Value::to_string),
        ]);
    }
    Ok(table.render())
}

/// `stuck`: every wait past its deadline, or a sleep that is due.
pub(crate) async fn stuck(store: &dyn Store, now_ms: u64, json: bool) -> Result<String, CliError> {
    let stuck = waits_where(store, |wait| wait.is_overdue(now_ms)).await?;
    if json {
        let rows: Vec<Value> = stuck
            .iter()
            .map(|(record, wait)| {
                let mut value = wait_json(wait, now_ms);
                value["run_id"] = json!(record.run_id);
                value["workflow"] = json!(record.workflow);
                value["status"] = json!(record.status().as_str());
                value
            })
            .collect();
        return Ok(pretty(&Value::Array(rows)));
    }
    if stuck.is_empty() {
        return Ok("no stuck runs\n".to_owned());
    }
    let mut table = Table::new(&[
        "RUN",
        "WORKFLOW",
        "STATUS",
        "KIND",
        "WAITS ON",
        "DUE",
        "OVERDUE BY",
    ]);
    for (record, wait) in &stuck {
        let due = wait.deadline_ms.unwrap_or(now_ms);
        table.row(vec![
            record.run_id.clone(),
            record.workflow.clone(),
            record.status().as_str().to_owned(),
            wait.kind.as_str().to_owned(),
            wait.key.clone(),
            utc_time(due),
            human_age(now_ms, due),
        ]);
    }
    Ok(table.render())
}

/// `delete-run ID --yes`: deletes the run.
pub(crate) async fn delete_run(
    store: &dyn Store,
    run_id: &str,
    json: bool,
) -> Result<String, CliError> {
    if !store.delete_run(run_id).await? {
        return Err(CliError::UnknownRun {
            run_id: run_id.to_owned(),
        });
    }
    Ok(if json {
        pretty(&json!({ "deleted": run_id }))
    } else {
        format!("deleted run {}\n", super::table::cell(run_id))
    })
}

fn waits_on(waits: &[Wait]) -> String {
    if waits.is_empty() {
        return "-".to_owned();
    }
    waits
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn deadline_cell(wait: &Wait, now_ms: u64) -> String {
    match wait.deadline_ms {
        None => "-".to_owned(),
        Some(deadline) if deadline <= now_ms => format!("{} (passed)", utc_time(deadline)),
        Some(deadline) => utc_time(deadline),
    }
}

fn run_json(record: &RunRecord, waits: &[Wait], now_ms: u64) -> Value {
    json!({
        "run_id": record.run_id,
        "workflow": record.workflow,
        "version": record.version,
        "status": record.status().as_str(),
        "revision": record.revision,
        "created_at_ms": record.created_at_ms,
        "updated_at_ms": record.updated_at_ms,
        "age_ms": now_ms - record.created_at_ms,
        "waits": waits.iter().map(|wait| wait_json(wait, now_ms)).collect::<Vec<_>>(),
    })
}

fn wait_json(wait: &Wait, now_ms: u64) -> Value {
    json!({
        "kind": wait.kind.as_str(),
        "key": wait.key,
        "since_ms": wait.since_ms,
        "age_ms": wait.since_ms.map(|since| now_ms - since),
        "deadline_ms": wait.deadline_ms,
        "overdue": wait.is_overdue(now_ms),
        "reason": wait.reason,
        "metadata": wait.metadata,
    })
}

fn step_json(step: &StepRecord) -> Value {
    json!({
        "key": step.key,
        "status": step.status.as_str(),
        "recorded_at_ms": step.recorded_at_ms,
        "value_bytes": step.value_bytes,
        "error": step.error,
    })
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Every wait of every unfinished run that `keep` selects, with its run.
async fn waits_where(
    store: &dyn Store,
    keep: impl Fn(&Wait) -> bool,
) -> Result<Vec<(RunRecord, Wait)>, CliError> {
    Ok(inspect::survey(store)
        .await?
        .into_iter()
        .flat_map(|run| {
            let record = run.record;
            run.waits
                .into_iter()
                .filter(|wait| keep(wait))
                .map(move |wait| (record.clone(), wait))
                .collect::<Vec<_>>()
        })
        .collect())
}
