//! Aligned text tables for a terminal: columns padded to their widest cell, measured in terminal
//! columns (a CJK character or an emoji takes two, a combining mark none), every cell on one
//! line with control characters shown as escapes by [`for_terminal`] (stored values are
//! attacker-controlled: a raw escape sequence would drive the operator's terminal, a raw line
//! feed would forge a row).

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use super::escape::for_terminal;

/// Widest cell, in terminal columns, before it is cut with `…`.
const MAX_CELL: usize = 60;

pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers and no rows.
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; each cell is made one escaped line by [`cell`].
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|text| cell(&text)).collect());
    }

    /// The table as lines of text, columns aligned.
    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|header| header.width()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.width());
            }
        }
        let mut text = String::new();
        let headers = self.headers.iter().map(|header| (*header).to_owned());
        for row in std::iter::once(headers.collect::<Vec<_>>()).chain(self.rows.iter().cloned()) {
            let mut line = String::new();
            for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
                if index > 0 {
                    line.push_str("  ");
                }
                // `{:<width$}` would pad to a count of characters, not of columns.
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', width - cell.width()));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// `text` as one line escaped by [`for_terminal`], cut with `…` to at most [`MAX_CELL`] columns.
pub(crate) fn cell(text: &str) -> String {
    let safe = for_terminal(text);
    if safe.width() <= MAX_CELL {
        return safe.into_owned();
    }
    let mut cut = String::new();
    let mut used = 0;
    for character in safe.chars() {
        used += character.width().unwrap_or(0);
        if used > MAX_CELL - 1 {
            break;
        }
        cut.push(character);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_on_the_widest_cell() {
        let mut table = Table::new(&["RUN", "STATUS"]);
        table.row(vec!["order-1000".into(), "suspended".into()]);
        table.row(vec!["r".into(), "failed".into()]);
        assert_eq!(
            table.render(),
            "RUN         STATUS\norder-1000  suspended\nr           failed\n"
        );
    }

    #[test]
    fn unicode_counts_characters_not_bytes() {
        let mut table = Table::new(&["A", "B"]);
        table.row(vec!["ünï".into(), "x".into()]);
        table.row(vec!["abcd".into(), "y".into()]);
        assert_eq!(table.render(), "A     B\nünï   x\nabcd  y\n");
    }

    #[test]
    fn cjk_and_emoji_take_two_columns() {
        let mut table = Table::new(&["RUN", "STATUS"]);
        table.row(vec!["注文-1".into(), "suspended".into()]);
        table.row(vec!["🎉x".into(), "failed".into()]);
        table.row(vec!["e\u{301}".into(), "completed".into()]);
        table.row(vec!["plain".into(), "running".into()]);
        // Every STATUS starts 8 columns in (`注文-1` is 6 wide: 注 and 文 take two columns each, as
        // 🎉 does; the combining acute accent after `e` takes none).
        assert_eq!(
            table.render(),
            "RUN     STATUS\n\
             注文-1  suspended\n\
             🎉x     failed\n\
             e\u{301}       completed\n\
             plain   running\n"
        );
        let cut = cell(&"界".repeat(40));
        assert_eq!(
            cut.width(),
            MAX_CELL - 1,
            "29 wide characters and the ellipsis"
        );
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn escape_sequences_and_newlines_cannot_reach_the_terminal() {
        assert_eq!(cell("a\nb\u{1b}[2J\u{9b}"), "a\\nb\\u001b[2J\\u009b");
        let long = "x".repeat(100);
        let cut = cell(&long);
        assert_eq!(cut.chars().count(), MAX_CELL);
        assert!(cut.ends_with('…'));
    }
}
