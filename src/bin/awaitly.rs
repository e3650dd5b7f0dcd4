//! The `awaitly` command-line tool: see `awaitly --help` and [`awaitly::cli`].

fn main() -> std::process::ExitCode {
    awaitly::cli::run(std::env::args_os())
}
