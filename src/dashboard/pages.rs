//! The dashboard's pages, rendered to HTML strings. Every value from the store goes through
//! [`escape`] (or [`encode_component`] inside a link).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use super::html::{badge, encode_component, escape, page};
use crate::inspect::{RunSummary, StepRecord, StepStatus, Wait, WaitKind, human_age, utc_time};
use crate::store::{RunOutcome, RunRecord, RunStatus};

/// Longest JSON preview in a table cell, in characters.
const PREVIEW: usize = 300;

const STATUSES: [RunStatus; 5] = [
    RunStatus::Running,
    RunStatus::Suspended,
    RunStatus::Completed,
    RunStatus::Failed,
    RunStatus::Stopped,
];

/// The runs list, filtered by status and workflow.
pub(crate) fn runs(
    summaries: &[RunSummary],
    status: Option<RunStatus>,
    workflow: Option<&str>,
    now_ms: i64,
) -> String {
    let workflows: BTreeSet<&str> = summaries
        .iter()
        .map(|run| run.record.workflow.as_str())
        .collect();
    let shown: Vec<&RunSummary> = summaries
        .iter()
        .filter(|run| status.is_none_or(|status| run.record.status() == status))
        .filter(|run| workflow.is_none_or(|workflow| run.record.workflow == workflow))
        .collect();
    let mut body = String::from("<h1>Runs</h1><form method=\"get\" action=\"\">");
    body.push_str("<label>Status <select name=\"status\"><option value=\"\">any</option>");
    for candidate in STATUSES {
        let selected = if status == Some(candidate) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<option value=\"{0}\"{selected}>{0}</option>",
            candidate.as_str()
        );
    }
    body.push_str("</select></label> <label>Workflow <select name=\"workflow\"><option value=\"\">any</option>");
    for candidate in &workflows {
        let selected = if workflow == Some(*candidate) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<option value=\"{0}\"{selected}>{0}</option>",
            escape(candidate)
        );
    }
    body.push_str("</select></label> <button type=\"submit\">Filter</button></form>");
    let _ = write!(
        body,
        "<p class=\"muted\">{} of {} runs</p>",
        shown.len(),
        summaries.len()
    );
    body.push_str(
        "<table><thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Age</th>\
         <th>Updated</th><th>Waits on</th></tr></thead><tbody>",
    );
    for run in shown {
        let record = &run.record;
        let _ = write!(
            body,
            "<tr><td>{link}</td><td>{workflow} <span class=\"muted\">v{version}</span></td>\
             <td>{status}</td><td>{age}</td><td>{updated} ago</td><td>{waits}</td></tr>",
            link = run_link(&record.run_id),
            workflow = escape(&record.workflow),
            version = record.version,
            status = badge(record.status().as_str()),
            age = human_age(now_ms - record.created_at_ms),
            updated = human_age(now_ms - record.updated_at_ms),
            waits = waits_text(&run.waits, now_ms),
        );
    }
    body.push_str("</tbody></table>");
    page("Runs", &body)
}

/// What the run page shows besides its record.
pub(crate) struct RunDetails<'a> {
    pub(crate) record: &'a RunRecord,
    pub(crate) waits: &'a [Wait],
    pub(crate) steps: &'a [StepRecord],
    /// The Mermaid source and its HTML rendering.
    pub(crate) diagram: (String, String),
    /// Whether the diagram comes from the workflow's registered description.
    pub(crate) described: bool,
}

