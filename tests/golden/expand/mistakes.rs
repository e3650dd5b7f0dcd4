// Input of the expansion golden test (awaitly-macros/src/expand/golden.rs): mistakes expand to
// their error next to a well-typed hole, and the rest of the fn is expanded as usual.
// Regenerate with `AWAITLY_BLESS=1 cargo test -p awaitly-macros --lib expand`.

#[workflow]
async fn misplaced(items: Vec<u32>) -> Result<u32, String> {
    let total = step!("total", Ok::<u32, String>(items.iter().sum()))?;
    let doubled: Vec<u32> = items.iter().map(|item| step!("double", double(*item)).unwrap()).collect();
    step!("total", Ok::<u32, String>(total))
}

#[workflow]
async fn no_return_type() {
    step!(load().await);
}
