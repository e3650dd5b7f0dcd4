use awaitly::{step, workflow};

#[workflow]
async fn checkout() -> Result<u32, String> {
    step!("load",)
}

fn main() {}
