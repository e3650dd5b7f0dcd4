use awaitly::{sleep, workflow};

#[workflow]
async fn reminder(days: Vec<u64>) -> Result<(), String> {
    days.iter().for_each(|day| {
        sleep!("day", key = day, std::time::Duration::from_secs(*day));
    });
    Ok(())
}

fn main() {}
