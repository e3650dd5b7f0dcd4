use awaitly::{step, workflow};

#[workflow]
async fn checkout() -> Result<u8, String> {
    step!("run:cancel", Ok::<u8, String>(1))
}

fn main() {}
