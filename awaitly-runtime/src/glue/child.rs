//! What a `child!` site does: wait, as on a hook created at the site, for the outcome of another
//! registered workflow run as a child. The hook's metadata names the workflow, the input and the
//! child's key; a durable engine starts the child (its run id derived from the parent's run id
//! and that key) and delivers the child's final outcome to the hook, which resumes the parent.
//! Without an engine, the application runs the child and injects its outcome itself.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::context::{Context, Halt};
use super::hook::{HookTarget, Wait};
use crate::child::{CHILD_METADATA, ChildError, ChildOutcome};

impl Context {
    /// Waits for the child run of `workflow` with `input`: `Some` with its outcome once
    /// delivered, `None` when the run halts (the body must then await [`Context::halt`]).
    pub fn await_child<T: DeserializeOwned, E: DeserializeOwned, I: Serialize + ?Sized>(
        &self,
        site: usize,
        workflow: &str,
        input: &I,
    ) -> Option<Result<T, ChildError<E>>> {
        let (key, hook_id) = {
            let mut run = self.lock();
            let key = run.next_key(self.description, self.scope.as_deref(), site, None);
            match run.created_hook(&key) {
                Ok(hook_id) => (key, hook_id),
                Err(error) => {
                    run.halt = Some(Halt::Stopped(error));
                    return None;
                }
            }
        };
        let metadata = || {
            let input = serde_json::to_value(input)?;
            Ok(Some(json!({ CHILD_METADATA: {
                "workflow": workflow,
                "key": key,
                "input": input,
            } })))
        };
        let outcome: ChildOutcome<T, E> =
            match self.wait_for_hook(site, HookTarget::ById(hook_id), None, metadata) {
                Wait::Payload(outcome) => outcome,
                Wait::TimedOut(_) | Wait::Halt => return None,
            };
        Some(outcome.into_result())
    }
}
