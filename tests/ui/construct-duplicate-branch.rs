use awaitly::{all, step, workflow};

#[workflow]
async fn checkout() -> Result<(u8, u8), String> {
    let (a, b) = all!("checkout",
        stock => step!("reserve", Ok::<u8, String>(1)),
        stock => step!("authorise", Ok::<u8, String>(2)),
    );
    Ok((a?, b?))
}

fn main() {}
