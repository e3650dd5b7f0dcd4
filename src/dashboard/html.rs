//! HTML building blocks: escaping, the page frame with its inline stylesheet, and query strings.
//!
//! Pages are `maud` templates: every spliced value is HTML-escaped unless wrapped in
//! `PreEscaped`, which only the stylesheet and the doctype are. Values from the store are spliced
//! as [`Text`], which escapes a little more than maud does by default (see [`escape`]).

use std::fmt::Write as _;

use maud::{Markup, PreEscaped, Render, html};

/// Stored text (a run id, a step key, a payload preview) spliced into a template: escaped by
/// [`escape`], so control characters are shown too, not only markup made inert.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Text<'a>(pub(crate) &'a str);

impl Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&escape(self.0));
    }
}

/// Text made safe to put between tags and inside quoted attribute values: maud's escapes
/// (`&`, `<`, `>`, `"`), `'` as well (safe in single-quoted attributes too), and control
/// characters other than line feed and tab shown as `\u{…}` (a terminal escape in a payload is
/// shown, not passed on to whoever reads the page with `curl`).
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            // Control characters (a terminal escape in a payload) are shown, not passed on.
            control if control.is_control() && !matches!(control, '\n' | '\t') => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(control));
            }
            other => escaped.push(other),
        }
    }
    escaped
}

/// A query-string value, `application/x-www-form-urlencoded` (what a browser's GET form sends:
/// a space is `+`, everything but `*-._` and ASCII alphanumerics percent-encoded).
pub(crate) fn encode_component(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The `name=value` pairs of a query string, decoded as a browser's form encoded them (`+` is a
/// space, a malformed `%` escape is kept literally, invalid UTF-8 becomes U+FFFD).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfd8ff;text-decoration:none}header strong{font-size:16px}
main{padding:16px 24px;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0 20px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6ec;vertical-align:top}
.json{overflow-wrap:anywhere;min-width:16em}
th{background:#eef0f4;font-weight:600}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#fff;border:1px solid #e3e6ec;padding:10px;overflow:auto;white-space:pre-wrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#e3e6ec}
.completed,.approved,.slept{background:#d7f5dd}.failed{background:#fbe0e0}
.suspended,.waiting,.pending,.sleeping{background:#fff4cc}.running,.hook-created{background:#dde8ff}
.stopped,.notReached{background:#f2f2f2}
form{margin:8px 0;display:flex;gap:8px;align-items:center}
.flow{list-style:none;padding:0;margin:8px 0 20px}
.flow li{background:#fff;border:1px solid #c9ced8;border-left-width:6px;margin:0 0 10px;padding:6px 10px;max-width:640px}
.flow li.completed{border-color:#2e7d32}.flow li.failed{border-color:#c62828}
.flow li.pending{border-color:#b7950b}.flow li.notReached{border-color:#9e9e9e;border-style:dashed}
.bar{display:flex;height:8px;max-width:320px;background:#e3e6ec;border-radius:4px;overflow:hidden;margin:4px 0 10px}
.bar .done{background:#2e7d32}.bar .in-flight{background:#b7950b}
.undone{background:#ede3f6}.undo-failed,.cancelled{background:#fbe0e0}
.muted{color:#667085}dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{font-weight:600}dd{margin:0}
";

/// A complete page: the frame, navigation (links relative to the mount point) and `body`.
pub(crate) fn page(title: &str, body: &Markup) -> String {
    html! {
        (PreEscaped("<!DOCTYPE html>\n"))
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (Text(title)) " · awaitly" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "awaitly" }
                    nav { a href="?" { "Runs" } " · " a href="?view=hooks" { "Hooks & approvals" } }
                }
                main { (body) }
            }
        }
        "\n"
    }
    .into_string()
}

/// A status word as a coloured badge.
pub(crate) fn badge(status: &str) -> Markup {
    html! { span class={ "badge " (Text(status)) } { (Text(status)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_controls_are_escaped() {
        assert_eq!(
            escape("</pre><script>x='1'&\"\u{1b}"),
            "&lt;/pre&gt;&lt;script&gt;x=&#39;1&#39;&amp;&quot;\\u{1b}"
        );
        assert_eq!(escape("ünïcødé ✓"), "ünïcødé ✓");
        assert_eq!(
            html! { p title=(Text("\"'")) { (Text("<b>")) } }.into_string(),
            "<p title=\"&quot;&#39;\">&lt;b&gt;</p>"
        );
        assert_eq!(
            badge("a\"b").into_string(),
            "<span class=\"badge a&quot;b\">a&quot;b</span>"
        );
    }

    #[test]
    fn query_strings_round_trip() {
        let value = "order 1&x=<y>/ü";
        let query = format!("run={}&status=", encode_component(value));
        assert_eq!(
            parse_query(&query),
            [
                ("run".to_owned(), value.to_owned()),
                ("status".to_owned(), String::new())
            ]
        );
        assert_eq!(parse_query("a=b+c&%zz=1%")[1].0, "%zz");
        assert_eq!(parse_query("a=1%")[0].1, "1%");
    }
}
