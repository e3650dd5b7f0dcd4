use awaitly::workflow;

#[workflow]
async fn notify(user: String) {
    let _ = user;
}

fn main() {}
