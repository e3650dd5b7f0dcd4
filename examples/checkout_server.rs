//! A checkout that waits for the payment provider's callback over real HTTP, durably.
//!
//! Starts the callback server on 127.0.0.1 (a free port) with a SQLite store in a temp file,
//! starts a checkout that creates the order and suspends at the payment hook, prints the
//! callback URL, then plays the payment provider: POSTs the payment to that URL and prints the
//! fulfilled order.
//!
//! The public callback router is served with `awaitly::http::serve` (header and body read
//! timeouts); the administration listing (`GET /admin/hooks`) sits next to it, where a real
//! application puts its authentication layer.
//!
//! `cargo run --example checkout_server --features sqlite,http`
//! `cargo run --example checkout_server --features sqlite,http -- --serve` keeps the server
//! running so you can deliver the callback yourself with `curl`, until Ctrl-C (or `SIGTERM`).
//!
//! The temp database is removed on every way out: done, an error, Ctrl-C or `SIGTERM`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use awaitly::durable::Engine;
use awaitly::http::axum::Router;
use awaitly::http::{HooksConfig, ServeConfig, admin_router_with, hooks_router_with, not_found};
use awaitly::store::{RunOutcome, SqliteStore};
use awaitly::{await_hook, step, workflow};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct CheckoutInput {
    customer: String,
    total_cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Payment {
    payment_id: String,
    amount_cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: String,
    customer: String,
    total_cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct FulfilledOrder {
    order_id: String,
    payment_id: String,
    status: String,
}

async fn create_order(input: &CheckoutInput) -> Result<Order, String> {
    tokio::task::yield_now().await; // stands in for the call to the order service
    Ok(Order {
        id: "ord_1".to_owned(),
        customer: input.customer.clone(),
        total_cents: input.total_cents,
    })
}

async fn fulfil(order: &Order, payment: &Payment) -> Result<FulfilledOrder, String> {
    tokio::task::yield_now().await; // stands in for the call to the warehouse
    if payment.amount_cents != order.total_cents {
        return Err(format!(
            "paid {} cents for an order of {}",
            payment.amount_cents, order.total_cents
        ));
    }
    Ok(FulfilledOrder {
        order_id: order.id.clone(),
        payment_id: payment.payment_id.clone(),
        status: "fulfilled".to_owned(),
    })
}

#[workflow]
async fn checkout(input: CheckoutInput) -> Result<FulfilledOrder, String> {
    let order = step!("create-order", create_order(&input).await)?;
    let payment: Payment = await_hook!(
        "payment",
        metadata = serde_json::json!({ "order_id": order.id, "amount_cents": order.total_cents })
    );
    step!("fulfil", fulfil(&order, &payment).await)
}

/// The example's SQLite file (and its WAL files), removed when dropped.
struct TempDatabase(PathBuf);

impl Drop for TempDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve = std::env::args().any(|argument| argument == "--serve");
    let database = TempDatabase(
        std::env::temp_dir().join(format!("awaitly-checkout-{}.db", std::process::id())),
    );
    // The store is closed (its engine dropped, the server stopped) when `run_server` returns, then
    // `database` removes the files, whichever way it returned.
    run_server(&database.0, serve).await
}

async fn run_server(database: &Path, serve: bool) -> Result<(), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(database).await?;
    let engine = Arc::new(Engine::new(store).register("checkout", 1, checkout));

    // Unknown, expired and used hook ids all get the same 404: nothing to learn by probing.
    let config = HooksConfig::default().uniform_rejections(true);
    let app: Router = Router::new()
        // Public: the payment provider posts here.
        .merge(hooks_router_with(Arc::clone(&engine), config.clone()))
        // Operators only: in a real application, `.layer(your_auth)` on this router.
        .nest("/admin", admin_router_with(Arc::clone(&engine), &config))
        .fallback(not_found);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        if let Err(error) = awaitly::http::serve(listener, app, &ServeConfig::default()).await {
            eprintln!("the callback server stopped: {error}");
        }
    });
    // Stops the server (dropping its engine) on every way out of this function.
    let _server = AbortOnDrop(server);
    println!("callback server on {base} (runs in {})", database.display());

    let input = CheckoutInput {
        customer: "ada@example.com".to_owned(),
        total_cents: 4200,
    };
    let started = engine.start("checkout-1", "checkout", &input).await?;
    let RunOutcome::Suspended { hook } = &started.outcome else {
        return Err(format!(
            "expected the checkout to wait for the payment, got {:?}",
            started.outcome
        )
        .into());
    };
    let callback = format!("{base}{}", config.hook_url(hook.hook_id.as_str()));
    println!("order created, waiting for the payment provider");
    println!("callback URL: {callback}");

    let payment = serde_json::json!({ "payment_id": "pay_1", "amount_cents": 4200 });
    if serve {
        println!("pending hooks (admin, put it behind your auth): curl {base}/admin/hooks");
        println!("pay: curl -X POST {callback} -H 'content-type: application/json' -d '{payment}'");
        // Listening before saying so: a signal sent right after the line is not the default kill.
        let stop = Shutdown::listen()?;
        println!("Ctrl-C stops the server and removes {}", database.display());
        stop.wait().await;
        println!("stopping: removing {}", database.display());
        return Ok(());
    }

    println!("payment provider: POST {callback}");
    let response = reqwest::Client::new()
        .post(&callback)
        .json(&payment)
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    println!("callback answered {status}: {body}");
    if status != reqwest::StatusCode::OK {
        return Err(format!("the callback was not accepted: {status}").into());
    }
    let fulfilled: FulfilledOrder = serde_json::from_value(body["result"].clone())?;
    println!("fulfilled order: {fulfilled:?}");
    Ok(())
}

/// Aborts the server task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Ctrl-C, or `SIGTERM` (what `kill` and service managers send) on Unix, listened for from the
/// moment it is made.
struct Shutdown {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
