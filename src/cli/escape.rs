//! The one escaping function for everything the command-line tool writes to a terminal.
//!
//! Run ids, workflow names, step keys, error messages, approval reasons and hook metadata come
//! from stored data, which an attacker may have written (a hook payload, a step key built from a
//! request). Written raw, an escape sequence in them would drive the operator's terminal: set
//! the window title (`ESC ] 0;… BEL`), clear the screen, move the cursor to overwrite earlier
//! lines, or (with U+009B, the one-byte CSI of C1) do the same without an ESC byte; a bidi
//! override would make `evil` read as `live`. [`for_terminal`] shows every such character as a
//! visible escape, and [`super::console::Console`], the only code that writes to standard output
//! or standard error, passes everything through it.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `character` is shown as an escape rather than written as itself: the C0 controls
/// (U+0000–U+001F, line feed and tab included), DEL (U+007F), the C1 controls (U+0080–U+009F),
/// and the invisible characters that reorder or break text on a terminal — the bidi marks
/// U+061C, U+200E and U+200F, the line and paragraph separators U+2028 and U+2029, the bidi
/// embeddings and overrides U+202A–U+202E, and the bidi isolates U+2066–U+2069.
///
/// Every one is in the Basic Multilingual Plane, so its escape `\uXXXX` is also a JSON escape.
pub(crate) fn is_escaped(character: char) -> bool {
    matches!(
        character,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// `text` as one line that is safe to write to a terminal: every character [`is_escaped`]
/// selects becomes a visible escape — `\n`, `\r` and `\t` for line feed, carriage return and
/// tab, `\uXXXX` (four lowercase hex digits) for the others — and everything else, non-ASCII
/// text included, is kept as it is. Text with nothing to escape is returned borrowed.
///
/// The escapes are JSON's, so the same function serves `--json`: applied to the lines of
/// `serde_json` output (which already escapes C0 controls, `"` and `\` inside strings, and
/// writes nothing else outside them), it turns a raw DEL, C1 control or bidi character inside a
/// string into its JSON escape, and the text still decodes to the same value.
///
/// A backslash is deliberately *not* escaped. That keeps the function idempotent
/// (`for_terminal(for_terminal(x)) == for_terminal(x)`: its output holds nothing it would
/// escape), so a cell escaped for the table layout passes the console's final pass unchanged,
/// and it keeps JSON text JSON. The price is that a stored string holding the six characters
/// `\u001b` prints like one holding ESC; that is a look-alike, never a control sequence, and
/// `--json` (where a literal backslash is `\\`) tells them apart.
///
/// ```text
/// ESC ] 0 ; p w n e d BEL    →  \u001b]0;pwned\u0007
/// a LF b U+009B 2 J U+202E   →  a\nb\u009b2J\u202e
/// ünïcødé ✓                  →  ünïcødé ✓ (borrowed, unchanged)
/// ```
/// (The unit tests below check exactly these.)
pub(crate) fn for_terminal(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_escaped) else {
        return Cow::Borrowed(text);
    };
    let mut safe = String::with_capacity(text.len() + 16);
    safe.push_str(&text[..first]);
    for character in text[first..].chars() {
        match character {
            '\n' => safe.push_str("\\n"),
            '\r' => safe.push_str("\\r"),
            '\t' => safe.push_str("\\t"),
            escaped if is_escaped(escaped) => {
                let _ = write!(safe, "\\u{:04x}", u32::from(escaped));
            }
            kept => safe.push(kept),
        }
    }
    Cow::Owned(safe)
}

/// [`for_terminal`] applied to each line of `text`, the line feeds between them kept: for text
/// whose lines the tool laid out itself (a table, a run's details, a JSON document, a usage
/// message), where a line feed is structure and not data.
pub(crate) fn lines_for_terminal(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|character| character != '\n' && is_escaped(character))
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.split('\n')
            .map(for_terminal)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// Hostile text and how it is shown.
    const CASES: &[(&str, &str)] = &[
        ("\u{1b}[31mred\u{1b}[0m", "\\u001b[31mred\\u001b[0m"),
        ("\u{1b}]0;pwned\u{7}", "\\u001b]0;pwned\\u0007"),
        ("bell\u{7}", "bell\\u0007"),
        ("csi\u{9b}2J", "csi\\u009b2J"),
        ("del\u{7f}x", "del\\u007fx"),
        ("nul\u{0}x", "nul\\u0000x"),
        ("cr\rspoof", "cr\\rspoof"),
        ("line\nfeed\ttab", "line\\nfeed\\ttab"),
        ("bidi\u{202e}txt.exe", "bidi\\u202etxt.exe"),
        ("iso\u{2066}x\u{2069}", "iso\\u2066x\\u2069"),
        ("marks\u{200e}\u{200f}\u{61c}", "marks\\u200e\\u200f\\u061c"),
        ("sep\u{2028}\u{2029}", "sep\\u2028\\u2029"),
        ("ünïcødé ✓", "ünïcødé ✓"),
        ("back\\slash \\u001b", "back\\slash \\u001b"),
        ("", ""),
    ];

    #[test]
    fn hostile_text_is_shown_as_escapes_and_other_text_is_kept() {
        for (raw, shown) in CASES {
            assert_eq!(for_terminal(raw), *shown, "{raw:?}");
        }
        assert!(matches!(for_terminal("ünïcødé ✓"), Cow::Borrowed(_)));
        assert!(matches!(for_terminal("a\u{1b}"), Cow::Owned(_)));
    }

    #[test]
    fn every_character_it_escapes_has_a_json_escape() {
        for code in 0..=0xffff_u32 {
            let Some(character) = char::from_u32(code) else {
                continue;
            };
            if is_escaped(character) {
                let text = character.to_string();
                let escaped = for_terminal(&text);
                let decoded: String = serde_json::from_str(&format!("\"{escaped}\"")).unwrap();
                assert_eq!(decoded, text, "U+{code:04X}");
            }
        }
        assert!(('\u{10000}'..=char::MAX).all(|character| !is_escaped(character)));
    }

    #[test]
    fn lines_keep_their_breaks_and_escape_the_rest() {
        assert_eq!(lines_for_terminal("a\nb\n"), "a\nb\n");
        assert_eq!(
            lines_for_terminal("a\u{1b}[2J\nb\u{9b}\r\n"),
            "a\\u001b[2J\nb\\u009b\\r\n"
        );
    }

    #[test]
    fn json_with_del_c1_and_bidi_stays_json() {
        let value = serde_json::json!({ "key": "\u{7f}\u{9b}\u{85}\u{202e}\u{1b}\n", "\u{9b}": 1 });
        let text = serde_json::to_string_pretty(&value).unwrap();
        assert!(text.contains('\u{9b}'), "serde_json leaves C1 raw");
        let escaped = lines_for_terminal(&text);
        assert!(!escaped.chars().any(|c| c != '\n' && is_escaped(c)));
        assert!(escaped.contains("\\u009b") && escaped.contains("\\u007f"));
        assert_eq!(serde_json::from_str::<Value>(&escaped).unwrap(), value);
    }

    fn nothing_escapable(text: &str) -> bool {
        !text.chars().any(is_escaped)
    }

    /// Any text, weighted towards what a terminal reacts to: ASCII with C0, DEL and C1, the
    /// General Punctuation block (bidi controls and separators), backslashes and quotes.
    fn hostile_text() -> impl Strategy<Value = String> {
        let character = prop_oneof![
            any::<char>(),
            proptest::char::range('\u{0}', '\u{a0}'),
            proptest::char::range('\u{2000}', '\u{206f}'),
            Just('\\'),
            Just('"'),
        ];
        prop::collection::vec(character, 0..48)
            .prop_map(|characters| characters.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2_000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn any_text_comes_out_without_controls_and_escaping_twice_changes_nothing(
            text in hostile_text()
        ) {
            let once = for_terminal(&text);
            prop_assert!(nothing_escapable(&once), "{once:?}");
            prop_assert!(!once.chars().any(char::is_control), "{once:?}");
            prop_assert_eq!(for_terminal(&once), once.clone());
            // Nothing is lost: without backslashes and quotes, the escapes read back as JSON.
            let plain = text.replace(['\\', '"'], "");
            let shown = for_terminal(&plain);
            let decoded: String = serde_json::from_str(&format!("\"{shown}\"")).unwrap();
            prop_assert_eq!(decoded, plain);
        }

        #[test]
        fn any_text_in_json_round_trips_and_leaves_no_control_raw(
            text in hostile_text(),
            key in hostile_text(),
        ) {
            let value = serde_json::json!({ key.clone(): [text.clone(), { "nested": text }] });
            let document = serde_json::to_string_pretty(&value).unwrap();
            let escaped = lines_for_terminal(&document);
            prop_assert!(!escaped.chars().any(|c| c != '\n' && is_escaped(c)));
            let decoded: Value = serde_json::from_str(&escaped).unwrap();
            prop_assert_eq!(decoded, value);
        }

        #[test]
        fn a_line_stays_one_line(text in hostile_text()) {
            let once = for_terminal(&text);
            prop_assert!(!once.contains('\n') && !once.contains('\r'));
            prop_assert_eq!(
                lines_for_terminal(&text).split('\n').count(),
                text.split('\n').count()
            );
        }
    }
}
