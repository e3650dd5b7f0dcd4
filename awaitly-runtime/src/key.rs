//! The step key format: how a site's label, a per-item key and an occurrence number become the key a
//! step is recorded under.
//!
//! Keys are a persisted format. Labels and names derived by `#[workflow]` never contain `#`, `[` or
//! `]`, so the two things this module appends — an item part `label[item]` and an occurrence suffix
//! `key#2` — can never be confused with a label. Any change here is a breaking change of stored states.

use std::fmt::{self, Display, Write as _};

/// The prefix of every hook step key: a hook `"abc"` is recorded under `"hook:abc"`.
///
/// ```
/// assert_eq!(awaitly::HOOK_KEY_PREFIX, "hook:");
/// assert_eq!(awaitly::hook_step_key(&awaitly::HookId::from("abc")), "hook:abc");
/// ```
pub const HOOK_KEY_PREFIX: &str = "hook:";

/// The prefix of the entries the runtime records about the run itself: a cancellation
/// (`run:cancel`) and compensations (`run:undo:<step key>`). Labels may not start with it.
///
/// ```
/// assert_eq!(awaitly::RUN_KEY_PREFIX, "run:");
/// ```
pub const RUN_KEY_PREFIX: &str = "run:";

/// Separates a key from its occurrence number when one site runs more than once in a run
/// (`"charge"`, `"charge#2"`, `"charge#3"`, …). Labels may not contain it.
///
/// ```
/// assert_eq!(awaitly::OCCURRENCE_SEPARATOR, '#');
/// ```
pub const OCCURRENCE_SEPARATOR: char = '#';

/// Version of the key recipe and of the resume-state JSON written by this crate.
///
/// It is written into every serialised [`ResumeState`](crate::ResumeState) as `"version"`; a state
/// from a newer recipe is refused rather than replayed under keys that mean something else.
///
/// ```
/// assert_eq!(awaitly::KEY_RECIPE_VERSION, 1);
/// ```
pub const KEY_RECIPE_VERSION: u32 = 1;

/// The key of a site that runs once per item: `label[item]`.
///
/// `%`, `#`, `[` and `]` inside the item are percent-encoded, so an item can never forge an
/// occurrence suffix or close the bracket early.
///
/// ```
/// assert_eq!(awaitly::item_key("charge", "ord_1"), "charge[ord_1]");
/// assert_eq!(awaitly::item_key("charge", "a]#2"), "charge[a%5D%232]");
/// assert_eq!(awaitly::item_key("row", 7), "row[7]");
/// ```
#[must_use]
pub fn item_key(label: &str, item: impl Display) -> String {
    let mut key = String::with_capacity(label.len() + 8);
    push_item_key(&mut key, label, item);
    key
}

/// Appends [`item_key`]`(label, item)` to `out`.
pub(crate) fn push_item_key(out: &mut String, label: &str, item: impl Display) {
    out.push_str(label);
    out.push('[');
    let start = out.len();
    // Writing into a String cannot fail.
    let _ = write!(out, "{item}");
    // Items rarely hold a character to escape (integers never do): escape only when one is there.
    if out.as_bytes()[start..]
        .iter()
        .any(|byte| matches!(byte, b'%' | b'#' | b'[' | b']'))
    {
        let raw = out.split_off(start);
        let mut escaper = ItemEscaper { out };
        let _ = escaper.write_str(&raw);
    }
    out.push(']');
}

/// Appends an occurrence number (`2`, `3`, …) to a key; the first occurrence keeps the bare key.
pub(crate) fn with_occurrence(base: &str, occurrence: u32) -> String {
    if occurrence <= 1 {
        base.to_owned()
    } else {
        format!("{base}{OCCURRENCE_SEPARATOR}{occurrence}")
    }
}

struct ItemEscaper<'a> {
    out: &'a mut String,
}

impl fmt::Write for ItemEscaper<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for character in text.chars() {
            match character {
                '%' => self.out.push_str("%25"),
                '#' => self.out.push_str("%23"),
                '[' => self.out.push_str("%5B"),
                ']' => self.out.push_str("%5D"),
                other => self.out.push(other),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrence_suffix_starts_at_the_second_occurrence() {
        assert_eq!(with_occurrence("charge", 1), "charge");
        assert_eq!(with_occurrence("charge", 2), "charge#2");
        assert_eq!(with_occurrence("charge[a]", 3), "charge[a]#3");
    }

    #[test]
    fn items_cannot_forge_suffixes_or_brackets() {
        assert_eq!(item_key("x", "%"), "x[%25]");
        assert_eq!(item_key("x", "[#]"), "x[%5B%23%5D]");
        assert_ne!(item_key("x", "a]#2"), format!("{}#2", item_key("x", "a")));
    }
}
