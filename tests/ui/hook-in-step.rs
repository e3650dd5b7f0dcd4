use awaitly::{HookId, await_hook, step, workflow};

async fn charge(amount: u32) -> Result<u32, String> {
    Ok(amount)
}

#[workflow]
async fn checkout(hook: HookId) -> Result<u32, String> {
    step!(charge(await_hook!(hook)).await)
}

fn main() {}
