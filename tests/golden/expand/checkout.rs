// Input of the expansion golden test (awaitly-macros/src/expand/golden.rs): each `#[workflow]` fn
// here is expanded, pretty-printed, and compared with `checkout.expanded.rs`.
// Regenerate with `AWAITLY_BLESS=1 cargo test -p awaitly-macros --lib expand`.

#[workflow]
async fn checkout(client: &Client, order: Order) -> Result<Receipt, String> {
    let reserved = step!(reserve(&order).await)?;
    for item in &order.items {
        step!("ship", key = item.id, retry = RetryPolicy::attempts(3), client.ship(item).await)?;
    }
    let paid: Payment = await_hook!("payment", timeout = Duration::from_secs(3600))
        .map_err(|timeout| timeout.to_string())?;
    sleep!("cool-off", Duration::from_secs(60));
    Ok(Receipt { reserved, paid })
}

#[workflow(crate = "my::awaitly", rerun_failed)]
async fn refund(id: u32) -> Result<u32, String> {
    let decision: Result<u32, ApprovalError> =
        await_approval!(format!("approve:refund:{id}"), reason = "over the limit");
    decision.map_err(|error| error.to_string())
}
