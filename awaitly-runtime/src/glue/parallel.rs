//! What `all!`, `try_all!`, `race!`, `fan_out!` and `try_fan_out!` do with the context: give each
//! branch or item its own scope, keep the lanes counted, record a race's winner, and drive a
//! fan-out with at most `concurrency` items in flight.

use std::collections::HashSet;
use std::fmt::Display;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use super::checkpoint::Checkpoint;
use super::context::{Context, Halt};
use super::scope::prefix_of;
use crate::entry::StepEntry;
use crate::error::RunError;
use crate::event::Event;
use crate::site::SiteKind;

/// How a `race!` starts.
#[derive(Debug)]
pub enum RaceStart {
    /// A winner is recorded: run that branch only (its sites replay), never the others.
    Recorded(usize),
    /// No winner yet: run every branch; the first to finish wins and is recorded.
    Open,
    /// The recorded entry does not fit this race; await [`Context::halt`].
    Halt,
}

impl Context {
    /// The key of the next execution of the construct at `site` (`all!`, `race!`, `fan_out!`):
    /// its label, with an occurrence suffix from its second execution on. Records nothing.
    #[must_use]
    pub fn construct_key(&self, site: usize) -> String {
        let mut run = self.lock();
        run.next_key(self.description, self.scope.as_deref(), site, None)
            .into_owned()
    }

    /// The context of the branch `name` of the construct recorded under `construct_key`.
    #[must_use]
    pub fn branch(&self, construct_key: &str, name: &str) -> Self {
        self.scoped(construct_key, &name)
    }

    /// Whether the race recorded under `key` has a winner among `branches`.
    #[must_use]
    pub fn race_start(&self, key: &str, branches: &[&str]) -> RaceStart {
        let mut run = self.lock();
        let Some(entry) = run.state.get(key) else {
            return RaceStart::Open;
        };
        let winner = entry
            .value_json()
            .and_then(|value| serde_json::from_str::<String>(value).ok());
        if let Some(position) =
            winner.and_then(|winner| branches.iter().position(|branch| *branch == winner))
        {
            run.emit(|| Event::StepReplayed {
                key: key.to_owned(),
                ok: true,
            });
            return RaceStart::Recorded(position);
        }
        run.halt = Some(Halt::Stopped(RunError::KindMismatch {
            key: key.to_owned(),
            recorded: SiteKind::Step,
            reached: SiteKind::Race,
        }));
        RaceStart::Halt
    }

    /// Records `winner` as the race's outcome; await the returned checkpoint before going on, so a
    /// replay returns the same winner.
    #[must_use]
    pub fn record_winner(&self, key: String, winner: &str) -> Checkpoint {
        let mut run = self.lock();
        let entry = match StepEntry::ok(&winner) {
            Ok(entry) => entry,
            Err(error) => {
                run.halt = Some(Halt::Stopped(RunError::Encode {
                    key,
                    message: error.to_string(),
                    source: crate::error::Cause::new(error),
                }));
                return Checkpoint(None, false);
            }
        };
        run.emit(|| Event::StepCompleted {
            key: key.clone(),
            ok: true,
            attempts: 1,
        });
        run.record(key.into(), entry)
    }

    /// Runs `body` for each of `items` with at most `concurrency` in flight, each in the scope of
    /// its item's key (`key` of the item, or its position); the outputs in input order. `None`
    /// when the run halts (two items with the same key); await [`Context::halt`] then.
    pub async fn fan_out<I, K, T, F>(
        &self,
        site: usize,
        items: impl IntoIterator<Item = I>,
        key: impl Fn(usize, &I) -> K,
        concurrency: Option<usize>,
        body: F,
    ) -> Option<Vec<T>>
    where
        K: Display,
        F: AsyncFnOnce(Context, I) -> T + Clone,
    {
        let outcome = self
            .drive_fan_out(site, items, key, concurrency, body, |_: &T| false)
            .await?;
        // Without a stop, every item's output is there.
        Some(outcome.into_iter().flatten().collect())
    }

