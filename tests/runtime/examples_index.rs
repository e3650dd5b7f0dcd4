//! `examples/README.md` is the index of the examples: one table row per example, no row for an
//! example that is gone.

use std::collections::BTreeSet;
use std::path::Path;

/// The examples cargo builds: `examples/NAME.rs` and `examples/NAME/main.rs`.
fn examples_on_disk(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("examples/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter_map(|path| {
            let is_example = if path.is_dir() {
                path.join("main.rs").is_file()
            } else {
                path.extension().is_some_and(|extension| extension == "rs")
            };
            let stem = path.file_stem()?.to_str()?.to_owned();
            is_example.then_some(stem)
        })
        .collect()
}

/// The names in the first column of the README's table: `` | `NAME` | … ``.
fn examples_listed(readme: &str) -> BTreeSet<String> {
    readme
        .lines()
        .filter_map(|line| {
            let cell = line.strip_prefix("| `")?;
            let (name, _) = cell.split_once("` |")?;
            Some(name.to_owned())
        })
        .collect()
}

#[test]
fn the_examples_readme_lists_every_example_and_nothing_else() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("examples/README.md");
    let on_disk = examples_on_disk(&dir);
    let listed = examples_listed(&readme);
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "examples/README.md is out of date: add a row for {unlisted:?}; remove the row of {missing:?} \
         (no such example in examples/)"
    );
}

#[test]
fn the_readme_parser_reads_table_rows_only() {
    let readme =
        "# Examples\n\n| Example | Shows |\n|---|---|\n| `a` | A. |\n| `b_c` | `x` |\nText `d` |\n";
    assert_eq!(
        examples_listed(readme),
        BTreeSet::from(["a".to_owned(), "b_c".to_owned()])
    );
}
