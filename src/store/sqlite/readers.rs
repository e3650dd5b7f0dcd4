//! The read connections of [`SqliteStore`](super::SqliteStore): in WAL mode readers do not wait
//! for the writer, and see only committed data, so reads run beside the writer thread's
//! transactions instead of queueing behind their fsyncs.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

use crate::store::StoreError;

/// Read connections kept open between reads; more are opened under load and closed after.
const IDLE: usize = 16;

/// Idle read connections to one database file.
#[derive(Debug)]
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` (blocking) with an idle read connection, or a new one.
    pub(super) fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // The lock guards only the list, never a read.
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => self.open()?,
        };
        let result = work(&mut connection);
        if connection.is_autocommit() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < IDLE {
                idle.push(connection);
            }
        }
        result
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let connection = Connection::open(&self.path).map_err(|error| {
            StoreError::backend(format_args!("{}: {error}", self.path.display()))
        })?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(StoreError::backend)?;
        // A read connection never writes: the writer thread owns every write.
        connection
            .pragma_update(None, "query_only", true)
            .map_err(StoreError::backend)?;
        #[cfg(feature = "test-util")]
        super::counters::install(&connection);
        Ok(connection)
    }
}
