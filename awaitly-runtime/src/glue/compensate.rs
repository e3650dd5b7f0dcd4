//! Compensation: a `step!` with `compensate = …` registers an undo when it succeeds — executed or
//! replayed, so a run resumed from a state still undoes what earlier runs did. When the run fails
//! or is cancelled, the undos run in reverse order, each one a recorded step under
//! `run:undo:<step key>`: one that succeeded is never run again, one that failed runs again on
//! the next run of the state.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use serde_json::Value;

use super::context::{Context, StepValue};
use crate::cancel::{CANCEL_KEY, Cancellation};
use crate::entry::StepEntry;
use crate::event::Event;
use crate::key::RUN_KEY_PREFIX;

type Undo = Box<
    dyn FnOnce(&str) -> Result<Pin<Box<dyn Future<Output = Result<(), Value>> + Send>>, String>
        + Send,
>;

/// One registered undo: the step it undoes and how.
pub(crate) struct Compensation {
    /// The key of the step it undoes.
    step_key: String,
    undo: Undo,
}

/// The key a compensation of the step recorded under `step_key` is recorded under.
pub(crate) fn undo_key(step_key: &str) -> String {
    format!("{RUN_KEY_PREFIX}undo:{step_key}")
}

impl Context {
    /// Registers `undo` for the step whose outcome is `outcome` (the one just replayed or
    /// finished), if it succeeded. The undo gets the step's value decoded afresh from its entry.
    pub fn compensate_on<T, E, U, F, UE>(&self, outcome: &Result<T, E>, undo: U)
    where
        T: StepValue + Send + 'static,
        U: FnOnce(T) -> F + Send + 'static,
        F: Future<Output = Result<(), UE>> + Send + 'static,
        UE: Serialize,
    {
        if outcome.is_err() {
            return;
        }
        let mut run = self.lock();
        let Some(step_key) = run.last_step_key() else {
            return;
        };
        let undo: Undo = Box::new(move |value: &str| {
            let value: T = serde_json::from_str(value).map_err(|error| error.to_string())?;
            let future = undo(value);
            Ok(Box::pin(async move {
                future.await.map_err(|error| {
                    serde_json::to_value(&error)
                        .unwrap_or_else(|error| Value::from(error.to_string()))
                })
            })
                as Pin<Box<dyn Future<Output = Result<(), Value>> + Send>>)
        });
        run.compensations.push(Compensation { step_key, undo });
    }

    /// Records the run's cancellation in the state (and the journal) unless it is there already;
    /// returns it.
    pub(crate) async fn record_cancellation(&self) -> Cancellation {
        let (cancellation, checkpoint) = {
            let mut run = self.lock();
            let cancellation = run.cancelled.clone().unwrap_or_default();
            if run.state.contains_key(CANCEL_KEY) {
                return cancellation;
            }
            let Ok(entry) = StepEntry::ok(&cancellation) else {
                return cancellation;
            };
            (cancellation, run.record(CANCEL_KEY.into(), entry))
        };
        self.checkpoint(checkpoint).await;
        cancellation
    }

    /// Runs the registered undos, last first; each is recorded (and checkpointed) before the next.
    pub(crate) async fn compensate(&self) {
        loop {
            let (key, undo, value) = {
                let mut run = self.lock();
                let Some(Compensation { step_key, undo }) = run.compensations.pop() else {
                    return;
                };
                let key = undo_key(&step_key);
                if run.state.get(&key).is_some_and(StepEntry::is_ok) {
                    run.emit(|| Event::StepReplayed {
                        key: key.clone(),
                        ok: true,
                    });
                    continue;
                }
                let value = run
                    .state
                    .get(&step_key)
                    .and_then(StepEntry::value_json)
                    .unwrap_or("null")
                    .to_owned();
                run.emit(|| Event::StepStarted { key: key.clone() });
                (key, undo, value)
            };
            let outcome = match undo(&value) {
                Ok(future) => future.await,
                Err(message) => Err(Value::from(format!(
                    "the value recorded for the step no longer decodes: {message}"
                ))),
            };
            let entry = match &outcome {
                Ok(()) => StepEntry::ok(&()),
                Err(error) => StepEntry::err(error),
            };
            let Ok(entry) = entry else {
                continue;
            };
            let checkpoint = {
                let mut run = self.lock();
                run.emit(|| Event::StepCompleted {
                    key: key.clone(),
                    ok: outcome.is_ok(),
                    attempts: 1,
                });
                run.record(key.into(), entry)
            };
            if !self.checkpoint(checkpoint).await {
                return;
            }
        }
    }
}

impl std::fmt::Debug for Compensation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Compensation")
            .field("step_key", &self.step_key)
            .finish_non_exhaustive()
    }
}
