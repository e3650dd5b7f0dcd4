//! Workflow diagrams: a description as a Mermaid flowchart, and a run drawn over it — each site
//! completed, failed, pending (with its hook id or key, and age) or not reached yet.

use std::fmt::Write as _;

use crate::compat::{classify, parse_key};
use crate::entry::StepEntry;
use crate::key::HOOK_KEY_PREFIX;
use crate::site::{Site, SiteKind, WorkflowDescription};
use crate::state::ResumeState;

/// Where a run stands at one site.
///
/// ```
/// assert_eq!(awaitly::SiteStatus::NotReached.to_string(), "not reached");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SiteStatus {
    /// Recorded as a success (every execution, for a site in a loop).
    Completed,
    /// A failure is recorded.
    Failed,
    /// The run waits here.
    Pending {
        /// The hook id, approval key or sleep key it waits on.
        waiting_on: String,
        /// How long it has waited, in milliseconds, when known.
        age_ms: Option<u64>,
    },
    /// Nothing is recorded for this site.
    NotReached,
}

impl std::fmt::Display for SiteStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Completed => formatter.write_str("completed"),
            Self::Failed => formatter.write_str("failed"),
            Self::Pending {
                waiting_on,
                age_ms: Some(age),
            } => {
                write!(formatter, "pending on {waiting_on} for {}", human_age(*age))
            }
            Self::Pending {
                waiting_on,
                age_ms: None,
            } => write!(formatter, "pending on {waiting_on}"),
            Self::NotReached => formatter.write_str("not reached"),
        }
    }
}

/// Milliseconds as `42s`, `7m`, `3h` or `2d`.
fn human_age(millis: u64) -> String {
    let seconds = millis / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m", seconds / 60),
        3_600..86_400 => format!("{}h", seconds / 3_600),
        _ => format!("{}d", seconds / 86_400),
    }
}

impl WorkflowDescription {
    /// The workflow as a Mermaid flowchart: its sites in source order, marked when they sit in a
    /// loop or a branch.
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
        self.render(|_| None)
    }

    /// The flowchart with a run drawn over it: every site classed `completed`, `failed`,
    /// `pending` or `notReached`, pending ones labelled with what they wait on and for how long
    /// (`now_ms` is the current time, milliseconds since the Unix epoch).
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
        self.render(|site| Some(site_status(self, site, state, now_ms)))
    }

    fn render(&self, status: impl Fn(&Site) -> Option<SiteStatus>) -> String {
        let mut chart = String::from("flowchart TD\n");
        let _ = writeln!(chart, "    start([\"{}\"])", escape(self.name));
        let mut previous = "start".to_owned();
        let mut classes = String::new();
        for (index, site) in self.sites.iter().enumerate() {
            let node = format!("site{index}");
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
            let status = status(site);
            if let Some(SiteStatus::Pending { .. }) = &status {
                let _ = write!(
                    label,
                    "<br/>{}",
                    escape(&status.as_ref().map(ToString::to_string).unwrap_or_default())
                );
            }
            let shape = match site.kind {
                SiteKind::Step => format!("[\"{label}\"]"),
                SiteKind::Sleep => format!("([\"{label}\"])"),
                _ => format!("{{{{\"{label}\"}}}}"),
            };
            let _ = writeln!(chart, "    {node}{shape}");
            let _ = writeln!(chart, "    {previous} --> {node}");
            if let Some(status) = status {
                let class = match status {
                    SiteStatus::Completed => "completed",
                    SiteStatus::Failed => "failed",
                    SiteStatus::Pending { .. } => "pending",
                    SiteStatus::NotReached => "notReached",
                };
                let _ = writeln!(classes, "    class {node} {class}");
            }
            previous = node;
        }
        let _ = writeln!(chart, "    finish([\"end\"])");
        let _ = writeln!(chart, "    {previous} --> finish");
        if !classes.is_empty() {
            chart.push_str("    classDef completed fill:#d7f5dd,stroke:#2e7d32\n");
            chart.push_str("    classDef failed fill:#fbe0e0,stroke:#c62828\n");
            chart.push_str("    classDef pending fill:#fff4cc,stroke:#b7950b\n");
            chart.push_str(
                "    classDef notReached fill:#f2f2f2,stroke:#9e9e9e,stroke-dasharray:4\n",
            );
            chart.push_str(&classes);
        }
        chart
    }
}

