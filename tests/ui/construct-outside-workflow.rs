use awaitly::all;

async fn checkout() -> (u8, u8) {
    all!("checkout", a => 1, b => 2)
}

fn main() {}
