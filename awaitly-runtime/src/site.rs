//! The static description `#[workflow]` emits for each workflow (its name and its sites), and the
//! stamp a run records from it in the state.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a site of a workflow does.
///
/// ```
/// assert_eq!(awaitly::SiteKind::Step.to_string(), "step");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SiteKind {
    /// `step!(…)`: runs once, its outcome is recorded and replayed.
    Step,
    /// `await_hook!(hook_id)`: waits for the payload of a hook whose id was made outside the run.
    HookById,
    /// `await_hook!("label")`: creates a hook inside the workflow (its id is recorded) and waits
    /// for its payload.
    CreatedHook,
    /// `await_approval!(key, …)`: waits for a person's decision under a caller-chosen key.
    Approval,
    /// `sleep!("label", duration)`: a durable wait until a recorded wake-up time.
    Sleep,
    /// `all!` / `try_all!`: named branches run at once, each in its own scope.
    Parallel,
    /// `fan_out!` / `try_fan_out!`: one scope per item, a bounded number in flight.
    FanOut,
    /// `race!`: the first branch to finish wins; the winner's name is recorded under the key.
    Race,
    /// `child!("label", "workflow", &input)`: another workflow's run, awaited as a created hook.
    Child,
}

impl fmt::Display for SiteKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl SiteKind {
    /// What [`Display`](fmt::Display) writes.
    fn name(self) -> &'static str {
        match self {
            Self::Step => "step",
            Self::HookById => "hook",
            Self::CreatedHook => "created hook",
            Self::Approval => "approval",
            Self::Sleep => "sleep",
            Self::Parallel => "parallel branches",
            Self::FanOut => "fan-out",
            Self::Race => "race",
            Self::Child => "child workflow",
        }
    }
}

/// One `step!` or `await_hook!` site, as written in the source.
///
/// ```
/// #[awaitly::workflow]
/// async fn flow() -> Result<u32, String> {
///     awaitly::step!("load", Ok::<u32, String>(1))
/// }
///
/// let site = &flow().description().sites[0];
/// assert_eq!(site.kind, awaitly::SiteKind::Step);
/// assert_eq!(site.key, "load");
/// assert!(!site.per_item);
/// assert_eq!(site.parent, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Site {
    /// Step or hook.
    pub kind: SiteKind,
    /// The key (label or derived name); for a per-item site, the label before `[item]`; for a hook
    /// awaited by id, the source text of the id expression (its runtime key is `"hook:" + id`).
    pub key: &'static str,
    /// Does the site take a per-item `key = …`?
    pub per_item: bool,
    /// Does the site sit in a loop (`for`, `while`, `loop`) of the workflow's body?
    pub in_loop: bool,
    /// Does the site sit in a branch (`if`, `match`) of the workflow's body, or in a construct's
    /// branch or item body?
    pub in_branch: bool,
    /// The construct (`all!`, `race!`, `fan_out!`) whose body the site sits in: the construct's
    /// index in [`WorkflowDescription::sites`] and the branch's name (empty in a fan-out's item
    /// body). Diagrams draw the construct as a fork into these sites.
    pub parent: Option<(u16, &'static str)>,
}

impl Site {
    #[doc(hidden)]
    #[must_use]
    pub const fn new(
        kind: SiteKind,
        key: &'static str,
        per_item: bool,
        in_loop: bool,
        in_branch: bool,
        parent: Option<(u16, &'static str)>,
    ) -> Self {
        Self {
            kind,
            key,
            per_item,
            in_loop,
            in_branch,
            parent,
        }
    }
}

/// The static description of one `#[workflow]` fn: its name and its sites in source order.
///
/// ```
/// #[awaitly::workflow]
/// async fn checkout(hook: awaitly::HookId) -> Result<u32, String> {
///     let amount: u32 = awaitly::await_hook!(hook);
///     awaitly::step!("charge", Ok::<u32, String>(amount))
/// }
///
/// let description = checkout("h".into()).description();
/// assert_eq!(description.name, "checkout");
/// assert_eq!(description.sites.len(), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkflowDescription {
    /// The fn's name.
    pub name: &'static str,
    /// Every `step!` / `await_hook!` site in source order.
    pub sites: &'static [Site],
}

impl WorkflowDescription {
    #[doc(hidden)]
    #[must_use]
    pub const fn new(name: &'static str, sites: &'static [Site]) -> Self {
        Self { name, sites }
    }
}

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
    /// Is this the stamp of `description`?
    pub(crate) fn is_of(&self, description: &WorkflowDescription) -> bool {
        self.name == description.name && description.has_fingerprint(&self.fingerprint)
    }

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
        format!("{:016x}", self.fingerprint_hash())
    }

    /// Is `fingerprint` this workflow's [`fingerprint`](Self::fingerprint)? (Run at every run
    /// start: compares without building the string.)
    pub(crate) fn has_fingerprint(&self, fingerprint: &str) -> bool {
        fingerprint.len() == 16
            && u64::from_str_radix(fingerprint, 16)
                .is_ok_and(|hash| hash == self.fingerprint_hash())
            && !fingerprint
                .bytes()
                .any(|byte| byte.is_ascii_uppercase() || byte == b'+')
    }

    fn fingerprint_hash(&self) -> u64 {
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
            feed(site.kind.name().as_bytes());
            feed(b"\t");
            feed(site.key.as_bytes());
            feed(if site.per_item { b"\t[]" } else { b"\t" });
        }
        hash
    }
}

#[cfg(test)]
mod fingerprint_tests {
    use super::*;

    #[test]
    fn a_stamp_is_of_the_description_it_was_made_from() {
        static SITES: [Site; 0] = [];
        let description = WorkflowDescription::new("flow", &SITES);
        let stamp = WorkflowStamp::of(&description);
        assert!(stamp.is_of(&description));
        assert!(description.has_fingerprint(&description.fingerprint()));
        assert!(!description.has_fingerprint(&description.fingerprint().to_uppercase()));
        assert!(!WorkflowStamp::of(&WorkflowDescription::new("other", &SITES)).is_of(&description));
    }
}
