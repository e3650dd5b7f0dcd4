//! The only code of the command-line tool that writes to standard output or standard error.
//!
//! Commands return their output as text; errors are values. Everything reaches the terminal
//! through [`Console`], which passes it through [`for_terminal`](super::escape::for_terminal)
//! on the way out, so no path can print a stored value raw: not a table, not a run's details,
//! not `--json`, not an error naming a run id or step key, not clap's usage message echoing an
//! argument. Cells and detail lines are escaped where they are built as well (a line feed in a
//! value must not start a new row); the escaping is idempotent, so text escaped already passes
//! the final pass unchanged.

use std::fmt::Display;
use std::io::{Stderr, Stdout, Write};

use super::escape::{for_terminal, lines_for_terminal};

/// Where the tool's output and errors go: the process's standard output and error, or buffers
/// in tests. Write errors (a closed pipe: `awaitly runs | head`) are ignored, not worth a panic.
pub(crate) struct Console<Out, Err> {
    out: Out,
    err: Err,
}

impl Console<Stdout, Stderr> {
    /// The process's standard output and standard error.
    pub(crate) fn stdio() -> Self {
        Self::new(std::io::stdout(), std::io::stderr())
    }
}

impl<Out: Write, Err: Write> Console<Out, Err> {
    /// A console writing to `out` and `err`.
    pub(crate) fn new(out: Out, err: Err) -> Self {
        Self { out, err }
    }

    /// Writes a command's output (lines the tool laid out: a table, a run's details, JSON) to
    /// standard output, each line escaped.
    pub(crate) fn print(&mut self, text: &str) {
        let _ = self.out.write_all(lines_for_terminal(text).as_bytes());
        let _ = self.out.flush();
    }

    /// Writes `error: <message>` to standard error as one line, everything in it escaped: an
    /// error's message may quote a run id, a step key or a path it was given.
    pub(crate) fn error(&mut self, error: &dyn Display) {
        let message = error.to_string();
        let _ = writeln!(self.err, "error: {}", for_terminal(&message));
        let _ = self.err.flush();
    }

    /// Writes a message laid out in lines (clap's usage errors) to standard error, each line
    /// escaped.
    pub(crate) fn usage(&mut self, text: &str) {
        let _ = self.err.write_all(lines_for_terminal(text).as_bytes());
        let _ = self.err.flush();
    }

    /// The buffers written to, in tests.
    #[cfg(test)]
    fn into_parts(self) -> (Out, Err) {
        (self.out, self.err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_raw_reaches_either_stream() {
        let mut console = Console::new(Vec::new(), Vec::new());
        console.print("RUN\n\u{1b}]0;pwned\u{7}\n{\n  \"k\": \"\u{9b}\u{7f}\"\n}\n");
        console.error(&"no run `a\u{1b}[2J\nfake: line`");
        console.usage("error: unexpected argument '\u{202e}x'\n\nUsage: awaitly\n");
        let (out, err) = console.into_parts();
        let (out, err) = (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        );
        assert_eq!(
            out,
            "RUN\n\\u001b]0;pwned\\u0007\n{\n  \"k\": \"\\u009b\\u007f\"\n}\n"
        );
        assert_eq!(
            err,
            "error: no run `a\\u001b[2J\\nfake: line`\n\
             error: unexpected argument '\\u202ex'\n\nUsage: awaitly\n"
        );
    }
}
