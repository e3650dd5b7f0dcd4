//! Key derivation: pure and deterministic. Inputs are the site's label or the name of the function
//! it calls; never line or column numbers, hashes or anything that depends on the toolchain.
//!
//! Keys are a persisted format: a change here changes the keys stored states are replayed by, and
//! must show up as a diff of the golden tests below. This is recipe version 1
//! (`awaitly::KEY_RECIPE_VERSION`).

/// Characters the runtime appends to keys (`label[item]`, `key#2`), so labels may not contain them.
const RESERVED_CHARACTERS: [char; 3] = ['#', '[', ']'];

/// The prefix of hook payload keys (`hook:<id>`); labels may not start with it.
const HOOK_KEY_PREFIX: &str = "hook:";

/// The prefix of the run's own records (`run:cancel`, `run:undo:<key>`); labels may not start
/// with it.
const RUN_KEY_PREFIX: &str = "run:";

/// Checks a user-written label; `Err` holds the message.
pub(crate) fn check_label(label: &str) -> Result<(), String> {
    check_key(label, "a label", "name the step, e.g. `\"charge-card\"`")
}

/// Checks the literal key of an `await_approval!`: the rules of a label, so that it can never
/// collide with a per-item key, an occurrence suffix or a hook key. `Err` holds the message.
pub(crate) fn check_approval_key(key: &str) -> Result<(), String> {
    check_key(
        key,
        "an approval key",
        "name the approval, e.g. `\"approve:refund\"`",
    )
}

fn check_key(key: &str, what: &str, empty_hint: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(format!("{what} cannot be empty; {empty_hint}"));
    }
    if let Some(reserved) = key
        .chars()
        .find(|character| RESERVED_CHARACTERS.contains(character))
    {
        return Err(format!(
            "{what} cannot contain `{reserved}`: `#`, `[` and `]` are reserved for per-item keys and occurrence suffixes"
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(format!("{what} cannot contain control characters"));
    }
    if key.starts_with(HOOK_KEY_PREFIX) {
        return Err(format!(
            "{what} cannot start with `hook:`, the prefix of hook payload keys"
        ));
    }
    if key.starts_with(RUN_KEY_PREFIX) {
        return Err(format!(
            "{what} cannot start with `run:`, the prefix of the run's own records (cancellation, compensations)"
        ));
    }
    Ok(())
}

/// The key derived from the name of what a step calls; `None` when the name cannot be a key
/// (a constructor such as `Ok` or `Some` says nothing about the step).
pub(crate) fn derive_from_call(name: &str) -> Option<String> {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let first = name.chars().next()?;
    (first.is_lowercase() || first == '_').then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden table of derived keys: a change to any row is a breaking change of stored states.
    #[test]
    fn derived_keys_are_stable() {
        let golden = [
            ("create_order", Some("create_order")),
            ("charge", Some("charge")),
            ("r#type", Some("type")),
            ("_private", Some("_private")),
            ("Ok", None),
            ("Some", None),
            ("Order", None),
        ];
        for (name, expected) in golden {
            assert_eq!(
                derive_from_call(name).as_deref(),
                expected,
                "derived key of `{name}`"
            );
        }
    }

    #[test]
    fn labels_follow_the_rules() {
        for good in ["create-order", "charge", "a.b/c:d", "Étape 1"] {
            assert_eq!(check_label(good), Ok(()), "{good}");
        }
        let bad = [
            ("", "cannot be empty"),
            ("a#2", "cannot contain `#`"),
            ("a[b]", "cannot contain `[`"),
            ("b]", "cannot contain `]`"),
            ("hook:x", "cannot start with `hook:`"),
            ("a\nb", "control characters"),
        ];
        for (label, expected) in bad {
            let message = check_label(label).unwrap_err();
            assert!(message.contains(expected), "{label:?}: {message}");
            let message = check_approval_key(label).unwrap_err();
            assert!(
                message.starts_with("an approval key") && message.contains(expected),
                "{label:?}: {message}"
            );
        }
        assert_eq!(check_approval_key("approve:refund"), Ok(()));
    }
}
