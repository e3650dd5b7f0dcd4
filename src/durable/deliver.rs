//! Delivering a callback's payload to a hook: the claim decides which payload a hook takes; the
//! answer waits until that claim is decided (applied, refused, or timed out), so no sender is
//! told something the run later contradicts.

use std::time::Instant;

use awaitly_runtime::HookId;
use serde_json::Value;

use super::claim::{backoff, is_hook_abandoned, is_hook_timeout};
use super::drive::{PayloadSource, Plan};
use super::engine::Deliveries;
use super::results::Delivery;
use super::{Engine, EngineError};
use crate::store::{Claim, RunOutcome, StoredRun};

/// Where a claimed payload stands, read from the run that owns the hook.
enum ClaimState {
    /// The run consumed this value at the hook.
    Consumed { value: Value, outcome: RunOutcome },
    /// The hook's timeout was recorded: it takes no payload.
    TimedOut,
    /// The hook's branch was let go (a race lost, a sibling failed): it takes no payload.
    Abandoned,
    /// The hook holds no payload, or another one than the claim being watched: claim again.
    Released,
    /// The payload waits for the run to reach the hook (a hook registered before the run).
    Waiting,
    /// This call applied the payload itself (nobody else was going to): here is the outcome.
    Applied(RunOutcome),
}

impl Engine {
    pub(super) async fn deliver(
        &self,
        hook_id: &HookId,
        payload: Value,
        dedupe_key: Option<&str>,
    ) -> Result<Delivery, EngineError> {
        let since = Instant::now();
        let mut last_run = String::new();
        loop {
            let lease = self.lease();
            let in_place = self.deliveries == Deliveries::InPlace;
            let claim = self
                .store
                .claim_hook(
                    hook_id,
                    &payload,
                    self.clock.now_ms(),
                    dedupe_key,
                    in_place.then_some(&lease),
                )
                .await?;
            match claim {
                Claim::Seen { run_id, same_hook } => {
                    if !same_hook {
                        return Err(EngineError::EventReused {
                            hook_id: hook_id.clone(),
                            dedupe_key: dedupe_key.unwrap_or_default().to_owned(),
                        });
                    }
                    let outcome = self.record(&run_id).await?.outcome;
                    return Ok(Delivery::Duplicate { run_id, outcome });
                }
                Claim::Unknown => {
                    return Err(EngineError::UnknownHook {
                        hook_id: hook_id.clone(),
                    });
                }
                Claim::Expired { run_id } => {
                    return Err(EngineError::HookExpired {
                        hook_id: hook_id.clone(),
                        run_id,
                    });
                }
                // The run ended before this payload came (cancelled, or finished past a branch
                // that waited here): nothing will read it; the claim is freed.
                Claim::Claimed {
                    run_id,
                    leased: false,
                    ..
                } if self.ended(hook_id, &payload, &run_id).await? => {
                    return Err(self.ended_error(hook_id, &run_id).await?);
                }
                Claim::Claimed {
                    run_id,
                    suspended: false,
                    ..
                } => return Ok(Delivery::Queued { run_id }),
                Claim::Claimed { run_id, .. } if !in_place => {
                    return Ok(Delivery::Queued { run_id });
                }
                Claim::Claimed {
                    run_id,
                    leased: true,
                    ..
                } => {
                    last_run.clone_from(&run_id);
                    let stored = self.load(&run_id).await?;
                    if let Some(answer) =
                        self.apply_leased(hook_id, &payload, stored, lease).await?
                    {
                        return Ok(answer);
                    }
                    // Not applied here after all (the run moved on meanwhile): see where it is.
                    if let Some(answer) =
                        self.answer_mine(hook_id, &payload, &run_id, since).await?
                    {
                        return Ok(answer);
                    }
                }
                Claim::Claimed { run_id, .. } => {
                    last_run.clone_from(&run_id);
                    if let Some(answer) =
                        self.answer_mine(hook_id, &payload, &run_id, since).await?
                    {
                        return Ok(answer);
                    }
                }
                Claim::Taken {
                    run_id,
                    payload: claimed,
                } => {
                    last_run.clone_from(&run_id);
                    if let Some(answer) = self
                        .answer_taken(hook_id, &payload, &claimed, run_id, since)
                        .await?
                    {
                        return Ok(answer);
                    }
                }
            }
            if since.elapsed() >= self.answer_within {
                return Err(EngineError::Busy { run_id: last_run });
            }
        }
    }

