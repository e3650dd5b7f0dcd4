//! Registered workflow types: a name and version mapped to a factory that builds the workflow
//! from its JSON input, with its output and error erased to JSON.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use awaitly_runtime::{
    Clock, EventSink, Journal, Outcome, ResumeState, Run, RunError, SystemClock, Workflow,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A run of an erased workflow.
pub(crate) type ErasedRun = Pin<Box<dyn Future<Output = Run<Value, Value>> + Send>>;

/// Builds a run from the JSON input, or says why the input does not decode.
pub(crate) type Factory = dyn Fn(
        Value,
        ResumeState,
        Arc<dyn Journal>,
        Arc<dyn Clock>,
        Option<Arc<dyn EventSink>>,
    ) -> Result<ErasedRun, serde_json::Error>
    + Send
    + Sync;

/// Where the registry looked and what it found.
pub(crate) enum Lookup {
    Found(Arc<Factory>),
    UnknownWorkflow,
    OtherVersions(Vec<u32>),
}

#[derive(Default)]
pub(crate) struct Registry {
    workflows: HashMap<String, BTreeMap<u32, Arc<Factory>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = formatter.debug_map();
        for (name, versions) in &self.workflows {
            map.entry(name, &versions.keys().collect::<Vec<_>>());
        }
        map.finish()
    }
}

impl Registry {
    pub(crate) fn insert<I, F, Fut, T, E>(&mut self, name: &str, version: u32, factory: F)
    where
        I: DeserializeOwned,
        F: Fn(I) -> Workflow<Fut> + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize + Send,
        E: Serialize + Send,
    {
        let erased: Arc<Factory> = Arc::new(move |input, state, journal, clock, events| {
            let input: I = serde_json::from_value(input)?;
            let mut workflow = factory(input).journal(journal).clock(clock);
            if let Some(events) = events {
                workflow = workflow.events(events);
            }
            Ok(Box::pin(async move {
                let run = workflow.run(state).await;
                Run {
                    outcome: erase(run.outcome),
                    state: run.state,
                }
            }) as ErasedRun)
        });
        self.workflows
            .entry(name.to_owned())
            .or_default()
            .insert(version, erased);
    }

    pub(crate) fn lookup(&self, name: &str, version: u32) -> Lookup {
        match self.workflows.get(name) {
            None => Lookup::UnknownWorkflow,
            Some(versions) => match versions.get(&version) {
                Some(factory) => Lookup::Found(Arc::clone(factory)),
                None => Lookup::OtherVersions(versions.keys().copied().collect()),
            },
        }
    }

    /// Does `input` decode as the input of `name` at `version`? Builds the workflow without
    /// running it (nothing runs until awaited), so a bad input is refused before a run exists.
    pub(crate) fn check_input(
        &self,
        name: &str,
        version: u32,
        input: &Value,
    ) -> Result<(), serde_json::Error> {
        if let Lookup::Found(factory) = self.lookup(name, version) {
            let journal: Arc<dyn Journal> = Arc::new(NoJournal);
            factory(
                input.clone(),
                ResumeState::new(),
                journal,
                Arc::new(SystemClock),
                None,
            )
            .map(drop)?;
        }
        Ok(())
    }

    /// The newest registered version of `name`: what new runs start with.
    pub(crate) fn latest(&self, name: &str) -> Option<(u32, Arc<Factory>)> {
        self.workflows
            .get(name)?
            .last_key_value()
            .map(|(version, factory)| (*version, Arc::clone(factory)))
    }
}

/// The workflow's typed outcome as JSON; a value that cannot be written as JSON stops the run.
fn erase<T: Serialize, E: Serialize>(outcome: Outcome<T, E>) -> Outcome<Value, Value> {
    let encode_failure = |error: serde_json::Error| {
        Outcome::Stopped(RunError::Encode {
            key: "<workflow result>".to_owned(),
            message: error.to_string(),
            source: awaitly_runtime::Cause::new(error),
        })
    };
    match outcome {
        Outcome::Completed(value) => {
            serde_json::to_value(value).map_or_else(encode_failure, Outcome::Completed)
        }
        Outcome::Failed(error) => {
            serde_json::to_value(error).map_or_else(encode_failure, Outcome::Failed)
        }
        Outcome::Suspended(suspension) => Outcome::Suspended(suspension),
        Outcome::Stopped(error) => Outcome::Stopped(error),
        Outcome::Cancelled(cancellation) => Outcome::Cancelled(cancellation),
    }
}

/// The journal of a workflow that is built to check its input and dropped unrun.
struct NoJournal;

impl Journal for NoJournal {
    fn record<'a>(
        &'a self,
        _: &'a str,
        _: &'a awaitly_runtime::StepEntry,
    ) -> awaitly_runtime::JournalFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}