/// One run: its record, step timeline and diagram.
pub(crate) fn run(details: &RunDetails<'_>, now_ms: i64) -> String {
    let record = details.record;
    let mut body = format!(
        "<h1>Run <code>{}</code></h1><dl>\
         <dt>Workflow</dt><dd>{} v{}</dd><dt>Status</dt><dd>{}</dd>\
         <dt>Created</dt><dd>{} ({} ago)</dd><dt>Updated</dt><dd>{} ({} ago)</dd>\
         <dt>Revision</dt><dd>{}</dd><dt>Waits on</dt><dd>{}</dd>",
        escape(&record.run_id),
        escape(&record.workflow),
        record.version,
        badge(record.status().as_str()),
        utc_time(record.created_at_ms),
        human_age(now_ms - record.created_at_ms),
        utc_time(record.updated_at_ms),
        human_age(now_ms - record.updated_at_ms),
        record.revision,
        waits_text(details.waits, now_ms),
    );
    match &record.outcome {
        RunOutcome::Completed { result } => {
            let _ = write!(
                body,
                "<dt>Result</dt><dd><code>{}</code></dd>",
                json_preview(result)
            );
        }
        RunOutcome::Failed { error } => {
            let _ = write!(
                body,
                "<dt>Error</dt><dd><code>{}</code></dd>",
                json_preview(error)
            );
        }
        RunOutcome::Stopped { message } => {
            let _ = write!(body, "<dt>Stopped</dt><dd>{}</dd>", escape(message));
        }
        // Waiting runs show what they wait on above; a running run has nothing more to show.
        _ => {}
    }
    let _ = write!(
        body,
        "<dt>Input</dt><dd><code>{}</code></dd></dl>",
        json_preview(&record.input)
    );
    body.push_str(
        "<h2>Steps</h2><table><thead><tr><th>#</th><th>Key</th><th>Status</th>\
         <th>Recorded at</th><th>Value size</th><th>Error</th></tr></thead><tbody>",
    );
    for (index, step) in details.steps.iter().enumerate() {
        let error = match (&step.error, step.status) {
            (Some(error), StepStatus::Failed) => {
                format!("<code>{}</code>", json_preview(error))
            }
            _ => "-".to_owned(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"json\">{error}</td></tr>",
            index + 1,
            escape(&step.key),
            badge(step.status.as_str()),
            step.recorded_at_ms.map_or_else(|| "-".to_owned(), utc_time),
            step.value_bytes
                .map_or_else(|| "-".to_owned(), |bytes| format!("{bytes} B")),
        );
    }
    if details.steps.is_empty() {
        body.push_str("<tr><td colspan=\"6\" class=\"muted\">no steps recorded</td></tr>");
    }
    body.push_str("</tbody></table><h2>Diagram</h2>");
    if !details.described {
        body.push_str(
            "<p class=\"muted\">The recorded steps in order. Register the workflow's \
             description (<code>DashboardConfig::describe</code>) to see every site, reached or not.</p>",
        );
    }
    let (mermaid, flow) = &details.diagram;
    let _ = write!(
        body,
        "{flow}<details><summary>Mermaid source</summary><pre class=\"mermaid-source\">{}</pre></details>",
        escape(mermaid)
    );
    page(&format!("Run {}", record.run_id), &body)
}

/// Pending hooks and approvals, oldest request first as the store listed the runs.
pub(crate) fn hooks(waiting: &[(RunRecord, Wait)], now_ms: i64) -> String {
    let mut body = format!(
        "<h1>Pending hooks and approvals</h1><p class=\"muted\">{} waiting</p>",
        waiting.len()
    );
    body.push_str(
        "<table><thead><tr><th>Run</th><th>Workflow</th><th>Kind</th><th>Waits on</th>\
         <th>Age</th><th>Deadline</th><th>Reason</th><th>Metadata</th></tr></thead><tbody>",
    );
    for (record, wait) in waiting {
        let deadline = match wait.deadline_ms {
            None => "-".to_owned(),
            Some(deadline) if deadline <= now_ms => {
                format!(
                    "{} <span class=\"badge failed\">passed</span>",
                    utc_time(deadline)
                )
            }
            Some(deadline) => utc_time(deadline),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>\
             <td>{deadline}</td><td>{}</td><td class=\"json\"><code>{}</code></td></tr>",
            run_link(&record.run_id),
            escape(&record.workflow),
            wait.kind.as_str(),
            escape(&wait.key),
            wait.since_ms
                .map_or_else(|| "-".to_owned(), |since| human_age(now_ms - since)),
            wait.reason
                .as_deref()
                .map_or_else(|| "-".to_owned(), escape),
            wait.metadata
                .as_ref()
                .map_or_else(|| "-".to_owned(), json_preview),
        );
    }
    if waiting.is_empty() {
        body.push_str("<tr><td colspan=\"8\" class=\"muted\">nothing is waiting</td></tr>");
    }
    body.push_str("</tbody></table>");
    page("Hooks & approvals", &body)
}

/// A page for a request the dashboard cannot answer: unknown run, bad filter, store failure.
pub(crate) fn problem(title: &str, message: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p><a href=\"?\">Back to the runs</a></p>",
            escape(title),
            escape(message)
        ),
    )
}

fn run_link(run_id: &str) -> String {
    format!(
        "<a href=\"?run={}\"><code>{}</code></a>",
        encode_component(run_id),
        escape(run_id)
    )
}

fn waits_text(waits: &[Wait], now_ms: i64) -> String {
    if waits.is_empty() {
        return "-".to_owned();
    }
    waits
        .iter()
        .map(|wait| {
            let overdue = if wait.is_overdue(now_ms) {
                let what = if wait.kind == WaitKind::Sleep {
                    "due"
                } else {
                    "overdue"
                };
                format!(" <span class=\"badge failed\">{what}</span>")
            } else {
                String::new()
            };
            format!("{} <code>{}</code>{overdue}", wait.kind, escape(&wait.key))
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn json_preview(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= PREVIEW {
        return escape(&text);
    }
    let cut: String = text.chars().take(PREVIEW).collect();
    format!("{}…", escape(&cut))
}