    /// Whether the run `run_id` has ended; if so, frees this delivery's claim of `hook_id`.
    async fn ended(
        &self,
        hook_id: &HookId,
        payload: &Value,
        run_id: &str,
    ) -> Result<bool, EngineError> {
        if !self.record(run_id).await?.status().is_terminal() {
            return Ok(false);
        }
        self.store.release_hook(hook_id, payload).await?;
        Ok(true)
    }

    /// Why a delivery to `hook_id` of an ended run is refused: the run was cancelled, the hook
    /// timed out before it ended, or it ended without waiting there.
    async fn ended_error(
        &self,
        hook_id: &HookId,
        run_id: &str,
    ) -> Result<EngineError, EngineError> {
        let stored = self.load(run_id).await?;
        let entry = stored.state.get(&hook_id.step_key());
        let timed_out = entry.is_some_and(is_hook_timeout);
        let abandoned = entry.is_some_and(is_hook_abandoned);
        Ok(match stored.record.outcome {
            RunOutcome::Cancelled { reason } => EngineError::Cancelled {
                run_id: run_id.to_owned(),
                reason,
            },
            _ if timed_out => EngineError::HookExpired {
                hook_id: hook_id.clone(),
                run_id: run_id.to_owned(),
            },
            _ if abandoned => EngineError::HookAbandoned {
                hook_id: hook_id.clone(),
                run_id: run_id.to_owned(),
            },
            outcome => EngineError::Finished {
                run_id: run_id.to_owned(),
                status: outcome.status(),
            },
        })
    }

    /// Answers a sender whose payload found the hook claimed (by `claimed`), once that claim is
    /// decided; `None` if it was released (claim again).
    async fn answer_taken(
        &self,
        hook_id: &HookId,
        payload: &Value,
        claimed: &Value,
        run_id: String,
        since: Instant,
    ) -> Result<Option<Delivery>, EngineError> {
        let same = claimed == payload;
        let state = self
            .watch_claim(hook_id, claimed, &run_id, since, PayloadSource::Early)
            .await?;
        match state {
            ClaimState::Consumed { value, outcome } => {
                if value == *payload {
                    Ok(Some(Delivery::Duplicate { run_id, outcome }))
                } else {
                    Err(EngineError::AlreadyResolved {
                        hook_id: hook_id.clone(),
                        run_id,
                    })
                }
            }
            ClaimState::Applied(outcome) if same => Ok(Some(Delivery::Applied { run_id, outcome })),
            ClaimState::TimedOut => Err(EngineError::HookExpired {
                hook_id: hook_id.clone(),
                run_id,
            }),
            ClaimState::Abandoned => Err(EngineError::HookAbandoned {
                hook_id: hook_id.clone(),
                run_id,
            }),
            ClaimState::Waiting if same => Ok(Some(Delivery::Queued { run_id })),
            // The held payload is not decided until the run reaches the hook.
            ClaimState::Waiting => Err(EngineError::Busy { run_id }),
            // Released, or applied (and so decided) another way: look again.
            ClaimState::Released | ClaimState::Applied(_) => Ok(None),
        }
    }

    /// Answers the sender whose payload this call claimed, once the claim is decided.
    async fn answer_mine(
        &self,
        hook_id: &HookId,
        payload: &Value,
        run_id: &str,
        since: Instant,
    ) -> Result<Option<Delivery>, EngineError> {
        let run_id = run_id.to_owned();
        Ok(
            match self
                .watch_claim(hook_id, payload, &run_id, since, PayloadSource::Caller)
                .await?
            {
                ClaimState::Consumed { outcome, .. } | ClaimState::Applied(outcome) => {
                    Some(Delivery::Applied { run_id, outcome })
                }
                ClaimState::TimedOut => {
                    // The timeout was recorded before the payload could be applied (a clock
                    // behind the store's): the claim is freed and the sender told so.
                    self.store.release_hook(hook_id, payload).await?;
                    return Err(EngineError::HookExpired {
                        hook_id: hook_id.clone(),
                        run_id,
                    });
                }
                ClaimState::Waiting => Some(Delivery::Queued { run_id }),
                ClaimState::Abandoned => {
                    self.store.release_hook(hook_id, payload).await?;
                    return Err(EngineError::HookAbandoned {
                        hook_id: hook_id.clone(),
                        run_id,
                    });
                }
                ClaimState::Released => None,
            },
        )
    }

