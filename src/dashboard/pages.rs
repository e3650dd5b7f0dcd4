//! The dashboard's pages, as `maud` templates. maud escapes every spliced value; values from the
//! store are spliced as [`Text`] (which also shows control characters), or through
//! [`encode_component`] inside a link.

use std::collections::BTreeSet;

use maud::{Markup, html};
use serde_json::Value;

use super::html::{Text, badge, encode_component, page};
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
    now_ms: u64,
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
    let body = html! {
        h1 { "Runs" }
        form method="get" action="" {
            label {
                "Status "
                select name="status" {
                    option value="" { "any" }
                    @for candidate in STATUSES {
                        option value=(candidate.as_str()) selected[status == Some(candidate)] {
                            (candidate.as_str())
                        }
                    }
                }
            }
            " "
            label {
                "Workflow "
                select name="workflow" {
                    option value="" { "any" }
                    @for candidate in &workflows {
                        option value=(Text(candidate)) selected[workflow == Some(*candidate)] {
                            (Text(candidate))
                        }
                    }
                }
            }
            " "
            button type="submit" { "Filter" }
        }
        p class="muted" { (shown.len()) " of " (summaries.len()) " runs" }
        table {
            thead {
                tr { th { "Run" } th { "Workflow" } th { "Status" } th { "Age" } th { "Updated" } th { "Waits on" } }
            }
            tbody {
                @for run in shown {
                    @let record = &run.record;
                    tr {
                        td { (run_link(&record.run_id)) }
                        td { (Text(&record.workflow)) " " span class="muted" { "v" (record.version) } }
                        td { (badge(record.status().as_str())) }
                        td { (human_age(now_ms, record.created_at_ms)) }
                        td { (human_age(now_ms, record.updated_at_ms)) " ago" }
                        td { (waits_text(&run.waits, now_ms)) }
                    }
                }
            }
        }
    };
    page("Runs", &body)
}

/// What the run page shows besides its record.
pub(crate) struct RunDetails<'a> {
    pub(crate) record: &'a RunRecord,
    pub(crate) waits: &'a [Wait],
    pub(crate) steps: &'a [StepRecord],
    /// Fan-out progress, children, compensations and cancellation.
    pub(crate) constructs: &'a crate::inspect::Constructs,
    /// The Mermaid source and its HTML rendering.
    pub(crate) diagram: (String, Markup),
    /// Whether the diagram comes from the workflow's registered description.
    pub(crate) described: bool,
}

/// One run: its record, step timeline and diagram.
pub(crate) fn run(details: &RunDetails<'_>, now_ms: u64) -> String {
    let record = details.record;
    let (mermaid, flow) = &details.diagram;
    let body = html! {
        h1 { "Run " code { (Text(&record.run_id)) } }
        dl {
            dt { "Workflow" } dd { (Text(&record.workflow)) " v" (record.version) }
            dt { "Status" } dd { (badge(record.status().as_str())) }
            dt { "Created" }
            dd { (utc_time(record.created_at_ms)) " (" (human_age(now_ms, record.created_at_ms)) " ago)" }
            dt { "Updated" }
            dd { (utc_time(record.updated_at_ms)) " (" (human_age(now_ms, record.updated_at_ms)) " ago)" }
            dt { "Revision" } dd { (record.revision) }
            dt { "Waits on" } dd { (waits_text(details.waits, now_ms)) }
            @match &record.outcome {
                RunOutcome::Completed { result } => {
                    dt { "Result" } dd { code { (json_preview(result)) } }
                }
                RunOutcome::Failed { error } => {
                    dt { "Error" } dd { code { (json_preview(error)) } }
                }
                RunOutcome::Stopped { message } => {
                    dt { "Stopped" } dd { (Text(message)) }
                }
                // Waiting runs show what they wait on above; a running run has nothing more to show.
                _ => {}
            }
            dt { "Input" } dd { code { (json_preview(&record.input)) } }
        }
        (super::constructs::section(details.constructs, run_link))
        h2 { "Steps" }
        table {
            thead {
                tr { th { "#" } th { "Key" } th { "Status" } th { "Recorded at" } th { "Value size" } th { "Error" } }
            }
            tbody {
                @for (index, step) in details.steps.iter().enumerate() {
                    tr {
                        td { (index + 1) }
                        td { code { (Text(&step.key)) } }
                        td { (badge(step.status.as_str())) }
                        td {
                            @if let Some(at) = step.recorded_at_ms { (utc_time(at)) } @else { "-" }
                        }
                        td {
                            @if let Some(bytes) = step.value_bytes { (bytes) " B" } @else { "-" }
                        }
                        td class="json" {
                            @match (&step.error, step.status) {
                                (Some(error), StepStatus::Failed) => { code { (json_preview(error)) } }
                                _ => { "-" }
                            }
                        }
                    }
                }
                @if details.steps.is_empty() {
                    tr { td colspan="6" class="muted" { "no steps recorded" } }
                }
            }
        }
        h2 { "Diagram" }
        @if !details.described {
            p class="muted" {
                "The recorded steps in order. Register the workflow's description ("
                code { "DashboardConfig::describe" }
                ") to see every site, reached or not."
            }
        }
        (flow)
        details {
            summary { "Mermaid source" }
            pre class="mermaid-source" { (Text(mermaid)) }
        }
    };
    page(&format!("Run {}", record.run_id), &body)
}