/// Where the run recorded in `state` stands at `site`.
///
/// ```
/// #[awaitly::workflow]
/// async fn one() -> Result<u8, String> {
///     awaitly::step!("one", Ok::<u8, String>(1))
/// }
/// let description = one().description();
/// let status = awaitly::site_status(description, &description.sites[0], &awaitly::ResumeState::new(), 0);
/// assert_eq!(status, awaitly::SiteStatus::NotReached);
/// ```
#[must_use]
pub fn site_status(
    description: &WorkflowDescription,
    site: &Site,
    state: &ResumeState,
    now_ms: u64,
) -> SiteStatus {
    let mut status = SiteStatus::NotReached;
    for (key, entry) in state.iter() {
        if !belongs_to(description, site, key, entry, state) {
            continue;
        }
        let this = entry_status(key, entry, site.kind, now_ms);
        // Pending wins over failed, failed over completed: show what needs attention.
        status = match (&status, this) {
            (SiteStatus::Pending { .. }, _) => status,
            (_, pending @ SiteStatus::Pending { .. }) => pending,
            (SiteStatus::Failed, _) => status,
            (_, other) => other,
        };
    }
    status
}

fn entry_status(key: &str, entry: &StepEntry, kind: SiteKind, now_ms: u64) -> SiteStatus {
    let wake_at = entry
        .sleep_until()
        .or_else(|| (kind == SiteKind::Sleep).then(|| entry.unmarked_wake_at())?);
    if let Some(wake_at) = wake_at {
        return if wake_at <= now_ms {
            SiteStatus::Completed
        } else {
            SiteStatus::Pending {
                waiting_on: format!("{key} until {wake_at}"),
                age_ms: None,
            }
        };
    }
    if let Some(error) = entry.error() {
        let kind = error.get("type").and_then(serde_json::Value::as_str);
        if matches!(kind, Some("PENDING_HOOK" | "PENDING_APPROVAL")) {
            let waiting_on = error
                .get("hookId")
                .or_else(|| error.get("stepKey"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or(key)
                .to_owned();
            let age_ms = error
                .get("requestedAt")
                .and_then(serde_json::Value::as_u64)
                .map(|requested| now_ms.saturating_sub(requested));
            return SiteStatus::Pending { waiting_on, age_ms };
        }
        return SiteStatus::Failed;
    }
    SiteStatus::Completed
}

/// Was `entry` (under `key`) recorded by `site`?
fn belongs_to(
    description: &WorkflowDescription,
    site: &Site,
    key: &str,
    entry: &StepEntry,
    state: &ResumeState,
) -> bool {
    if let Some(hook_id) = key.strip_prefix(HOOK_KEY_PREFIX) {
        // A hook payload belongs to the created-hook site that minted its id, or else to the
        // workflow's hook-by-id site.
        let creator = state.iter().find(|(creator_key, other)| {
            !creator_key.starts_with(HOOK_KEY_PREFIX)
                && classify(description, creator_key, other) == Some(SiteKind::CreatedHook)
                && other
                    .created_hook_id()
                    .cloned()
                    .or_else(|| other.unmarked_hook_id())
                    .is_some_and(|id| id.as_str() == hook_id)
        });
        return match creator {
            Some((creator_key, _)) => {
                site.kind == SiteKind::CreatedHook && parse_key(creator_key).0 == site.key
            }
            None => {
                site.kind == SiteKind::HookById
                    && description
                        .sites
                        .iter()
                        .find(|other| other.kind == SiteKind::HookById)
                        .is_some_and(|first| std::ptr::eq(first, site))
            }
        };
    }
    match classify(description, key, entry) {
        Some(SiteKind::Approval) => site.kind == SiteKind::Approval,
        // A created hook's own entry only records its id; its status is its payload's.
        Some(SiteKind::CreatedHook) | None => false,
        Some(kind) => {
            let (label, per_item) = parse_key(key);
            site.kind == kind && site.key == label && site.per_item == per_item
        }
    }
}

/// Text safe inside a quoted Mermaid label (and in HTML, where Mermaid renders it).
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => escaped.push_str("#quot;"),
            '<' => escaped.push_str("#lt;"),
            '>' => escaped.push_str("#gt;"),
            '&' => escaped.push_str("#amp;"),
            '\n' | '\r' => escaped.push(' '),
            other => escaped.push(other),
        }
    }
    escaped
}
