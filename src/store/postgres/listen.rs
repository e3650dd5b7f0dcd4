//! Waking workers through `LISTEN`/`NOTIFY`: one dedicated connection per store listens on the
//! store's channel; every notification bumps a counter that waiting workers watch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::store::StoreError;

/// The listening connection, opened on first use and reopened after it drops.
pub(super) struct Listener {
    url: String,
    channel: String,
    notifications: watch::Sender<u64>,
    /// The listening client (dropping it closes the connection) and whether its connection is up.
    connection: Mutex<Option<(Client, Arc<AtomicBool>)>>,
}

impl Listener {
    pub(super) fn new(url: &str, channel: &str) -> Self {
        Self {
            url: url.to_owned(),
            channel: channel.to_owned(),
            notifications: watch::channel(0).0,
            connection: Mutex::new(None),
        }
    }

    /// Waits for a notification on the channel or `timeout`, whichever comes first. If the
    /// listening connection cannot be opened, it waits out `timeout` (workers then poll).
    pub(super) async fn wait(&self, timeout: Duration) -> Result<(), StoreError> {
        let mut notified = self.notifications.subscribe();
        if self.ensure_listening().await.is_err() {
            tokio::time::sleep(timeout).await;
            return Ok(());
        }
        let _ = tokio::time::timeout(timeout, notified.changed()).await;
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
            .map_err(StoreError::backend)?;
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
            .map_err(StoreError::backend)?;
        *held = Some((client, alive));
        Ok(())
    }
}
