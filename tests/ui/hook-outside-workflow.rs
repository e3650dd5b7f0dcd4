use awaitly::{HookId, await_hook};

async fn wait(hook: HookId) -> Result<u32, String> {
    let payment: u32 = await_hook!(hook);
    Ok(payment)
}

fn main() {}
