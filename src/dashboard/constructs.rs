//! The run page's section on what the run's constructs recorded: each fan-out's progress (a bar
//! and the numbers), the child runs (linked to their pages), the compensations and the
//! cancellation. Every stored value is rendered through [`Text`], which escapes it.

use maud::{Markup, html};

use super::html::Text;
use crate::inspect::Constructs;

/// The section, or nothing when the run recorded no construct worth showing.
pub(crate) fn section(constructs: &Constructs, run_link: impl Fn(&str) -> Markup) -> Markup {
    let empty = constructs.fan_outs.is_empty()
        && constructs.children.is_empty()
        && constructs.compensations.is_empty()
        && constructs.cancellation.is_none();
    html! {
        @if !empty {
            h2 { "Constructs" }
            @if let Some(cancellation) = &constructs.cancellation {
                p class="cancellation" {
                    (super::html::badge("cancelled"))
                    @if let Some(reason) = &cancellation.reason { " " (Text(reason)) }
                }
            }
            @for progress in &constructs.fan_outs {
                div class="fan-out" {
                    "Fan-out " code { (Text(&progress.key)) } ": "
                    (progress.done) " done / " (progress.in_flight) " in flight / "
                    (progress.pending) " pending"
                    // Widths in whole percent of the items; style-src allows inline styles.
                    div class="bar" role="img" aria-label={ (progress.done) " of " (progress.items) " done" } {
                        span class="done" style={ "width:" (percent(progress.done, progress.items)) "%" } {}
                        span class="in-flight" style={ "width:" (percent(progress.in_flight, progress.items)) "%" } {}
                    }
                }
            }
            @if !constructs.children.is_empty() {
                h3 { "Children" }
                ul class="children" {
                    @for child in &constructs.children {
                        li {
                            code { (Text(&child.key)) } " → " (run_link(&child.run_id))
                            @if let Some(workflow) = &child.workflow { " (" (Text(workflow)) ")" }
                            @if child.waiting { " waiting" } @else { " delivered" }
                        }
                    }
                }
            }
            @if !constructs.compensations.is_empty() {
                h3 { "Compensations" }
                ul class="compensations" {
                    @for undo in &constructs.compensations {
                        li {
                            code { (Text(&undo.step_key)) } " "
                            @match &undo.error {
                                None => { (super::html::badge("undone")) }
                                Some(error) => {
                                    (super::html::badge("undo-failed")) " " code { (Text(&error.to_string())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    part.saturating_mul(100) / whole
}
