//! The Mermaid flowchart of a description, alone or with a run drawn over it. Sites follow each
//! other in source order; a parallel construct or a race is a fork into its branches (each edge
//! labelled with the branch's name) and a join (a race's labelled with its winner once recorded);
//! a fan-out is a fork labelled with its progress into one lane, "each item", and a join; a child
//! names its workflow and run. Over a run, an undone step says so, and a cancelled run ends in a
//! node that says it was cancelled.

use std::fmt::Write as _;

use super::{SiteStatus, belongs_to, escape, site_status};
use crate::ChildRequest;
use crate::cancel::{CANCEL_KEY, Cancellation};
use crate::compat::{classify, parse_key};
use crate::glue::strip_scopes;
use crate::hook::MaybePendingHook;
use crate::key::{HOOK_KEY_PREFIX, RUN_KEY_PREFIX};
use crate::progress::{FanOutProgress, fan_out_progress};
use crate::site::{Site, SiteKind, WorkflowDescription};
use crate::state::ResumeState;

/// Where the undo of a compensated step is recorded: `run:undo:<step key>`.
const UNDO_PREFIX: &str = "undo:";

impl WorkflowDescription {
    /// The workflow as a Mermaid flowchart: its sites in source order, marked when they sit in a
    /// loop or a branch; constructs as forks and joins, children as subroutines.
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn checkout(hook: awaitly::HookId) -> Result<u32, String> {
    ///     let paid: u32 = awaitly::await_hook!(hook);
    ///     awaitly::step!("ship", Ok::<u32, String>(paid))
    /// }
    /// let chart = checkout("h".into()).description().to_mermaid();
    /// assert!(chart.starts_with("flowchart TD"));
    /// assert!(chart.contains(r#"site1["step ship"]"#));
    /// ```
    #[must_use]
    pub fn to_mermaid(&self) -> String {
        Chart::new(self, None).render()
    }

    /// The flowchart with a run drawn over it: every site classed `completed`, `failed`,
    /// `pending`, `partial` (done in some items of its fan-out) or `notReached`, pending ones
    /// labelled with what they wait on and for how long (`now_ms` is the current time,
    /// milliseconds since the Unix epoch); fan-outs with their progress, races with their winner,
    /// undone steps classed `undone` (or `undoFailed`), a cancelled run's end `cancelled`.
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn checkout(hook: awaitly::HookId) -> Result<u32, String> {
    ///     let paid: u32 = awaitly::await_hook!(hook);
    ///     awaitly::step!("ship", Ok::<u32, String>(paid))
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let run = checkout("h1".into()).start().await;
    /// let chart = checkout("h1".into()).description().to_mermaid_with_run(&run.state, u64::MAX);
    /// assert!(chart.contains("class site0 pending"));
    /// assert!(chart.contains("class site1 notReached"));
    /// # });
    /// ```
    #[must_use]
    pub fn to_mermaid_with_run(&self, state: &ResumeState, now_ms: u64) -> String {
        Chart::new(
            self,
            Some(Overlay {
                state,
                now_ms,
                run_id: None,
            }),
        )
        .render()
    }

    /// [`to_mermaid_with_run`](Self::to_mermaid_with_run) for a durable run `run_id`: each child
    /// node also names its child's run id (`<run id>/<key>`).
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn order() -> Result<u32, String> {
    ///     let paid: Result<u32, awaitly::ChildError<String>> = awaitly::child!("pay", "payment", &7_u32);
    ///     paid.map_err(|error| error.to_string())
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let run = order().start().await;
    /// let chart = order().description().to_mermaid_with_durable_run("o-1", &run.state, 0);
    /// assert!(chart.contains("workflow payment<br/>run o-1/pay"));
    /// # });
    /// ```
    #[must_use]
    pub fn to_mermaid_with_durable_run(
        &self,
        run_id: &str,
        state: &ResumeState,
        now_ms: u64,
    ) -> String {
        let run = Overlay {
            state,
            now_ms,
            run_id: Some(run_id),
        };
        Chart::new(self, Some(run)).render()
    }
}

/// The run a chart is drawn over.
struct Overlay<'a> {
    state: &'a ResumeState,
    now_ms: u64,
    run_id: Option<&'a str>,
}

struct Chart<'a> {
    description: &'a WorkflowDescription,
    run: Option<Overlay<'a>>,
    progress: Vec<FanOutProgress>,
    lines: String,
    classes: String,
}

impl<'a> Chart<'a> {
    fn new(description: &'a WorkflowDescription, run: Option<Overlay<'a>>) -> Self {
        let progress = run.as_ref().map_or_else(Vec::new, |run| {
            fan_out_progress(description, run.state, run.now_ms)
        });
        Self {
            description,
            run,
            progress,
            lines: String::from("flowchart TD\n"),
            classes: String::new(),
        }
    }

