// Input of the expansion golden test (awaitly-macros/src/expand/golden.rs): each `#[workflow]` fn
// here is expanded, pretty-printed, and compared with `parallel.expanded.rs`.
// Regenerate with `AWAITLY_BLESS=1 cargo test -p awaitly-macros --lib expand`.

#[workflow]
async fn checkout(order: Order) -> Result<Receipt, String> {
    let (stock, payment) = try_all!("checkout",
        stock => step!(reserve(&order).await),
        payment => step!(authorise(&order).await),
    )?;
    let shipped = fan_out!("ship-all", item in order.items, key = item.id, concurrency = 16,
        step!("ship", ship(&item).await)
    );
    let answer = race!("answer-or-timeout",
        answer => { let said: String = await_hook!("answer"); said },
        timeout => { sleep!("deadline", Duration::from_hours(1)); "timed out".to_owned() },
    );
    Ok(Receipt { stock, payment, shipped, answer })
}
