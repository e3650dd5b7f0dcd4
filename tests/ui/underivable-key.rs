use awaitly::{step, workflow};

#[workflow]
async fn checkout() -> Result<u8, String> {
    let one = step!(Ok::<u8, String>(1))?;
    Ok(one + 1)
}

fn main() {}
