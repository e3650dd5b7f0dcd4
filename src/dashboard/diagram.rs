//! A run's diagram twice over: the Mermaid source (for copying into any Mermaid renderer) and a
//! server-side HTML flow of the same nodes, coloured by status, visible without JavaScript.

use std::fmt::Write as _;

use awaitly_runtime::{ResumeState, SiteStatus, WorkflowDescription, site_status};
use maud::{Markup, html};

use super::html::Text;
use crate::inspect::{StepRecord, StepStatus};

/// One node of the flow: its label, its CSS class and the status text shown on it.
struct Node {
    label: String,
    class: &'static str,
    status: String,
}

/// The Mermaid source and the HTML flow of a run drawn over its workflow's description.
pub(crate) fn described(
    description: &WorkflowDescription,
    run_id: &str,
    state: &ResumeState,
    now_ms: u64,
) -> (String, Markup) {
    let mermaid = description.to_mermaid_with_durable_run(run_id, state, now_ms);
    let nodes: Vec<Node> = description
        .sites
        .iter()
        .map(|site| {
            let mut label = format!("{} {}", site.kind, site.key);
            if site.per_item {
                label.push_str("[item]");
            }
            if site.in_loop {
                label.push_str(" (in loop)");
            }
            if site.in_branch {
                label.push_str(" (in branch)");
            }
            let status = site_status(description, site, state, now_ms);
            Node {
                label,
                class: site_class(&status),
                status: status.to_string(),
            }
        })
        .collect();
    (mermaid, flow(description.name, &nodes))
}

/// For a workflow whose description the application did not register: the recorded steps in
/// recording order (sites never reached are unknown, so not drawn).
pub(crate) fn recorded(workflow: &str, steps: &[StepRecord]) -> (String, Markup) {
    let nodes: Vec<Node> = steps
        .iter()
        .map(|step| Node {
            label: step.key.clone(),
            class: step_class(step.status),
            status: step.status.as_str().to_owned(),
        })
        .collect();
    let mut mermaid = String::from("flowchart TD\n");
    let _ = writeln!(mermaid, "    start([\"{}\"])", mermaid_label(workflow));
    let mut previous = "start".to_owned();
    let mut classes = String::new();
    for (index, node) in nodes.iter().enumerate() {
        let id = format!("step{index}");
        let _ = writeln!(mermaid, "    {id}[\"{}\"]", mermaid_label(&node.label));
        let _ = writeln!(mermaid, "    {previous} --> {id}");
        let _ = writeln!(classes, "    class {id} {}", node.class);
        previous = id;
    }
    if !classes.is_empty() {
        mermaid.push_str("    classDef completed fill:#d7f5dd,stroke:#2e7d32\n");
        mermaid.push_str("    classDef failed fill:#fbe0e0,stroke:#c62828\n");
        mermaid.push_str("    classDef pending fill:#fff4cc,stroke:#b7950b\n");
        mermaid.push_str(&classes);
    }
    (mermaid, flow(workflow, &nodes))
}

fn site_class(status: &SiteStatus) -> &'static str {
    match status {
        SiteStatus::Completed => "completed",
        SiteStatus::Failed => "failed",
        SiteStatus::Pending { .. } | SiteStatus::Partial { .. } => "pending",
        _ => "notReached",
    }
}

fn step_class(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Failed => "failed",
        StepStatus::Waiting | StepStatus::Sleeping => "pending",
        StepStatus::Completed
        | StepStatus::Approved
        | StepStatus::HookCreated
        | StepStatus::Slept => "completed",
    }
}

fn flow(workflow: &str, nodes: &[Node]) -> Markup {
    html! {
        ol class="flow" aria-label="diagram" {
            li class="start" { strong { (Text(workflow)) } }
            @for node in nodes {
                li class=(node.class) {
                    strong { (Text(&node.label)) }
                    " "
                    span class={ "badge " (node.class) } { (Text(&node.status)) }
                }
            }
        }
    }
}

/// Text safe inside a quoted Mermaid label (Mermaid's `#quot;` entities).
fn mermaid_label(text: &str) -> String {
    let mut label = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => label.push_str("#quot;"),
            '<' => label.push_str("#lt;"),
            '>' => label.push_str("#gt;"),
            '&' => label.push_str("#amp;"),
            control if control.is_control() => label.push(' '),
            other => label.push(other),
        }
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_steps_become_classed_nodes() {
        let steps = vec![
            StepRecord {
                key: "load \"x\"".into(),
                status: StepStatus::Completed,
                recorded_at_ms: None,
                value_bytes: Some(1),
                error: None,
            },
            StepRecord {
                key: "hook:h1".into(),
                status: StepStatus::Waiting,
                recorded_at_ms: None,
                value_bytes: None,
                error: None,
            },
        ];
        let (mermaid, html) = recorded("checkout", &steps);
        let html = html.into_string();
        assert!(
            mermaid.contains("step0[\"load #quot;x#quot;\"]"),
            "{mermaid}"
        );
        assert!(mermaid.contains("class step1 pending"), "{mermaid}");
        assert!(
            html.contains("<li class=\"pending\"><strong>hook:h1</strong>"),
            "{html}"
        );
        assert!(html.contains("load &quot;x&quot;"), "{html}");
    }
}
