//! Version drift: does a stored state still fit this build's workflow? Checked before a run
//! executes anything, and available to deploy pipelines as [`check_compatibility`].

use std::collections::HashSet;

use crate::entry::StepEntry;
use crate::error::Incompatibility;
use crate::hook::{HookId, MaybePendingHook};
use crate::key::{HOOK_KEY_PREFIX, OCCURRENCE_SEPARATOR, RUN_KEY_PREFIX};
use crate::site::{SiteKind, WorkflowDescription};
use crate::state::ResumeState;

/// Checks that every key recorded in `state` is one a site of `description` produces, and that
/// every pending hook can still be delivered. A deploy pipeline can run it over stored states
/// against the new build; every run does it before executing anything.
///
/// Keys the code may simply not have reached yet (a branch, a later loop item) are fine; only keys
/// no site can produce are reported.
///
/// The description decides what an entry is; the markers this crate writes (`createdHook`,
/// `sleep`, `approval`) are hints, because awaitly's serialiser drops them (it keeps only `ok`,
/// `value`, `error`, `cause` and `meta`). A plain `{"ok":true,"value":…}` is a step when a step
/// site has its key, else a created hook (its value, the hook's id, is a string) or a sleep (its
/// value is `{"wakeAt": …}`) when such a site has it, else an approval decided by awaitly
/// (`injectApproval`, `createApprovalStep`) when an approval site can ask under its key: any key
/// for a key computed at run time, that very key for a literal, keys of its literal pieces for
/// `format!("approve:{}", …)`.
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
/// An approval decided by awaitly carries no marker; the workflow's approval site accounts for it:
///
/// ```
/// use awaitly::{ApprovalError, ResumeState, await_approval, check_compatibility, workflow};
///
/// #[workflow]
/// async fn refund() -> Result<u32, String> {
///     let amount: Result<u32, ApprovalError> = await_approval!("approve:refund:42");
///     amount.map_err(|error| error.to_string())
/// }
///
/// let state = ResumeState::from_json(
///     r#"{"kind":"ResumeState","steps":[["approve:refund:42",{"ok":true,"value":120}]]}"#,
/// ).unwrap();
/// assert!(check_compatibility(refund().description(), &state).is_ok());
/// ```
///
/// # Errors
///
/// [`Incompatibility`] naming each unreachable key and undeliverable hook.
pub fn check_compatibility(
    description: &WorkflowDescription,
    state: &ResumeState,
) -> Result<(), Incompatibility> {
    check(description, state).map(drop)
}

/// [`check_compatibility`], returning the entries whose markers were lost (a created hook's id or a
/// sleep's wake-up time read as a plain success), rebuilt with their markers, for the run to put
/// back before it starts.
pub(crate) fn check(
    description: &WorkflowDescription,
    state: &ResumeState,
) -> Result<Vec<(String, StepEntry)>, Incompatibility> {
    if state
        .workflow()
        .is_some_and(|stamp| stamp.is_of(description))
    {
        return Ok(Vec::new());
    }
    let awaits_hooks_by_id = description
        .sites
        .iter()
        .any(|site| site.kind == SiteKind::HookById);
    let mut created_hooks: HashSet<HookId> = HashSet::new();
    let mut restored = Vec::new();
    let mut unknown_keys = Vec::new();
    for (key, entry) in state.iter() {
        // Hook payloads are checked below; the run's own records (cancellation, compensations)
        // belong to no site.
        if key.starts_with(HOOK_KEY_PREFIX) || key.starts_with(RUN_KEY_PREFIX) {
            continue;
        }
        match classify(description, key, entry) {
            None => unknown_keys.push(key.to_owned()),
            Some(SiteKind::CreatedHook) => {
                if let Some(hook_id) = entry.created_hook_id() {
                    created_hooks.insert(hook_id.clone());
                } else if let Some(hook_id) = entry.unmarked_hook_id() {
                    created_hooks.insert(hook_id.clone());
                    restored.push((key.to_owned(), StepEntry::created_hook(hook_id)));
                }
            }
            Some(SiteKind::Sleep) => {
                if let (None, Some(wake_at)) = (entry.sleep_until(), entry.unmarked_wake_at()) {
                    restored.push((key.to_owned(), StepEntry::sleep(wake_at)));
                }
            }
            Some(_) => {}
        }
    }
    let mut undeliverable_hooks = Vec::new();
    for (key, entry) in state.iter() {
        let Some(hook_id) = key.strip_prefix(HOOK_KEY_PREFIX) else {
            continue;
        };
        let hook_id = HookId::from(strip_occurrence(hook_id));
        if awaits_hooks_by_id || created_hooks.contains(&hook_id) {
            continue;
        }
        if entry.pending_hook().is_some() {
            undeliverable_hooks.push(hook_id);
        } else {
            unknown_keys.push(key.to_owned());
        }
    }
    if unknown_keys.is_empty() && undeliverable_hooks.is_empty() {
        Ok(restored)
    } else {
        Err(Incompatibility {
            workflow: description.name.to_owned(),
            unknown_keys,
            undeliverable_hooks,
        })
    }
}

