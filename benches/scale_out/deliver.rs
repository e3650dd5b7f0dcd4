//! The harness's side of the hooks: every pending hook gets its payload, once, over HTTP.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use awaitly::durable::Engine;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::checker::{Answer, Target};
use crate::cluster::{Node, unix_micros};

/// Hook deliveries in flight at most (whatever the number of nodes).
const DELIVERIES_IN_FLIGHT: usize = 64;

/// Delivers every pending hook once, over HTTP, to the node the run's index picks.
pub(crate) struct Deliverer {
    client: reqwest::Client,
    nodes: Vec<Node>,
    /// The harness's engine: where pending hooks are listed.
    engine: Arc<Engine>,
    /// Run id → index (the payload's `cents`, and which node gets the delivery).
    index: HashMap<String, usize>,
    /// Hooks with a delivery in flight or accepted.
    sent: Mutex<HashSet<String>>,
    /// Run → (hook, when the accepted delivery was sent, µs).
    delivered: Mutex<HashMap<String, (String, u64)>>,
    /// Every answer, for the checker.
    answers: Mutex<Vec<Answer>>,
    /// Deliveries in flight at once.
    in_flight: Arc<Semaphore>,
}

impl Deliverer {
    /// Delivers to the hooks of `runs` (a run's index picks its node and its payload) on `nodes`,
    /// listing the pending hooks through `engine`.
    pub(crate) fn new(
        client: reqwest::Client,
        nodes: Vec<Node>,
        engine: Arc<Engine>,
        runs: &[String],
    ) -> Self {
        Self {
            client,
            nodes,
            engine,
            index: runs.iter().cloned().zip(0..).collect(),
            sent: Mutex::new(HashSet::new()),
            delivered: Mutex::new(HashMap::new()),
            answers: Mutex::new(Vec::new()),
            in_flight: Arc::new(Semaphore::new(DELIVERIES_IN_FLIGHT)),
        }
    }

    /// The HTTP client (the harness's other requests to the nodes share it).
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// What was delivered — run → (hook, when the accepted delivery was sent, µs) — and every
    /// answer, taken out.
    pub(crate) fn take(&self) -> (HashMap<String, (String, u64)>, Vec<Answer>) {
        let delivered = std::mem::take(
            &mut *self
                .delivered
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let answers =
            std::mem::take(&mut *self.answers.lock().unwrap_or_else(PoisonError::into_inner));
        (delivered, answers)
    }

    /// Lists pending hooks every `poll` and posts each new one, until `stop`; then waits for
    /// the posts in flight.
    pub(crate) async fn run(self: Arc<Self>, poll: Duration, stop: Arc<AtomicBool>) {
        let mut posts = tokio::task::JoinSet::new();
        while !stop.load(Ordering::SeqCst) {
            match self.engine.pending_hooks().await {
                Ok(hooks) => {
                    for hook in hooks {
                        let id = hook.hook_id.to_string();
                        let fresh = self
                            .sent
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(id.clone());
                        if !fresh || !self.index.contains_key(&hook.run_id) {
                            continue;
                        }
                        let Ok(permit) = Arc::clone(&self.in_flight).acquire_owned().await else {
                            return;
                        };
                        let me = Arc::clone(&self);
                        posts.spawn(async move {
                            me.post(id, hook.run_id).await;
                            drop(permit);
                        });
                    }
                }
                Err(error) => eprintln!("pending hooks: {error}"),
            }
            while posts.try_join_next().is_some() {}
            tokio::time::sleep(poll).await;
        }
        while posts.join_next().await.is_some() {}
    }

    /// `POST /hooks/{hook}` with the run's payload; a failed delivery (no answer, 5xx) is
    /// forgotten so that a later listing sends it again.
    async fn post(&self, hook: String, run: String) {
        let index = self.index[&run];
        let node = &self.nodes[index % self.nodes.len()];
        let payload = json!({ "cents": index, "from": "bench" });
        let sent_us = unix_micros();
        let url = format!("{}/hooks/{hook}", node.base);
        let (status, body) = match self.client.post(url).json(&payload).send().await {
            Ok(response) => (
                Some(response.status().as_u16()),
                response.json::<Value>().await.unwrap_or(Value::Null),
            ),
            Err(error) => (None, Value::String(error.to_string())),
        };
        if status.is_some_and(|status| (200..300).contains(&status)) {
            self.delivered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(run.clone(), (hook.clone(), sent_us));
        } else if status.is_none_or(|status| status >= 500) {
            self.sent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&hook);
        }
        let answer = Answer {
            run,
            target: Target::Hook(hook),
            label: "p1".to_owned(),
            sent: payload,
            well_typed: true,
            pid: node.pid,
            status,
            body,
            at_us: unix_micros(),
        };
        self.answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(answer);
    }
}
