//! Version drift: does a stored state still fit this build's workflow? Checked before a run
//! executes anything, and available to deploy pipelines as [`check_compatibility`].

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::entry::StepEntry;
use crate::hook::{HookId, MaybePendingHook};
use crate::key::{HOOK_KEY_PREFIX, OCCURRENCE_SEPARATOR};
use crate::site::{SiteKind, WorkflowDescription};
use crate::state::ResumeState;

/// Which workflow (and which shape of it) wrote a state: recorded in the state by every run, as
/// `"workflow": {"name": …, "fingerprint": …}` (awaitly ignores the field).
///
/// ```
/// #[awaitly::workflow]
/// async fn one() -> Result<u8, String> {
///     awaitly::step!("one", Ok::<u8, String>(1))
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = one().start().await;
/// let stamp = run.state.workflow().unwrap();
/// assert_eq!(stamp.name, "one");
/// assert_eq!(stamp.fingerprint, one().description().fingerprint());
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowStamp {
    /// The workflow's name.
    pub name: String,
    /// [`WorkflowDescription::fingerprint`] of the build that last ran the state.
    pub fingerprint: String,
}

impl WorkflowStamp {
    pub(crate) fn of(description: &WorkflowDescription) -> Self {
        Self {
            name: description.name.to_owned(),
            fingerprint: description.fingerprint(),
        }
    }
}

impl WorkflowDescription {
    /// A fingerprint of the workflow's sites (kind, key, per-item) in source order: equal
    /// fingerprints mean a stored state's keys mean the same thing. 64-bit FNV-1a, as 16 hex digits
    /// — deterministic across builds, platforms and toolchains.
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn one() -> Result<u8, String> {
    ///     awaitly::step!("one", Ok::<u8, String>(1))
    /// }
    /// assert_eq!(one().description().fingerprint().len(), 16);
    /// ```
    #[must_use]
    pub fn fingerprint(&self) -> String {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0100_0000_01b3;
        let mut hash = OFFSET;
        let mut feed = |bytes: &[u8]| {
            for byte in bytes {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(PRIME);
            }
        };
        feed(self.name.as_bytes());
        for site in self.sites {
            feed(b"\n");
            feed(site.kind.to_string().as_bytes());
            feed(b"\t");
            feed(site.key.as_bytes());
            feed(if site.per_item { b"\t[]" } else { b"\t" });
        }
        format!("{hash:016x}")
    }
}

/// Why a stored state does not fit this build: every key that no site of the code can reach, by
/// name.
///
/// ```
/// let problem = awaitly::Incompatibility {
///     workflow: "checkout".into(),
///     unknown_keys: vec!["charge".into()],
///     undeliverable_hooks: vec![],
/// };
/// assert_eq!(
///     problem.to_string(),
///     "the stored state of workflow `checkout` does not fit this build: recorded keys no site reaches: `charge`"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incompatibility {
    /// The workflow the state was checked against.
    pub workflow: String,
    /// Recorded keys that no site of this build produces (a removed or renamed step, a changed
    /// per-item key), in state order.
    pub unknown_keys: Vec<String>,
    /// Pending hooks no site of this build can ever receive: their runs could never finish.
    pub undeliverable_hooks: Vec<HookId>,
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "the stored state of workflow `{}` does not fit this build:",
            self.workflow
        )?;
        let quoted = |items: &mut dyn Iterator<Item = &str>| {
            items
                .map(|item| format!("`{item}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut separator = "";
        if !self.unknown_keys.is_empty() {
            write!(
                formatter,
                " recorded keys no site reaches: {}",
                quoted(&mut self.unknown_keys.iter().map(String::as_str))
            )?;
            separator = ";";
        }
        if !self.undeliverable_hooks.is_empty() {
            write!(
                formatter,
                "{separator} pending hooks no site awaits: {}",
                quoted(&mut self.undeliverable_hooks.iter().map(HookId::as_str))
            )?;
        }
        Ok(())
    }
}

/// Checks that every key recorded in `state` is one a site of `description` produces, and that
/// every pending hook can still be delivered. A deploy pipeline can run it over stored states
/// against the new build; every run does it before executing anything.
///
/// Keys the code may simply not have reached yet (a branch, a later loop item) are fine; only keys
/// no site can produce are reported.
///
/// ```
/// use awaitly::{ResumeState, StepEntry, check_compatibility, step, workflow};
///
/// #[workflow]
/// async fn checkout() -> Result<u8, String> {
///     step!("charge", Ok::<u8, String>(1))
/// }
///
/// let mut state = ResumeState::new();
/// state.insert("charge", StepEntry::ok(&1).unwrap());
/// assert!(check_compatibility(checkout().description(), &state).is_ok());
///
/// state.insert("reserve-stock", StepEntry::ok(&1).unwrap()); // a step removed from the code
/// let problem = check_compatibility(checkout().description(), &state).unwrap_err();
/// assert_eq!(problem.unknown_keys, ["reserve-stock"]);
/// ```
///
/// # Errors
///
/// [`Incompatibility`] naming each unreachable key and undeliverable hook.
pub fn check_compatibility(
    description: &WorkflowDescription,
    state: &ResumeState,
) -> Result<(), Incompatibility> {
    if state.workflow().is_some_and(|stamp| {
        stamp.name == description.name && stamp.fingerprint == description.fingerprint()
    }) {
        return Ok(());
    }
    let awaits_hooks_by_id = description
        .sites
        .iter()
        .any(|site| site.kind == SiteKind::HookById);
    let mut created_hooks: HashSet<&str> = HashSet::new();
    let mut unknown_keys = Vec::new();
    for (key, entry) in state.iter() {
        if key.starts_with(HOOK_KEY_PREFIX) {
            continue;
        }
        let kind = site_kind_of(entry);
        if kind == SiteKind::Approval {
            // Approval keys are chosen at run time: any approval site may have asked for it.
            if !description
                .sites
                .iter()
                .any(|site| site.kind == SiteKind::Approval)
            {
                unknown_keys.push(key.to_owned());
            }
            continue;
        }
        let (label, per_item) = parse_key(key);
        let reachable = description
            .sites
            .iter()
            .any(|site| site.kind == kind && site.key == label && site.per_item == per_item);
        if !reachable {
            unknown_keys.push(key.to_owned());
        } else if let Some(hook_id) = entry.created_hook_id() {
            created_hooks.insert(hook_id.as_str());
        }
    }
    let mut undeliverable_hooks = Vec::new();
    for (key, entry) in state.iter() {
        let Some(hook_id) = key.strip_prefix(HOOK_KEY_PREFIX) else {
            continue;
        };
        let hook_id = strip_occurrence(hook_id);
        if awaits_hooks_by_id || created_hooks.contains(hook_id) {
            continue;
        }
        if entry.pending_hook().is_some() {
            undeliverable_hooks.push(HookId::from(hook_id));
        } else {
            unknown_keys.push(key.to_owned());
        }
    }
    if unknown_keys.is_empty() && undeliverable_hooks.is_empty() {
        Ok(())
    } else {
        Err(Incompatibility {
            workflow: description.name.to_owned(),
            unknown_keys,
            undeliverable_hooks,
        })
    }
}

/// Which kind of site recorded an entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Site(SiteKind),
    /// An approval (its key is chosen at run time).
    Approval,
}