    /// [`fan_out`](Self::fan_out) whose items return `Result`: the first `Err` drops the items
    /// still in flight, starts no more, and is the outcome.
    pub async fn try_fan_out<I, K, T, E, F>(
        &self,
        site: usize,
        items: impl IntoIterator<Item = I>,
        key: impl Fn(usize, &I) -> K,
        concurrency: Option<usize>,
        body: F,
    ) -> Option<Result<Vec<T>, E>>
    where
        K: Display,
        F: AsyncFnOnce(Context, I) -> Result<T, E> + Clone,
    {
        let outputs = self
            .drive_fan_out(site, items, key, concurrency, body, Result::is_err)
            .await?;
        let mut values = Vec::with_capacity(outputs.len());
        for output in outputs.into_iter().flatten() {
            match output {
                Ok(value) => values.push(value),
                Err(error) => return Some(Err(error)),
            }
        }
        Some(Ok(values))
    }

    /// Records how many items the fan-out under `key` has (`{"items": n}`), so its progress
    /// (done, in flight, pending) can be read from the state. Written with the next checkpoint.
    fn record_fan_out(&self, key: &str, items: usize) {
        let mut run = self.lock();
        if run.state.contains_key(key) {
            return;
        }
        if let Ok(entry) = StepEntry::ok(&serde_json::json!({ "items": items })) {
            run.state.insert(key.to_owned(), entry);
        }
    }

    async fn drive_fan_out<I, K, O, F>(
        &self,
        site: usize,
        items: impl IntoIterator<Item = I>,
        key: impl Fn(usize, &I) -> K,
        concurrency: Option<usize>,
        body: F,
        stops: impl Fn(&O) -> bool,
    ) -> Option<Vec<Option<O>>>
    where
        K: Display,
        F: AsyncFnOnce(Context, I) -> O + Clone,
    {
        let construct = self.construct_key(site);
        let items: Vec<I> = items.into_iter().collect();
        // Each item's scope prefix, built once from its key (escaped as it is written).
        let prefixes: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(position, item)| {
                prefix_of(self.scope.as_deref(), &construct, &key(position, item))
            })
            .collect();
        // Keys are short strings: foldhash, as the state's index.
        let mut seen: HashSet<&str, foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(
                prefixes.len(),
                foldhash::fast::RandomState::default(),
            );
        if let Some(position) = prefixes
            .iter()
            .position(|prefix| !seen.insert(prefix.as_str()))
        {
            let item = key(position, &items[position]).to_string();
            self.lock().halt = Some(Halt::Stopped(RunError::DuplicateItemKey {
                key: construct,
                item,
            }));
            return None;
        }
        drop(seen);
        self.record_fan_out(&construct, items.len());
        let limit = concurrency.unwrap_or(usize::MAX).max(1);
        let mut outputs: Vec<Option<O>> =
            std::iter::repeat_with(|| None).take(items.len()).collect();
        let mut waiting = items.into_iter().zip(prefixes).enumerate();
        let mut in_flight = Vec::new();
        let mut split = self.split(0);
        poll_fn(|task| {
            loop {
                while in_flight.len() < limit {
                    let Some((position, (item, prefix))) = waiting.next() else {
                        break;
                    };
                    let context = self.with_scope(prefix);
                    // Each item calls its own copy of the body (a closure that borrows the workflow's
                    // locals is copied by copying the references): the item futures own what they
                    // hold, so the fan-out stays `Send` when they are.
                    let future: Pin<Box<_>> = Box::pin(body.clone()(context, item));
                    in_flight.push((position, future));
                    split.open_one();
                }
                let mut finished = false;
                let mut index = 0;
                while index < in_flight.len() {
                    let (position, future) = &mut in_flight[index];
                    let position = *position;
                    match future.as_mut().poll(task) {
                        Poll::Ready(output) => {
                            drop(in_flight.swap_remove(index));
                            split.close_one();
                            finished = true;
                            let stop = stops(&output);
                            outputs[position] = Some(output);
                            if stop {
                                in_flight.clear();
                                return Poll::Ready(());
                            }
                        }
                        Poll::Pending => index += 1,
                    }
                }
                if in_flight.is_empty() && waiting.len() == 0 {
                    return Poll::Ready(());
                }
                if !finished {
                    return Poll::Pending;
                }
            }
        })
        .await;
        Some(outputs)
    }
}