/// Pending hooks and approvals, oldest request first as the store listed the runs.
pub(crate) fn hooks(waiting: &[(RunRecord, Wait)], now_ms: u64) -> String {
    let body = html! {
        h1 { "Pending hooks and approvals" }
        p class="muted" { (waiting.len()) " waiting" }
        table {
            thead {
                tr {
                    th { "Run" } th { "Workflow" } th { "Kind" } th { "Waits on" }
                    th { "Age" } th { "Deadline" } th { "Reason" } th { "Metadata" }
                }
            }
            tbody {
                @for (record, wait) in waiting {
                    tr {
                        td { (run_link(&record.run_id)) }
                        td { (Text(&record.workflow)) }
                        td { (wait.kind.as_str()) }
                        td { code { (Text(&wait.key)) } }
                        td {
                            @if let Some(since) = wait.since_ms { (human_age(now_ms, since)) } @else { "-" }
                        }
                        td {
                            @if let Some(deadline) = wait.deadline_ms {
                                (utc_time(deadline))
                                @if deadline <= now_ms { " " span class="badge failed" { "passed" } }
                            } @else {
                                "-"
                            }
                        }
                        td {
                            @if let Some(reason) = &wait.reason { (Text(reason)) } @else { "-" }
                        }
                        td class="json" {
                            code {
                                @if let Some(metadata) = &wait.metadata { (json_preview(metadata)) } @else { "-" }
                            }
                        }
                    }
                }
                @if waiting.is_empty() {
                    tr { td colspan="8" class="muted" { "nothing is waiting" } }
                }
            }
        }
    };
    page("Hooks & approvals", &body)
}

/// A page for a request the dashboard cannot answer: unknown run, bad filter, store failure.
pub(crate) fn problem(title: &str, message: &str) -> String {
    let body = html! {
        h1 { (Text(title)) }
        p { (Text(message)) }
        p { a href="?" { "Back to the runs" } }
    };
    page(title, &body)
}

fn run_link(run_id: &str) -> Markup {
    html! { a href={ "?run=" (encode_component(run_id)) } { code { (Text(run_id)) } } }
}

fn waits_text(waits: &[Wait], now_ms: u64) -> Markup {
    html! {
        @if waits.is_empty() { "-" }
        @for (index, wait) in waits.iter().enumerate() {
            @if index > 0 { br; }
            (wait.kind.as_str()) " " code { (Text(&wait.key)) }
            @if wait.is_overdue(now_ms) {
                " "
                span class="badge failed" {
                    @if wait.kind == WaitKind::Sleep { "due" } @else { "overdue" }
                }
            }
        }
    }
}

fn json_preview(value: &Value) -> Markup {
    let text = value.to_string();
    if text.chars().count() <= PREVIEW {
        return html! { (Text(&text)) };
    }
    let cut: String = text.chars().take(PREVIEW).collect();
    html! { (Text(&cut)) "…" }
}
