//! A store that times every `save` of the store it wraps: the checkpoint latency the 1-in-flight
//! goal compares with one bare commit.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use awaitly::store::{Changes, Intercepted, SaveHook, Saved, Store, StoreFuture};

/// Times every save.
pub(crate) struct Timed {
    saves: Arc<Mutex<Vec<Duration>>>,
}

impl Timed {
    /// `inner`, its saves timed; the latencies land in the returned list.
    pub(crate) fn new(inner: Arc<dyn Store>) -> (Intercepted<Self>, Arc<Mutex<Vec<Duration>>>) {
        let saves = Arc::new(Mutex::new(Vec::new()));
        let timed = Self {
            saves: Arc::clone(&saves),
        };
        (Intercepted::new(inner, timed), saves)
    }
}

/// The median of `latencies`.
pub(crate) fn median(latencies: &Mutex<Vec<Duration>>) -> Duration {
    let mut latencies = latencies
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    latencies.sort();
    latencies
        .get(latencies.len() / 2)
        .copied()
        .unwrap_or_default()
}

impl SaveHook for Timed {
    fn save<'a>(
        &'a self,
        inner: &'a dyn Store,
        run_id: &'a str,
        revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        Box::pin(async move {
            let started = Instant::now();
            let saved = inner.save(run_id, revision, changes).await;
            self.saves
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(started.elapsed());
            saved
        })
    }
}
