//! Scopes: where the sites of a parallel branch, a fan-out item or a race branch record their
//! entries. Each scope is a path component of the key (`checkout[stock]/reserve`) and counts its
//! own occurrences, so the keys concurrent branches produce never depend on which one runs first.
//!
//! A scope segment is the enclosing construct's key followed by the branch's name or the item's
//! key in brackets and a `/`: `label[branch]/`, `label#2[branch]/` for the construct's second
//! execution, nested scopes one after the other. Labels never contain `[`, and an item's key is
//! percent-escaped, so a scope segment can never be confused with a label or a per-item key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// One branch's or one item's scope: the key prefix of every site inside it, and how often each
/// site ran in it.
#[derive(Debug)]
pub(crate) struct Scope {
    /// `outer[a]/inner[b]/`: prepended to every key recorded inside.
    pub(crate) prefix: String,
    /// Which of the first 64 sites ran in this scope: the common first execution costs one
    /// atomic operation, and a scope (one per fan-out item) allocates nothing for its counts.
    ran: AtomicU64,
    /// Executions of sites that ran more than once, or whose index is 64 or more.
    repeated: Mutex<Vec<(usize, u32)>>,
}

impl Scope {
    /// The scope of `branch` of the construct recorded under `construct_key`, inside `parent`.
    pub(crate) fn new(
        parent: Option<&Scope>,
        construct_key: &str,
        branch: &dyn std::fmt::Display,
    ) -> Self {
        Self::with_prefix(prefix_of(parent, construct_key, branch))
    }

    /// A scope whose prefix is built already (see [`prefix_of`]).
    pub(crate) fn with_prefix(prefix: String) -> Self {
        Self {
            prefix,
            ran: AtomicU64::new(0),
            repeated: Mutex::new(Vec::new()),
        }
    }

    /// Counts one more execution of `site` in this scope; returns the count.
    pub(crate) fn occurrence(&self, site: usize) -> u32 {
        if let Some(bit) = u32::try_from(site)
            .ok()
            .and_then(|site| 1_u64.checked_shl(site))
            && self.ran.fetch_or(bit, Ordering::Relaxed) & bit == 0
        {
            return 1;
        }
        let mut repeated = self.repeated.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, count)) = repeated.iter_mut().find(|(seen, _)| *seen == site) {
            *count += 1;
            return *count;
        }
        // A site below 64 that gets here ran once already (its bit was set).
        let count = if site < 64 { 2 } else { 1 };
        repeated.push((site, count));
        count
    }
}

/// The key prefix of `branch` of the construct recorded under `construct_key`, inside `parent`:
/// the parent's prefix, `construct_key[branch]` (the branch percent-escaped) and `/`.
pub(crate) fn prefix_of(
    parent: Option<&Scope>,
    construct_key: &str,
    branch: &dyn std::fmt::Display,
) -> String {
    let parent = parent.map_or("", |parent| parent.prefix.as_str());
    let mut prefix = String::with_capacity(parent.len() + construct_key.len() + 12);
    prefix.push_str(parent);
    crate::key::push_item_key(&mut prefix, construct_key, branch);
    prefix.push('/');
    prefix
}

/// `key` without its scope segments, and how many there were: `a[x]/b#2[y]/ship[7]` →
/// (`ship[7]`, 2). A key without a scope is returned as it is.
///
/// ```text
/// checkout[stock]/reserve   → reserve
/// ship-all[A17]/ship        → ship
/// charge[ord_1]             → charge[ord_1]   (a per-item key, not a scope)
/// ```
#[must_use]
pub(crate) fn strip_scopes(key: &str) -> (&str, usize) {
    let mut rest = key;
    let mut depth = 0;
    // A segment is `label[escaped]/`: labels hold no `[`, escaped items no `]`.
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        let after = open + close + 1;
        if rest[after..].starts_with('/') {
            rest = &rest[after + 1..];
            depth += 1;
        } else {
            break;
        }
    }
    (rest, depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_segments_are_stripped_and_counted() {
        assert_eq!(strip_scopes("reserve"), ("reserve", 0));
        assert_eq!(strip_scopes("charge[ord_1]"), ("charge[ord_1]", 0));
        assert_eq!(strip_scopes("charge[ord_1]#2"), ("charge[ord_1]#2", 0));
        assert_eq!(strip_scopes("checkout[stock]/reserve"), ("reserve", 1));
        assert_eq!(
            strip_scopes("a[x]/b#2[y%5D%2F]/ship[7]#3"),
            ("ship[7]#3", 2)
        );
    }

    #[test]
    fn a_scope_prefix_escapes_the_branch_and_nests() {
        let outer = Scope::new(None, "fan", &"a]/b");
        assert_eq!(outer.prefix, "fan[a%5D/b]/");
        let inner = Scope::new(Some(&outer), "join#2", &"left");
        assert_eq!(inner.prefix, "fan[a%5D/b]/join#2[left]/");
        assert_eq!(strip_scopes(&format!("{}step", inner.prefix)), ("step", 2));
        assert_eq!(inner.occurrence(0), 1);
        assert_eq!(inner.occurrence(0), 2);
        assert_eq!(outer.occurrence(0), 1);
        assert_eq!(outer.occurrence(70), 1);
        assert_eq!(outer.occurrence(70), 2);
        assert_eq!(outer.occurrence(0), 2);
        assert_eq!(outer.occurrence(0), 3);
    }
}
