//! The examples as a newcomer runs them: `checkout_server -- --serve` stops on `SIGTERM` (as on
//! Ctrl-C) and removes its temp database.
//!
//! Runs the example binary `cargo test` builds next to the test binaries (a plain `cargo test`
//! builds every example first; `cargo test --test cli` alone does not, and then this test says
//! it was skipped).
#![cfg(all(unix, feature = "sqlite", feature = "http"))]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/<name>`, next to this test's `target/<profile>/deps/`.
fn example(name: &str) -> Option<PathBuf> {
    let test = std::env::current_exe().ok()?;
    let path = test.parent()?.parent()?.join("examples").join(name);
    path.is_file().then_some(path)
}

#[test]
fn serve_mode_removes_its_database_on_sigterm() {
    let Some(binary) = example("checkout_server") else {
        // Uncaptured, like the PostgreSQL skip notice (tests/common/mod.rs).
        let _ = writeln!(
            std::io::stderr(),
            "note (examples): skipped: the checkout_server example is not built; run `cargo test --all-features`"
        );
        return;
    };
    let mut child = Command::new(binary)
        .arg("--serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the example");
    let database = std::env::temp_dir().join(format!("awaitly-checkout-{}.db", child.id()));
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut transcript = Vec::new();
    // Serving once it tells how to stop it.
    loop {
        let line = lines
            .next()
            .expect("the example stopped before serving")
            .expect("UTF-8 output");
        let ready = line.starts_with("Ctrl-C stops the server");
        transcript.push(line);
        if ready {
            break;
        }
    }
    assert!(
        database.is_file(),
        "{} exists while serving",
        database.display()
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            break status;
        }
        assert!(Instant::now() < deadline, "the example ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    transcript.extend(lines.map_while(Result::ok));
    assert!(status.success(), "{status}: {transcript:#?}");
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", database.display());
        assert!(
            !std::path::Path::new(&file).exists(),
            "{file} is left behind: {transcript:#?}"
        );
    }
}