    fn render(mut self) -> String {
        let _ = writeln!(
            self.lines,
            "    start([\"{}\"])",
            escape(self.description.name)
        );
        let (last, _) = self.sequence(None, "", "start".to_owned(), None);
        let cancellation = self.run.as_ref().and_then(|run| {
            let entry = run.state.get(CANCEL_KEY)?;
            entry.decode_value::<Cancellation>()?.ok()
        });
        match cancellation {
            Some(cancellation) => {
                let mut label = "cancelled".to_owned();
                if let Some(reason) = &cancellation.reason {
                    let _ = write!(label, ": {}", escape(reason));
                }
                let _ = writeln!(self.lines, "    finish([\"{label}\"])");
                let _ = writeln!(self.classes, "    class finish cancelled");
            }
            None => {
                let _ = writeln!(self.lines, "    finish([\"end\"])");
            }
        }
        let _ = writeln!(self.lines, "    {last} --> finish");
        if self.run.is_some() {
            for class in [
                "completed fill:#d7f5dd,stroke:#2e7d32",
                "failed fill:#fbe0e0,stroke:#c62828",
                "pending fill:#fff4cc,stroke:#b7950b",
                "partial fill:#e3f0fc,stroke:#1565c0",
                "notReached fill:#f2f2f2,stroke:#9e9e9e,stroke-dasharray:4",
                "undone fill:#ede3f6,stroke:#6a1b9a",
                "undoFailed fill:#fbe0e0,stroke:#6a1b9a,stroke-width:3px",
                "cancelled fill:#eeeeee,stroke:#424242,stroke-width:3px",
            ] {
                let _ = writeln!(self.lines, "    classDef {class}");
            }
            self.lines.push_str(&self.classes);
        }
        self.lines
    }

    /// Draws the sites in `parent`'s body (the workflow's body for `None`) that belong to
    /// `branch`, one after the other, the first after `from` (its edge labelled `edge`); returns
    /// the last node drawn, and `edge` when nothing was drawn (for the edge to the join).
    fn sequence<'e>(
        &mut self,
        parent: Option<usize>,
        branch: &str,
        from: String,
        edge: Option<&'e str>,
    ) -> (String, Option<&'e str>) {
        let members: Vec<usize> = (0..self.description.sites.len())
            .filter(|index| {
                let site = &self.description.sites[*index];
                match (site.parent, parent) {
                    (None, None) => true,
                    (Some((at, name)), Some(parent)) => usize::from(at) == parent && name == branch,
                    _ => false,
                }
            })
            .collect();
        let mut previous = from;
        let mut edge = edge;
        for index in members {
            let node = format!("site{index}");
            self.node(index);
            self.edge(&previous, &node, edge.take());
            previous = self.construct(index);
        }
        (previous, edge)
    }