/// Which kind of site of `description` recorded `entry` under `key` (not a `hook:` key); `None`
/// when no site can have. Markers decide when present (and must then match a site); a plain entry
/// is classified by the description, as [`check_compatibility`] explains.
pub(crate) fn classify(
    description: &WorkflowDescription,
    key: &str,
    entry: &StepEntry,
) -> Option<SiteKind> {
    // Sites inside a branch or an item record under its scope: classify what follows it.
    let (label, per_item) = parse_key(crate::glue::strip_scopes(key).0);
    let has_site = |kind: SiteKind| {
        description
            .sites
            .iter()
            .any(|site| site.kind == kind && site.key == label && site.per_item == per_item)
    };
    // Approval keys are chosen at run time: any approval site may have asked for one.
    let awaits_approvals = || {
        description
            .sites
            .iter()
            .any(|site| site.kind == SiteKind::Approval)
    };
    // A child's site records a created hook.
    let has_site = |kind: SiteKind| {
        has_site(kind) || (kind == SiteKind::CreatedHook && has_site(SiteKind::Child))
    };
    match marked_kind(entry) {
        Some(SiteKind::Approval) => awaits_approvals().then_some(SiteKind::Approval),
        Some(kind) => has_site(kind).then_some(kind),
        None if has_site(SiteKind::Step) => Some(SiteKind::Step),
        None if has_site(SiteKind::Race) && entry.is_ok() => Some(SiteKind::Race),
        None if has_site(SiteKind::FanOut) && entry.is_ok() => Some(SiteKind::FanOut),
        None if has_site(SiteKind::CreatedHook) && entry.unmarked_hook_id().is_some() => {
            Some(SiteKind::CreatedHook)
        }
        None if has_site(SiteKind::Sleep) && entry.unmarked_wake_at().is_some() => {
            Some(SiteKind::Sleep)
        }
        // A plain success no other site has: an approval decided by awaitly, if an approval
        // site can have asked under this key.
        None if entry.is_ok()
            && description.sites.iter().any(|site| {
                site.kind == SiteKind::Approval && approval_site_may_produce(site.key, key)
            }) =>
        {
            Some(SiteKind::Approval)
        }
        None => None,
    }
}

/// Can the approval site whose key expression reads `source` (its source text, whitespace removed)
/// ask under `key`? A string literal asks under itself; `format!("…{…}…", …)` under keys made of
/// its literal pieces in order; any other expression under any key.
fn approval_site_may_produce(source: &str, key: &str) -> bool {
    let (in_format, literal) = match source.strip_prefix("format!(") {
        Some(arguments) => (true, arguments),
        None => (false, source),
    };
    let Some((template, after)) = literal
        .strip_prefix('"')
        .and_then(|rest| rest.split_once('"'))
    else {
        return true;
    };
    let whole = if in_format {
        after == ")" || after.starts_with(',')
    } else {
        after.is_empty()
    };
    // Escapes and `{{` could mean anything: no claim.
    if !whole || template.contains('\\') || template.contains("{{") || template.contains("}}") {
        return true;
    }
    // The source text has no whitespace, even inside literals: compare the key without it.
    let key: String = key.split_whitespace().collect();
    if !in_format || !template.contains('{') {
        return key == template;
    }
    // The literal pieces between placeholders, in order: the first a prefix, the last a suffix.
    let mut pieces = template.split('{').enumerate().map(|(index, part)| {
        if index == 0 {
            part
        } else {
            part.split_once('}').map_or(part, |(_, literal)| literal)
        }
    });
    let Some(mut remaining) = key.strip_prefix(pieces.next().unwrap_or_default()) else {
        return false;
    };
    let mut last = "";
    for piece in pieces {
        remaining = match remaining.find(last) {
            Some(at) => &remaining[at + last.len()..],
            None => return false,
        };
        last = piece;
    }
    remaining.ends_with(last)
}

/// The kind of site `entry`'s marker names; `None` for a plain success or failure.
fn marked_kind(entry: &StepEntry) -> Option<SiteKind> {
    let error_type = entry.error_type();
    if entry.created_hook_id().is_some() {
        Some(SiteKind::CreatedHook)
    } else if entry.sleep_until().is_some() {
        Some(SiteKind::Sleep)
    } else if entry.approval().is_some()
        || matches!(
            error_type,
            Some("PENDING_APPROVAL" | "APPROVAL_REJECTED" | "APPROVAL_EXPIRED")
        )
    {
        Some(SiteKind::Approval)
    } else {
        None
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

    #[test]
    fn approval_sites_claim_the_keys_their_expression_can_make() {
        let may = approval_site_may_produce;
        assert!(may(r#""approve:refund:42""#, "approve:refund:42"));
        assert!(!may(r#""approve:refund:42""#, "reserve"));
        assert!(may(
            r#"format!("approve:refund:{id}")"#,
            "approve:refund:42"
        ));
        assert!(may(
            r#"format!("approve:{}:{}",kind,id)"#,
            "approve:refund:42"
        ));
        assert!(!may(
            r#"format!("approve:{}:{}",kind,id)"#,
            "approve-refund"
        ));
        assert!(may(r#"format!("{}[{}]",label,id)"#, "a[b]"));
        assert!(!may(r#"format!("{}[{}]",label,id)"#, "a[b"));
        assert!(!may(r#"format!("approve:refund:{id}")"#, "reserve"));
        // No claim the source text can back: any key.
        assert!(may("key", "reserve"));
        assert!(may("approval_key(&run)", "reserve"));
        assert!(may(r#""a\"b""#, "reserve"));
        assert!(may(r#"format!("{{{id}}}")"#, "reserve"));
    }
}
