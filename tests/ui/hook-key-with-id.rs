use awaitly::{HookId, await_hook, workflow};

#[workflow]
async fn approval(hook: HookId, item: u32) -> Result<bool, String> {
    let approved: bool = await_hook!(hook, key = item);
    Ok(approved)
}

fn main() {}
