//! The callback path: deliveries over HTTP (`hooks_router` served by `awaitly::http::serve` on
//! 127.0.0.1, reqwest clients), each completing its own suspended run on SQLite.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use awaitly::durable::Engine;
use awaitly::http::{HooksConfig, ServeConfig, hooks_router_with};
use awaitly::store::{RunOutcome, SqliteStore};
use awaitly::{await_hook, workflow};

use crate::ours::Sample;

/// Waits at one hook for a number and returns it.
#[workflow]
pub(crate) async fn callback(i: u32) -> Result<u32, String> {
    let got: u32 = await_hook!("callback");
    if got == i {
        Ok(got)
    } else {
        Err(format!("run {i} got the payload of run {got}"))
    }
}

/// `deliveries` runs suspended at their hook (untimed), then their callbacks from `clients`
/// concurrent HTTP clients; every delivery must answer 200 (its run completed).
pub(crate) async fn deliveries(
    path: &Path,
    deliveries: usize,
    clients: usize,
) -> Result<Sample, String> {
    let store = SqliteStore::open(path)
        .await
        .map_err(|error| format!("SqliteStore::open: {error}"))?;
    let engine = Arc::new(Engine::new(store).register("callback", 1, callback));
    let config = HooksConfig::default();
    let app = hooks_router_with(Arc::clone(&engine), config.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("bind: {error}"))?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|error| error.to_string())?
    );
    let server =
        tokio::spawn(
            async move { awaitly::http::serve(listener, app, &ServeConfig::default()).await },
        );

    let mut urls = Vec::with_capacity(deliveries);
    for i in 0..deliveries {
        let index = u32::try_from(i).map_err(|error| error.to_string())?;
        let started = engine
            .start(&format!("cb-{i}"), "callback", &index)
            .await
            .map_err(|error| format!("start: {error}"))?;
        let RunOutcome::Suspended { hook } = started.outcome else {
            return Err(format!("run {i} did not suspend: {:?}", started.outcome));
        };
        urls.push((
            format!("{base}{}", config.hook_url(hook.hook_id.as_str())),
            index.to_string(),
        ));
    }
    let urls = Arc::new(urls);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .map_err(|error| error.to_string())?;
    // Warm the connections: a hook that does not exist answers 404.
    let mut warm = Vec::new();
    for _ in 0..clients {
        let request = client
            .post(format!("{base}{}", config.hook_url("warm-up")))
            .header("content-type", "application/json")
            .body("{}");
        warm.push(tokio::spawn(request.send()));
    }
    for request in warm {
        let _ = request.await;
    }

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, urls, next) = (client.clone(), Arc::clone(&urls), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some((url, body)) = urls.get(index) else {
                    return Ok::<_, String>(latencies);
                };
                let sent = Instant::now();
                let response = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|error| format!("POST {url}: {error}"))?;
                let status = response.status();
                let answer = response.bytes().await.map_err(|error| error.to_string())?;
                latencies.push(sent.elapsed());
                if status != reqwest::StatusCode::OK {
                    return Err(format!(
                        "POST {url}: {status} {}",
                        String::from_utf8_lossy(&answer)
                    ));
                }
            }
        }));
    }
    let mut latencies = Vec::with_capacity(deliveries);
    for task in tasks {
        latencies.extend(task.await.map_err(|error| error.to_string())??);
    }
    let sample = Sample::new(deliveries, started.elapsed(), latencies);
    server.abort();
    Ok(sample)
}
