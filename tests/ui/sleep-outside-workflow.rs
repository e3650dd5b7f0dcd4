use awaitly::sleep;

async fn not_a_workflow() {
    sleep!("cool-off", std::time::Duration::from_secs(1));
}

fn main() {}