/// Which kind of site recorded `entry`.
pub(crate) fn entry_kind(entry: &StepEntry) -> EntryKind {
    match site_kind_of(entry) {
        SiteKind::Approval => EntryKind::Approval,
        kind => EntryKind::Site(kind),
    }
}

fn site_kind_of(entry: &StepEntry) -> SiteKind {
    let error_type = entry
        .error()
        .and_then(|error| error.get("type"))
        .and_then(serde_json::Value::as_str);
    if entry.created_hook_id().is_some() {
        SiteKind::CreatedHook
    } else if entry.sleep_until().is_some() {
        SiteKind::Sleep
    } else if entry.approval().is_some()
        || matches!(
            error_type,
            Some("PENDING_APPROVAL" | "APPROVAL_REJECTED" | "APPROVAL_EXPIRED")
        )
    {
        SiteKind::Approval
    } else {
        SiteKind::Step
    }
}

/// `label`, `label#3` → (`label`, false); `label[item]`, `label[item]#2` → (`label`, true).
pub(crate) fn parse_key(key: &str) -> (&str, bool) {
    let key = strip_occurrence(key);
    match key.find('[') {
        Some(open) if key.ends_with(']') => (&key[..open], true),
        _ => (key, false),
    }
}

/// Removes an occurrence suffix `#<digits>`; labels and escaped items never contain `#`.
fn strip_occurrence(key: &str) -> &str {
    match key.rfind(OCCURRENCE_SEPARATOR) {
        Some(hash)
            if key[hash + 1..].bytes().all(|byte| byte.is_ascii_digit())
                && hash + 1 < key.len() =>
        {
            &key[..hash]
        }
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_into_label_and_per_item() {
        assert_eq!(parse_key("charge"), ("charge", false));
        assert_eq!(parse_key("charge#12"), ("charge", false));
        assert_eq!(parse_key("ship[a]"), ("ship", true));
        assert_eq!(parse_key("ship[a%23b]#2"), ("ship", true));
        assert_eq!(parse_key("odd#"), ("odd#", false));
    }
}
