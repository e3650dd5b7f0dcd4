//! Lone UTF-16 surrogates in resume-state JSON.
//!
//! `JSON.stringify` writes a string cut in the middle of an emoji as `"\ud83d"`: an escape of half a
//! surrogate pair. awaitly reads it back; a Rust `String` cannot hold it and `serde_json` refuses it.
//! So [`ResumeState::from_json`](crate::ResumeState::from_json) maps every such escape, wherever it
//! stands (a key, a value, an error, a cause, hook or approval metadata), to two private-use
//! characters before parsing, and [`ResumeState::to_json`](crate::ResumeState::to_json) writes
//! them back as the same escape: a state read from awaitly is written back byte for byte.
//!
//! In between, the state holds the private form: [`MARK`] followed by `U+F0000 + (unit − 0xD800)`
//! (a unit is `0xD800..=0xDFFF`, so the second character is `U+F0000..=U+F07FF`, Supplementary
//! Private Use Area-A). Code that reads such a string (an error's message, a hook's metadata, a
//! value decoded as `String`) sees those two characters where JavaScript had the lone unit; writing
//! it in a later step's value and then calling `to_json` gives awaitly its lone unit back. Other
//! writers (`serde_json::to_string`, the stores) keep the private form, which `from_json` and the
//! stores read back unchanged.
//!
//! The one text this cannot tell apart: input that already holds `MARK` followed by a character of
//! `U+F0000..=U+F07FF` is written back by `to_json` as a lone-surrogate escape.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Starts the private form of a lone surrogate (Supplementary Private Use Area-A, just past the
/// 2048 characters the units map to).
pub(crate) const MARK: char = '\u{F0800}';

/// The private character of the first surrogate unit, `0xD800`.
const BASE: u32 = 0xF0000;

const FIRST_SURROGATE: u16 = 0xD800;
const FIRST_LOW_SURROGATE: u16 = 0xDC00;
const LAST_SURROGATE: u16 = 0xDFFF;

/// `json` with every lone-surrogate escape (`\uD800`–`\uDFFF` not part of a high-low pair) replaced
/// by its private form; borrowed when there is none.
pub(crate) fn encode(json: &str) -> Cow<'_, str> {
    let bytes = json.as_bytes();
    let mut encoded: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(offset) = bytes.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let escape = at + offset;
        if bytes.get(escape + 1) != Some(&b'u') {
            // `\"`, `\\`, `\n`, …: skip the escaped character, which may be a backslash.
            at = escape + 2;
            continue;
        }
        let Some(unit) = hex_unit(bytes, escape + 2) else {
            at = escape + 2;
            continue;
        };
        at = escape + 6;
        if !(FIRST_SURROGATE..=LAST_SURROGATE).contains(&unit) {
            continue;
        }
        if unit < FIRST_LOW_SURROGATE
            && bytes.get(at..at + 2) == Some(&b"\\u"[..])
            && hex_unit(bytes, at + 2)
                .is_some_and(|low| (FIRST_LOW_SURROGATE..=LAST_SURROGATE).contains(&low))
        {
            // A high-low pair: one character, which serde_json reads itself.
            at += 6;
            continue;
        }
        let out = encoded.get_or_insert_with(|| String::with_capacity(json.len() + 8));
        // Backslashes and hex digits are ASCII: these are character boundaries.
        out.push_str(&json[copied..escape]);
        out.push(MARK);
        out.push(private_char(unit));
        copied = at;
    }
    match encoded {
        None => Cow::Borrowed(json),
        Some(mut out) => {
            out.push_str(&json[copied..]);
            Cow::Owned(out)
        }
    }
}

/// `json` with every private form written back as the escape of its lone surrogate (lowercase hex,
/// as `JSON.stringify` writes it).
pub(crate) fn decode(json: String) -> String {
    if !json.contains(MARK) {
        return json;
    }
    let mut decoded = String::with_capacity(json.len());
    let mut characters = json.chars().peekable();
    while let Some(character) = characters.next() {
        if character == MARK
            && let Some(unit) = characters.peek().and_then(|&next| surrogate_of(next))
        {
            characters.next();
            // Writing into a String cannot fail.
            let _ = write!(decoded, "\\u{unit:04x}");
        } else {
            decoded.push(character);
        }
    }
    decoded
}

/// The 16-bit unit written as four hex digits at `start`.
fn hex_unit(bytes: &[u8], start: usize) -> Option<u16> {
    let digits = bytes.get(start..start + 4)?;
    let digits = std::str::from_utf8(digits).ok()?;
    if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

fn private_char(unit: u16) -> char {
    char::from_u32(BASE + u32::from(unit - FIRST_SURROGATE)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The surrogate unit `character` stands for after [`MARK`].
fn surrogate_of(character: char) -> Option<u16> {
    let offset = u32::from(character).checked_sub(BASE)?;
    let span = u32::from(LAST_SURROGATE - FIRST_SURROGATE);
    (offset <= span).then(|| FIRST_SURROGATE + u16::try_from(offset).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    fn round_trip(json: &str) -> String {
        decode(encode(json).into_owned())
    }

    #[test]
    fn lone_units_become_private_and_come_back() {
        for json in [
            r#""\ud83d""#,
            r#""\uDE00 tail""#,
            r#"["\ud83d\ud83d", "\ude00\ud83d"]"#,
            r#"{"k\udbff":"\udc00x"}"#,
        ] {
            let encoded = encode(json);
            assert!(
                !encoded.contains("\\ud") && !encoded.contains("\\uD"),
                "{encoded}"
            );
            assert!(serde_json::from_str::<serde_json::Value>(&encoded).is_ok());
            assert_eq!(round_trip(json).to_lowercase(), json.to_lowercase());
        }
    }

    #[test]
    fn pairs_and_other_escapes_are_left_alone() {
        for json in [
            r#""\ud83d\ude00""#,
            r#""\\ud83d""#,
            r#""\\\ud83d\udE00""#,
            r#""plain é 😀""#,
            r#""\u00e9\n\"""#,
            r#""\u12""#,
            "\\",
            "x\\u",
            "\\ud83",
        ] {
            assert!(
                matches!(encode(json), std::borrow::Cow::Borrowed(_)),
                "{json}"
            );
        }
    }

    #[test]
    fn a_mark_not_followed_by_a_private_unit_is_text() {
        let text = format!("\"{}x{}\"", super::MARK, super::MARK);
        assert_eq!(decode(text.clone()), text);
    }
}
