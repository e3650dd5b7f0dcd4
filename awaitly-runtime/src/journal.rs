//! Checkpointing: a [`Journal`] hears of every executed step as soon as it is recorded, before the
//! next step starts — what a durable run writes to its store.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use crate::entry::StepEntry;
use crate::error::Cause;

/// The future a [`Journal`] returns.
pub type JournalFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JournalError>> + Send + 'a>>;

/// Receives each executed step's entry right after it is recorded; the run waits for it before the
/// next step, so a step is never lost once the following one has started.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use awaitly::{Journal, JournalFuture, StepEntry, step, workflow};
///
/// #[derive(Default)]
/// struct Keys(Mutex<Vec<String>>);
///
/// impl Journal for Keys {
///     fn record<'a>(&'a self, key: &'a str, _entry: &'a StepEntry) -> JournalFuture<'a> {
///         self.0.lock().unwrap().push(key.to_owned());
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// #[workflow]
/// async fn two() -> Result<u8, String> {
///     step!("a", Ok::<u8, String>(1))?;
///     step!("b", Ok::<u8, String>(2))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let keys = Arc::new(Keys::default());
/// let _ = two().journal(keys.clone()).start().await;
/// assert_eq!(*keys.0.lock().unwrap(), ["a", "b"]);
/// # });
/// ```
pub trait Journal: Send + Sync {
    /// Persists `entry`, just recorded under `key`.
    fn record<'a>(&'a self, key: &'a str, entry: &'a StepEntry) -> JournalFuture<'a>;

    /// Persists several entries recorded by concurrent branches while an earlier write was in
    /// flight, in recording order. The default writes them one by one with
    /// [`record`](Self::record); a journal that can write them together (one transaction) should.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use awaitly::{Journal, JournalFuture, StepEntry};
    ///
    /// struct Count(std::sync::atomic::AtomicUsize);
    /// impl Journal for Count {
    ///     fn record<'a>(&'a self, _: &'a str, _: &'a StepEntry) -> JournalFuture<'a> {
    ///         self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    ///         Box::pin(async { Ok(()) })
    ///     }
    /// }
    /// let journal = Count(Default::default());
    /// let entries = [
    ///     (Cow::Borrowed("a"), StepEntry::ok(&1).unwrap()),
    ///     (Cow::Borrowed("b"), StepEntry::ok(&2).unwrap()),
    /// ];
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// journal.record_all(&entries).await.unwrap();
    /// # });
    /// assert_eq!(journal.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    /// ```
    fn record_all<'a>(
        &'a self,
        entries: &'a [(Cow<'static, str>, StepEntry)],
    ) -> JournalFuture<'a> {
        Box::pin(async move {
            for (key, entry) in entries {
                self.record(key, entry).await?;
            }
            Ok(())
        })
    }
}

/// A [`Journal`] could not persist an entry; the run stops with
/// [`RunError::Journal`](crate::RunError::Journal).
///
/// ```
/// let error = awaitly::JournalError::new("disk full");
/// assert_eq!(error.to_string(), "disk full");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JournalError {
    message: String,
    #[source]
    source: Option<Cause>,
}

impl JournalError {
    /// An error with this message (say what failed and what to do).
    ///
    /// ```
    /// let _ = awaitly::JournalError::new("the lease was lost; another executor owns the run");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error from the store's (or driver's) own error, kept as the
    /// [`source`](std::error::Error::source); its message is the error's message.
    ///
    /// ```
    /// use std::error::Error as _;
    ///
    /// let error = awaitly::JournalError::from_error(std::io::Error::other("disk full"));
    /// assert_eq!(error.to_string(), "disk full");
    /// assert!(error.source().is_some_and(|source| source.is::<std::io::Error>()));
    /// ```
    pub fn from_error(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            message: error.to_string(),
            source: Some(Cause::new(error)),
        }
    }
}