    /// Draws the inside of the site at `index` if it is a construct (its branches or item lane
    /// and its join); returns the node the next site follows.
    fn construct(&mut self, index: usize) -> String {
        let site = &self.description.sites[index];
        let fork = format!("site{index}");
        let branches: Vec<&'static str> = match site.kind {
            SiteKind::Parallel | SiteKind::Race => {
                let mut names: Vec<&'static str> = Vec::new();
                for other in self.description.sites {
                    if let Some((at, name)) = other.parent
                        && usize::from(at) == index
                        && !names.contains(&name)
                    {
                        names.push(name);
                    }
                }
                names
            }
            SiteKind::FanOut => vec![""],
            _ => return fork,
        };
        let join = format!("site{index}join");
        let label = match site.kind {
            SiteKind::Race => match self.winners(site).as_slice() {
                [] => "first to finish".to_owned(),
                winners => format!("winner: {}", escape(&winners.join(", "))),
            },
            SiteKind::FanOut => "all items".to_owned(),
            _ => "join".to_owned(),
        };
        let _ = writeln!(self.lines, "    {join}[\\\"{label}\"/]");
        if branches.is_empty() {
            self.edge(&fork, &join, None);
        }
        for branch in branches {
            let edge = if branch.is_empty() {
                "each item"
            } else {
                branch
            };
            let (last, unused) = self.sequence(Some(index), branch, fork.clone(), Some(edge));
            self.edge(&last, &join, unused);
        }
        join
    }

    fn edge(&mut self, from: &str, to: &str, label: Option<&str>) {
        match label {
            Some(label) => {
                let _ = writeln!(self.lines, "    {from} -->|{}| {to}", escape(label));
            }
            None => {
                let _ = writeln!(self.lines, "    {from} --> {to}");
            }
        }
    }

    /// The node of the site at `index` (a construct's fork), with its class over a run.
    fn node(&mut self, index: usize) {
        let site = &self.description.sites[index];
        let mut label = format!("{} {}", site.kind, escape(site.key));
        if site.per_item {
            label.push_str("[item]");
        }
        if site.in_loop {
            label.push_str(" (in loop)");
        }
        if site.in_branch {
            label.push_str(" (in branch)");
        }
        let status = self
            .run
            .as_ref()
            .map(|run| site_status(self.description, site, run.state, run.now_ms));
        match site.kind {
            SiteKind::FanOut => {
                if let Some(progress) = self.fan_out_line(site) {
                    let _ = write!(label, "<br/>{progress}");
                }
            }
            SiteKind::Child => {
                for line in self.child_lines(site) {
                    let _ = write!(label, "<br/>{}", escape(&line));
                }
            }
            _ => match &status {
                Some(pending @ SiteStatus::Pending { .. }) => {
                    let _ = write!(label, "<br/>{}", escape(&pending.to_string()));
                }
                Some(partial @ SiteStatus::Partial { .. }) => {
                    let _ = write!(label, "<br/>{partial}");
                }
                _ => {}
            },
        }
        let undo = self.undo(site);
        match undo {
            Some(true) => label.push_str("<br/>undone"),
            Some(false) => label.push_str("<br/>undo failed"),
            None => {}
        }
        let node = format!("site{index}");
        let shape = match site.kind {
            SiteKind::Step => format!("[\"{label}\"]"),
            SiteKind::Sleep => format!("([\"{label}\"])"),
            SiteKind::Parallel | SiteKind::Race | SiteKind::FanOut => format!("[/\"{label}\"\\]"),
            SiteKind::Child => format!("[[\"{label}\"]]"),
            _ => format!("{{{{\"{label}\"}}}}"),
        };
        let _ = writeln!(self.lines, "    {node}{shape}");
        let class = match (undo, status) {
            (Some(true), _) => "undone",
            (Some(false), _) => "undoFailed",
            (None, Some(SiteStatus::Completed)) => "completed",
            (None, Some(SiteStatus::Failed)) => "failed",
            (None, Some(SiteStatus::Pending { .. })) => "pending",
            (None, Some(SiteStatus::Partial { .. })) => "partial",
            (None, Some(SiteStatus::NotReached)) => "notReached",
            (None, None) => return,
        };
        let _ = writeln!(self.classes, "    class {node} {class}");
    }

    /// The fan-out's progress over the run, summed over its executions.
    fn fan_out_line(&self, site: &Site) -> Option<FanOutProgress> {
        self.run.as_ref()?;
        let mut total = FanOutProgress {
            key: site.key.to_owned(),
            items: 0,
            done: 0,
            in_flight: 0,
            pending: 0,
        };
        for progress in &self.progress {
            if parse_key(strip_scopes(&progress.key).0).0 == site.key {
                total.items += progress.items;
                total.done += progress.done;
                total.in_flight += progress.in_flight;
                total.pending += progress.pending;
            }
        }
        Some(total)
    }

    /// The winners recorded by the race `site` (one per execution, deduplicated).
    fn winners(&self, site: &Site) -> Vec<String> {
        let Some(run) = &self.run else {
            return Vec::new();
        };
        let mut winners = Vec::new();
        for (key, entry) in run.state.iter() {
            if belongs_to(self.description, site, key, entry, run.state)
                && let Some(Ok(winner)) = entry.decode_value::<String>()
                && !winners.contains(&winner)
            {
                winners.push(winner);
            }
        }
        winners
    }

    /// What a child node says over a run: its workflow (while the parent waits for it) and its
    /// run id (over a durable run).
    fn child_lines(&self, site: &Site) -> Vec<String> {
        let Some(run) = &self.run else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        for (key, entry) in run.state.iter() {
            if key.starts_with(HOOK_KEY_PREFIX)
                || classify(self.description, key, entry) != Some(SiteKind::CreatedHook)
                || parse_key(strip_scopes(key).0).0 != site.key
            {
                continue;
            }
            let request = entry
                .created_hook_id()
                .and_then(|hook_id| run.state.get(&format!("{HOOK_KEY_PREFIX}{hook_id}")))
                .and_then(MaybePendingHook::pending_hook)
                .and_then(|hook| ChildRequest::of(&hook));
            if let Some(request) = request {
                lines.push(format!("workflow {}", request.workflow));
            }
            if let Some(run_id) = run.run_id {
                lines.push(format!("run {run_id}/{key}"));
            }
        }
        lines
    }

    /// Whether a step of `site` was undone (`Some(true)`), or its undo failed (`Some(false)`).
    fn undo(&self, site: &Site) -> Option<bool> {
        let run = self.run.as_ref()?;
        if site.kind != SiteKind::Step {
            return None;
        }
        let mut undone = None;
        for (key, entry) in run.state.iter() {
            let Some(step_key) = key
                .strip_prefix(RUN_KEY_PREFIX)
                .and_then(|rest| rest.strip_prefix(UNDO_PREFIX))
            else {
                continue;
            };
            let Some(step) = run.state.get(step_key) else {
                continue;
            };
            if belongs_to(self.description, site, step_key, step, run.state) {
                // One failed undo is what the site shows.
                undone = Some(undone.unwrap_or(true) && entry.is_ok());
            }
        }
        undone
    }
}
