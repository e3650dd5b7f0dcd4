//! Child runs: a parent that waits at a `child!` site has the engine start the child (run id
//! `<parent run id>/<key>`, with a link to the parent's hook recorded in the child's state before
//! anything runs); a child that ends has its outcome delivered to that hook, which resumes the
//! parent in whichever process the child ended. Both happen right after the drive that got the
//! run there, so a crash in between leaves a run that `recover` or a worker picks up again: a
//! suspended parent whose child already ended is told again when it is resumed.

use awaitly_runtime::{ChildRequest, HookId, ResumeState, StepEntry};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::drive::Plan;
use super::{Engine, EngineError};
use crate::store::{Created, RunOutcome, RunStatus, StoredRun};

/// Where a child run records its parent.
pub(crate) const PARENT_KEY: &str = "run:parent";

/// A child's link to the hook its parent waits at.
#[derive(Serialize, Deserialize)]
struct ParentLink {
    run_id: String,
    hook_id: HookId,
}

impl Engine {
    /// What follows a drive that left `run_id` at `outcome`: a child to start (the parent waits
    /// for it), or a parent to tell (the child ended). Returns where the run stands afterwards.
    pub(super) async fn follow_up(
        &self,
        run_id: &str,
        outcome: RunOutcome,
    ) -> Result<RunOutcome, EngineError> {
        match &outcome {
            RunOutcome::Suspended { hook } => {
                if let Some(request) = ChildRequest::of(hook) {
                    self.start_child(run_id, &hook.hook_id, &request).await;
                    return Ok(self.record(run_id).await?.outcome);
                }
            }
            // Only a child's id has a `/`; a run id of the caller's that has one costs a load.
            ended
                if (ended.status().is_terminal() || ended.status() == RunStatus::Stopped)
                    && run_id.contains('/') =>
            {
                self.tell_parent(run_id, ended).await;
            }
            _ => {}
        }
        Ok(outcome)
    }

    /// Starts the child `request` of the parent `parent_run_id` (or, if it exists, resumes or
    /// reports it). A child that cannot start is reported to the parent as stopped, so the
    /// parent does not wait for ever.
    async fn start_child(&self, parent_run_id: &str, hook_id: &HookId, request: &ChildRequest) {
        let child_id = request.run_id(parent_run_id);
        let link = ParentLink {
            run_id: parent_run_id.to_owned(),
            hook_id: hook_id.clone(),
        };
        let started = Box::pin(self.create_child(&child_id, request, &link)).await;
        if let Err(error) = started {
            let stopped = json!({ "status": "stopped", "message": error.to_string() });
            let _ = Box::pin(self.resume_hook(hook_id, stopped)).await;
        }
    }

    async fn create_child(
        &self,
        child_id: &str,
        request: &ChildRequest,
        link: &ParentLink,
    ) -> Result<(), EngineError> {
        let lease = self.lease();
        let mut run = self.new_run(child_id, &request.workflow, &request.input)?;
        run.lease = Some(lease.clone());
        match self.store.create_run(run).await? {
            Created::New(record) => {
                let stored = StoredRun {
                    record,
                    state: ResumeState::new(),
                };
                let mut plan = Plan::take_over(lease);
                let entry = StepEntry::ok(link).map_err(|error| {
                    EngineError::Store(crate::store::StoreError::backend(error))
                })?;
                plan.record.push((PARENT_KEY.to_owned(), entry));
                self.drive(stored, plan).await?;
            }
            // Started before (the parent's executor died after starting it): an ended child is
            // reported again, a live one goes on where it is.
            Created::Existing(record) => {
                if record.status().is_terminal() || record.status() == RunStatus::Stopped {
                    self.tell_parent(child_id, &record.outcome).await;
                } else if super::claim::is_orphaned(&record) {
                    self.resume_run(child_id).await?;
                }
            }
        }
        Ok(())
    }

    /// Delivers the ended child `child_id`'s `outcome` to its parent's hook. A parent that has
    /// the outcome already (a repeated report) or no longer waits (cancelled) changes nothing.
    async fn tell_parent(&self, child_id: &str, outcome: &RunOutcome) {
        let Ok(Some(stored)) = self.store.load_run(child_id).await else {
            return;
        };
        let Some(link) = stored
            .state
            .get(PARENT_KEY)
            .and_then(StepEntry::value_json)
            .and_then(|value| serde_json::from_str::<ParentLink>(value).ok())
        else {
            return;
        };
        let Ok(payload) = serde_json::to_value(outcome) else {
            return;
        };
        let _ = Box::pin(self.resume_hook(&link.hook_id, payload)).await;
    }

    /// The children of `state` still waited for, by run id: what cancelling their parent cancels.
    pub(super) fn waited_children(parent_run_id: &str, state: &ResumeState) -> Vec<String> {
        state
            .iter()
            .filter_map(|(_, entry)| {
                let pending = awaitly_runtime::MaybePendingHook::pending_hook(entry)?;
                Some(ChildRequest::of(&pending)?.run_id(parent_run_id))
            })
            .collect()
    }
}
