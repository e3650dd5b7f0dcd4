use awaitly::workflow;

#[workflow]
struct Checkout {
    total: u32,
}

fn main() {
    let checkout = Checkout { total: 1 };
    let _ = checkout.total;
}