    /// Applies `payload`, claimed by this call, to the run this call holds the lease of. `None`
    /// if the run does not wait at the hook any more.
    async fn apply_leased(
        &self,
        hook_id: &HookId,
        payload: &Value,
        stored: StoredRun,
        lease: crate::store::Lease,
    ) -> Result<Option<Delivery>, EngineError> {
        let run_id = stored.record.run_id.clone();
        let waits_here = stored
            .record
            .outcome
            .pending_hooks()
            .iter()
            .any(|hook| hook.hook_id == *hook_id);
        if !waits_here {
            self.release(&stored, &lease).await;
            return Ok(None);
        }
        let plan =
            Plan::take_over(lease).inject(hook_id.clone(), payload.clone(), PayloadSource::Caller);
        match self.drive(stored, plan).await {
            Ok(outcome) => Ok(Some(Delivery::Applied { run_id, outcome })),
            Err(EngineError::Fenced { .. } | EngineError::Busy { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Follows the claim of `claimed` on `hook_id` until it is decided: waits while another
    /// executor holds the run, and applies the payload itself if the run waits at the hook with
    /// nobody holding it (the claimer died, or lost the run to a worker that let go).
    async fn watch_claim(
        &self,
        hook_id: &HookId,
        claimed: &Value,
        run_id: &str,
        since: Instant,
        source: PayloadSource,
    ) -> Result<ClaimState, EngineError> {
        let key = hook_id.step_key();
        let mut attempt = 0;
        loop {
            let stored = self.load_settled(run_id, since).await?;
            if let Some(entry) = stored.state.get(&key) {
                if entry.is_ok() {
                    let value = entry
                        .decode_value::<Value>()
                        .and_then(Result::ok)
                        .unwrap_or(Value::Null);
                    return Ok(ClaimState::Consumed {
                        value,
                        outcome: stored.record.outcome,
                    });
                }
                if is_hook_timeout(entry) {
                    return Ok(ClaimState::TimedOut);
                }
                if is_hook_abandoned(entry) {
                    return Ok(ClaimState::Abandoned);
                }
            }
            let held = self
                .store
                .find_hook(hook_id)
                .await?
                .and_then(|hook| hook.payload);
            if held.as_ref() != Some(claimed) {
                return Ok(ClaimState::Released);
            }
            let waits_here = stored
                .record
                .outcome
                .pending_hooks()
                .iter()
                .any(|hook| hook.hook_id == *hook_id);
            if !waits_here {
                if stored.record.status() == crate::store::RunStatus::Running {
                    if super::claim::is_orphaned(&stored.record) {
                        // Its executor died (perhaps right after claiming this payload): take the
                        // run over, which applies a claimed payload, then look again.
                        match self.advance(stored, self.lease(), false).await {
                            Ok(_) | Err(EngineError::Busy { .. } | EngineError::Fenced { .. }) => {}
                            Err(error) => return Err(error),
                        }
                    } else {
                        // Just taken by someone: look again once they let go.
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    if since.elapsed() >= self.answer_within {
                        return Err(EngineError::Busy {
                            run_id: run_id.to_owned(),
                        });
                    }
                    continue;
                }
                return Ok(ClaimState::Waiting);
            }
            let plan =
                Plan::take_over(self.lease()).inject(hook_id.clone(), claimed.clone(), source);
            match self.drive(stored, plan).await {
                Ok(outcome) => return Ok(ClaimState::Applied(outcome)),
                // Someone else took the run first: look again.
                Err(EngineError::Fenced { .. } | EngineError::Busy { .. }) => {}
                Err(EngineError::HookExpired { .. }) => return Ok(ClaimState::TimedOut),
                Err(error) => return Err(error),
            }
            if since.elapsed() >= self.answer_within {
                return Err(EngineError::Busy {
                    run_id: run_id.to_owned(),
                });
            }
        }
    }
}
