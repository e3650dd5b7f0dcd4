//! Aligned text tables for a terminal: columns padded to their widest cell, every cell on one
//! line with control characters shown as escapes (stored values are attacker-controlled, and a
//! raw escape sequence would drive the operator's terminal).

use std::fmt::Write as _;

/// Longest cell, in characters, before it is cut with `…`.
const MAX_CELL: usize = 60;

pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|cell| terminal_safe(&cell)).collect());
    }

    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|header| header.len()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
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
                let _ = write!(line, "{cell:<width$}");
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// One line, control characters escaped, at most [`MAX_CELL`] characters.
pub(crate) fn terminal_safe(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\n' => safe.push_str("\\n"),
            '\r' => safe.push_str("\\r"),
            '\t' => safe.push_str("\\t"),
            control if control.is_control() => {
                let _ = write!(safe, "\\u{{{:x}}}", u32::from(control));
            }
            other => safe.push(other),
        }
    }
    if safe.chars().count() > MAX_CELL {
        let mut cut: String = safe.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        return cut;
    }
    safe
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
    fn escape_sequences_and_newlines_cannot_reach_the_terminal() {
        assert_eq!(terminal_safe("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        let long = "x".repeat(100);
        let cut = terminal_safe(&long);
        assert_eq!(cut.chars().count(), MAX_CELL);
        assert!(cut.ends_with('…'));
    }
}
