use awaitly::{fan_out, step, workflow};

#[workflow]
async fn ship() -> Result<Vec<u8>, String> {
    let shipped = fan_out!("ship-all", order in step!("load", Ok::<Vec<u8>, String>(vec![1]))?,
        step!("ship", Ok::<u8, String>(order))
    );
    shipped.into_iter().collect()
}

fn main() {}
