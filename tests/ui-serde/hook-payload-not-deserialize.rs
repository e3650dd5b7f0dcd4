use awaitly::{HookId, await_hook, workflow};

struct Payment {
    amount: u32,
}

#[workflow]
async fn checkout(hook: HookId) -> Result<u32, String> {
    let payment: Payment = await_hook!(hook);
    Ok(payment.amount)
}

fn main() {}
