//! Workflow diagrams: a description as a Mermaid flowchart ([`render`]), and a run drawn over it
//! — each site completed, failed, pending (with its hook id or key, and age), done in some of its
//! fan-out's items, or not reached yet.

mod render;

use crate::compat::{classify, parse_key};
use crate::entry::StepEntry;
use crate::glue::strip_scopes;
use crate::key::HOOK_KEY_PREFIX;
use crate::progress::fan_out_progress;
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
    /// Done for some of the items of its fan-out, or some of its construct's sites: `completed`
    /// of `of` (a fan-out counts its items, a parallel construct its sites).
    Partial {
        /// How many are done.
        completed: u64,
        /// How many there are.
        of: u64,
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
            Self::Partial { completed, of } => write!(formatter, "{completed} of {of} done"),
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
///
/// A site inside a fan-out is completed once it is completed under every item's scope (else
/// [`SiteStatus::Partial`] counts the items it is done in); a fan-out once all its items are done
/// ([`fan_out_progress`](crate::fan_out_progress)); a parallel construct, which records nothing
/// itself, once all its sites are.
#[must_use]
pub fn site_status(
    description: &WorkflowDescription,
    site: &Site,
    state: &ResumeState,
    now_ms: u64,
) -> SiteStatus {
    let index = description
        .sites
        .iter()
        .position(|other| std::ptr::eq(other, site));
    if site.kind == SiteKind::Parallel
        && let Some(index) = index
    {
        return construct_status(description, index, state, now_ms);
    }
    let mut status = SiteStatus::NotReached;
    let mut item_scopes = std::collections::BTreeSet::new();
    let fan_out = index.and_then(|index| enclosing_fan_out(description, index));
    for (key, entry) in state.iter() {
        if !belongs_to(description, site, key, entry, state) {
            continue;
        }
        let this = entry_status(key, entry, site.kind, now_ms);
        if this == SiteStatus::Completed
            && let Some(fan_out) = fan_out
            && let Some(scope) = item_scope(recorded_by(key, state), fan_out.key)
        {
            item_scopes.insert(scope);
        }
        // Pending wins over failed, failed over completed: show what needs attention.
        status = match (&status, this) {
            (SiteStatus::Pending { .. }, _) => status,
            (_, pending @ SiteStatus::Pending { .. }) => pending,
            (SiteStatus::Failed, _) => status,
            (_, other) => other,
        };
    }
    if status == SiteStatus::Completed && site.kind == SiteKind::FanOut {
        let (done, of) = fan_out_progress(description, state, now_ms)
            .iter()
            .filter(|progress| parse_key(strip_scopes(&progress.key).0).0 == site.key)
            .fold((0, 0), |(done, of), progress| {
                (done + progress.done, of + progress.items)
            });
        if done < of {
            return SiteStatus::Partial {
                completed: done,
                of,
            };
        }
    }
    if status == SiteStatus::Completed
        && let Some(fan_out) = fan_out
    {
        let of: u64 = fan_out_progress(description, state, now_ms)
            .iter()
            .filter(|progress| parse_key(strip_scopes(&progress.key).0).0 == fan_out.key)
            .map(|progress| progress.items)
            .sum();
        let completed = item_scopes.len() as u64;
        if completed < of {
            return SiteStatus::Partial { completed, of };
        }
    }
    status
}

/// A parallel construct's status, from its sites': what needs attention first, completed when
/// all are, partial when some are.
fn construct_status(
    description: &WorkflowDescription,
    index: usize,
    state: &ResumeState,
    now_ms: u64,
) -> SiteStatus {
    let statuses: Vec<SiteStatus> = description
        .sites
        .iter()
        .filter(|site| {
            site.parent
                .is_some_and(|(parent, _)| usize::from(parent) == index)
        })
        .map(|site| site_status(description, site, state, now_ms))
        .collect();
    if let Some(pending) = statuses
        .iter()
        .find(|status| matches!(status, SiteStatus::Pending { .. }))
    {
        return pending.clone();
    }
    if statuses.contains(&SiteStatus::Failed) {
        return SiteStatus::Failed;
    }
    let completed = statuses
        .iter()
        .filter(|status| **status == SiteStatus::Completed)
        .count() as u64;
    let of = statuses.len() as u64;
    if completed == of && of > 0 {
        SiteStatus::Completed
    } else if statuses
        .iter()
        .all(|status| *status == SiteStatus::NotReached)
    {
        SiteStatus::NotReached
    } else {
        SiteStatus::Partial { completed, of }
    }
}

/// The nearest fan-out whose body holds the site at `index`.
fn enclosing_fan_out(description: &WorkflowDescription, index: usize) -> Option<&Site> {
    let mut parent = description.sites.get(index)?.parent;
    while let Some((at, _)) = parent {
        let construct = description.sites.get(usize::from(at))?;
        if construct.kind == SiteKind::FanOut {
            return Some(construct);
        }
        parent = construct.parent;
    }
    None
}

/// The key of the site that recorded `key`: a hook payload's is the created hook's (under the
/// scope the hook was created in), any other key its own.
fn recorded_by<'a>(key: &'a str, state: &'a ResumeState) -> &'a str {
    let Some(hook_id) = key.strip_prefix(HOOK_KEY_PREFIX) else {
        return key;
    };
    state
        .iter()
        .find(|(_, entry)| {
            entry
                .created_hook_id()
                .is_some_and(|id| id.as_str() == hook_id)
        })
        .map_or(key, |(creator, _)| creator)
}

/// The item scope of the fan-out labelled `label` that `key` records under: the key up to and
/// including the last `label[item]/` (or `label#n[item]/`) segment.
fn item_scope<'a>(key: &'a str, label: &str) -> Option<&'a str> {
    let mut end = None;
    let mut offset = 0;
    let mut rest = key;
    // Segments are `construct[escaped]/`: constructs hold no `[`, escaped items no `]`.
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("]/").map(|close| open + close) else {
            break;
        };
        if parse_key(&rest[..open]).0 == label {
            end = Some(offset + close + 2);
        }
        offset += close + 2;
        rest = &rest[close + 2..];
    }
    end.map(|end| &key[..end])
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
                matches!(site.kind, SiteKind::CreatedHook | SiteKind::Child)
                    && parse_key(strip_scopes(creator_key).0).0 == site.key
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
            let (label, per_item) = parse_key(strip_scopes(key).0);
            site.kind == kind && site.key == label && site.per_item == per_item
        }
    }
}

/// Text safe inside a quoted Mermaid label (and in HTML, where Mermaid renders it).
pub(crate) fn escape(text: &str) -> String {
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
