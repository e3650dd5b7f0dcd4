//! Waking workers through `LISTEN`/`NOTIFY`: one dedicated connection per store listens on the
//! store's channel; every notification bumps a counter that waiting workers watch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::store::StoreError;

/// The listening connection, opened on first use and reopened after it drops.
pub(super) struct Listener {
    url: String,
    channel: String,
    notifications: watch::Sender<u64>,
    /// The latest notification count a wait acted on: a wait that finds the count moved on since
    /// (a notification arrived while its worker was claiming, not waiting) ends at once instead
    /// of missing it.
    seen: AtomicU64,
    /// The listening client (dropping it closes the connection) and whether its connection is up.
    connection: Mutex<Option<(Client, Arc<AtomicBool>)>>,
}

impl Listener {
    pub(super) fn new(url: &str, channel: &str) -> Self {
        Self {
            url: url.to_owned(),
            channel: channel.to_owned(),
            notifications: watch::channel(0).0,
            seen: AtomicU64::new(0),
            connection: Mutex::new(None),
        }
    }

    /// Waits for a notification on the channel or `timeout`, whichever comes first; returns at
    /// once if a notification arrived since the latest wait ended (its worker was claiming
    /// then). If the listening connection cannot be opened, it waits out `timeout` (workers then
    /// poll).
    pub(super) async fn wait(&self, timeout: Duration) -> Result<(), StoreError> {
        let mut notified = self.notifications.subscribe();
        let current = *notified.borrow_and_update();
        if self.seen.fetch_max(current, Ordering::SeqCst) < current {
            return Ok(());
        }
        if self.ensure_listening().await.is_err() {
            tokio::time::sleep(timeout).await;
            return Ok(());
        }
        let _ = tokio::time::timeout(timeout, notified.changed()).await;
        self.seen
            .fetch_max(*notified.borrow_and_update(), Ordering::SeqCst);
        Ok(())
    }

    async fn ensure_listening(&self) -> Result<(), StoreError> {
        let mut held = self.connection.lock().await;
        if let Some((_, alive)) = held.as_ref()
            && alive.load(Ordering::SeqCst)
        {
            return Ok(());
        }
        let (client, mut connection) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .map_err(StoreError::from_backend)?;
        let sender = self.notifications.clone();
        let alive = Arc::new(AtomicBool::new(true));
        let driver_alive = Arc::clone(&alive);
        tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|context| connection.poll_message(context)).await {
                    Some(Ok(AsyncMessage::Notification(_))) => {
                        sender.send_modify(|count| *count = count.wrapping_add(1));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
            driver_alive.store(false, Ordering::SeqCst);
        });
        client
            .batch_execute(&format!("LISTEN \"{}\"", self.channel))
            .await
            .map_err(StoreError::from_backend)?;
        *held = Some((client, alive));
        Ok(())
    }
}
