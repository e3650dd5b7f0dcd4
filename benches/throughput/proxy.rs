//! A counting proxy in front of PostgreSQL: forwards bytes both ways and reads the frontend's
//! messages, so statements and round trips are counted on the wire — what the store really sent,
//! without `pg_stat_statements` or server logging.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Frontend messages seen so far, over every proxied connection.
#[derive(Debug, Default)]
pub(crate) struct Wire {
    /// `Execute` and simple `Query` messages: statements run.
    statements: AtomicU64,
    /// `Sync` and simple `Query` messages: each waits for the server's `ReadyForQuery`, so each
    /// is a round trip (pipelined ones overlap, so this is an upper bound of waits).
    round_trips: AtomicU64,
}

impl Wire {
    /// `(statements, round trips)` so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.statements.load(Ordering::Relaxed),
            self.round_trips.load(Ordering::Relaxed),
        )
    }
}

/// Listens on 127.0.0.1 and proxies each connection to `upstream`; returns the port and the
/// counters.
pub(crate) async fn start(upstream: String) -> Result<(u16, Arc<Wire>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| error.to_string())?;
    let port = listener
        .local_addr()
        .map_err(|error| error.to_string())?
        .port();
    let wire = Arc::new(Wire::default());
    let counted = Arc::clone(&wire);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, wire) = (upstream.clone(), Arc::clone(&counted));
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    let _ = proxy(client, server, &wire).await;
                }
            });
        }
    });
    Ok((port, wire))
}

async fn proxy(client: TcpStream, server: TcpStream, wire: &Wire) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    // Untyped frames first (SSL request, startup), then typed messages: tag, length, body.
    let mut startup = true;
    loop {
        let tag = if startup {
            None
        } else {
            match client_read.read_u8().await {
                Ok(tag) => Some(tag),
                Err(_) => break,
            }
        };
        let Ok(length) = client_read.read_u32().await else {
            break;
        };
        let mut body = vec![0; (length as usize).saturating_sub(4)];
        client_read.read_exact(&mut body).await?;
        match tag {
            // An SSL request (code 80877103) is followed by another untyped startup frame.
            None => startup = body.get(..4) == Some(&[0x04, 0xd2, 0x16, 0x2f][..]),
            Some(b'E') => {
                wire.statements.fetch_add(1, Ordering::Relaxed);
            }
            Some(b'Q') => {
                wire.statements.fetch_add(1, Ordering::Relaxed);
                wire.round_trips.fetch_add(1, Ordering::Relaxed);
            }
            Some(b'S') => {
                wire.round_trips.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {}
        }
        let mut frame = Vec::with_capacity(body.len() + 5);
        frame.extend(tag);
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend_from_slice(&body);
        server_write.write_all(&frame).await?;
    }
    back.abort();
    Ok(())
}
