//! The lines `run ID` prints about a run's constructs — each fan-out's progress, its children,
//! the compensations it ran, its cancellation — and the same as JSON. Every stored value passes
//! through [`cell`], which escapes it, so a key or a reason cannot forge a line.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::table::cell;
use crate::inspect::Constructs;

/// Appends one line per fan-out, child, compensation and the cancellation to `text`.
pub(crate) fn add_lines(text: &mut String, constructs: &Constructs) {
    for progress in &constructs.fan_outs {
        let _ = writeln!(text, "fan-out   {}: {progress}", cell(&progress.key));
    }
    for child in &constructs.children {
        let workflow = child
            .workflow
            .as_ref()
            .map(|workflow| format!(" (workflow {})", cell(workflow)))
            .unwrap_or_default();
        let state = if child.waiting {
            "waiting"
        } else {
            "delivered"
        };
        let _ = writeln!(
            text,
            "child     {} -> run {}{workflow}, {state}",
            cell(&child.key),
            cell(&child.run_id)
        );
    }
    for undo in &constructs.compensations {
        match &undo.error {
            None => {
                let _ = writeln!(text, "undone    {}", cell(&undo.step_key));
            }
            Some(error) => {
                let _ = writeln!(
                    text,
                    "undo failed {}: {}",
                    cell(&undo.step_key),
                    cell(&error.to_string())
                );
            }
        }
    }
    if let Some(cancellation) = &constructs.cancellation {
        let reason = cancellation
            .reason
            .as_deref()
            .map(|reason| format!(": {}", cell(reason)))
            .unwrap_or_default();
        let _ = writeln!(text, "cancelled{reason}");
    }
}

/// Adds `fan_outs`, `children`, `compensations` and `cancellation` to a run's JSON.
pub(crate) fn add_json(value: &mut Value, constructs: &Constructs) {
    value["fan_outs"] = constructs
        .fan_outs
        .iter()
        .map(|progress| {
            json!({
                "key": progress.key,
                "items": progress.items,
                "done": progress.done,
                "in_flight": progress.in_flight,
                "pending": progress.pending,
            })
        })
        .collect();
    value["children"] = constructs
        .children
        .iter()
        .map(|child| {
            json!({
                "key": child.key,
                "run_id": child.run_id,
                "workflow": child.workflow,
                "waiting": child.waiting,
            })
        })
        .collect();
    value["compensations"] = constructs
        .compensations
        .iter()
        .map(|undo| json!({ "step_key": undo.step_key, "ok": undo.error.is_none(), "error": undo.error }))
        .collect();
    value["cancellation"] = constructs.cancellation.as_ref().map_or(
        Value::Null,
        |cancellation| json!({ "reason": cancellation.reason }),
    );
}
