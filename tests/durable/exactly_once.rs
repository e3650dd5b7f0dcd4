//! Exactly once across executors (issue 10): the four findings, each reproduced with two
//! executors — two `Engine`s over two separately opened stores on one backend (one SQLite file,
//! one PostgreSQL schema; two engines over one `MemoryStore`), as two instances of an application
//! would run. Every step counts its executions outside the engine, and what each caller was told
//! is checked against what the store finally shows, not only the final state.
//!
//! PostgreSQL runs when `AWAITLY_TEST_POSTGRES_URL` is set (a notice is printed otherwise).
#![cfg(all(
    feature = "sqlite",
    feature = "postgres",
    feature = "http",
    feature = "worker"
))]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use awaitly::durable::{Decision, Delivery, Engine, EngineError, Worker, WorkerHandle};
use awaitly::store::{MemoryStore, NewRun, PostgresStore, RunOutcome, SqliteStore, Store};
use awaitly::{
    ApprovalError, HookId, HookTimeout, ManualClock, await_approval, await_hook, sleep, step,
    workflow,
};
use common::Cleanup;
use common::flows::{Payment, executed, executions};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// 2023-11-14T22:13:20Z: where the manual clocks of the approval test start.
const T0: u64 = 1_700_000_000_000;
/// How long a run marked running may go without a checkpoint before it counts as crashed.
const STALE: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------------------------
// Workflows. Every step counts its executions per run (`common::flows::executed`), shared by
// both engines since they live in this one process.

/// One counted execution of `step` in `run`; the short wait stands in for a call to a service.
async fn counted(run: &str, step: &str) -> Result<u32, String> {
    executed(run, step);
    tokio::time::sleep(Duration::from_millis(2)).await;
    Ok(1)
}

/// Finding 1 (workers): a durable sleep, then a step.
#[workflow]
async fn nap(run: String) -> Result<String, String> {
    sleep!("nap", Duration::from_millis(50));
    step!("after", counted(&run, "after").await)?;
    Ok("woke".to_owned())
}

/// Finding 1 (recovery) and finding 4 (`start`): three steps, for runs left running by a crash.
#[workflow]
async fn three_steps(run: String) -> Result<u32, String> {
    let one = step!("one", counted(&run, "one").await)?;
    let two = step!("two", counted(&run, "two").await)?;
    let three = step!("three", counted(&run, "three").await)?;
    Ok(one + two + three)
}

/// Findings 1 (a decision near the deadline) and 4 (concurrent decisions): an approval with a
/// one-minute deadline, then a step on either branch.
#[workflow]
async fn approve(run: String) -> Result<String, String> {
    let decision: Result<u32, ApprovalError> =
        await_approval!(approval_key(&run), timeout = Duration::from_mins(1));
    match decision {
        Ok(amount) => {
            step!("pay", counted(&run, "pay").await)?;
            Ok(format!("paid {amount}"))
        }
        Err(ApprovalError::Expired { .. }) => {
            step!("escalate", counted(&run, "escalate").await)?;
            Ok("expired".to_owned())
        }
        Err(other) => Err(other.to_string()),
    }
}

fn approval_key(run: &str) -> String {
    format!("approve:{run}")
}

/// Finding 2: a hook with a deadline ten minutes away, then a step.
#[workflow]
async fn pay_within(run: String) -> Result<String, String> {
    let paid: Result<Payment, HookTimeout> = await_hook!("pay", timeout = Duration::from_mins(10));
    match paid {
        Ok(payment) => {
            step!("ship", counted(&run, "ship").await)?;
            Ok(format!("shipped {}", payment.paid_cents))
        }
        Err(_) => Ok("timed out".to_owned()),
    }
}

/// Finding 3: a hook typed `Payment`, then a step.
#[workflow]
async fn typed(run: String) -> Result<String, String> {
    let payment: Payment = await_hook!("pay");
    step!("fulfil", counted(&run, "fulfil").await)?;
    Ok(format!("paid {}", payment.paid_cents))
}

fn engine(store: &Arc<dyn Store>) -> Engine {
    Engine::with_store(Arc::clone(store))
        .register("nap", 1, nap)
        .register("steps", 1, three_steps)
        .register("approve", 1, approve)
        .register("pay", 1, pay_within)
        .register("typed", 1, typed)
}

fn completed(result: Value) -> RunOutcome {
    RunOutcome::Completed { result }
}

// ---------------------------------------------------------------------------------------------
// Two instances per backend, and how findings are reported.

/// One backend opened twice, as two instances of an application open it.
struct Shared {
    name: &'static str,
    stores: [Arc<dyn Store>; 2],
    cleanup: Cleanup,
}

async fn shared_backends() -> Vec<Shared> {
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut backends = vec![Shared {
        name: "memory",
        stores: [Arc::clone(&memory), memory],
        cleanup: Cleanup::None,
    }];
    let file = common::ScratchFile::new("exactly_once");
    let first = SqliteStore::open(&file.0).await.unwrap();
    let second = SqliteStore::open(&file.0).await.unwrap();
    backends.push(Shared {
        name: "sqlite",
        stores: [Arc::new(first), Arc::new(second)],
        cleanup: Cleanup::File(file),
    });
    if let Some(url) = common::postgres_url() {
        let schema = common::unique("exactly_once");
        let first = PostgresStore::connect_with_schema(&url, &schema)
            .await
            .unwrap();
        let second = PostgresStore::connect_with_schema(&url, &schema)
            .await
            .unwrap();
        backends.push(Shared {
            name: "postgres",
            stores: [Arc::new(first.clone()), Arc::new(second)],
            cleanup: Cleanup::Schema(first),
        });
    }
    // Both instances start with a connection open, so neither lags the other by a connect.
    for backend in &backends {
        for store in &backend.stores {
            store.list_runs().await.unwrap();
        }
    }
    backends
}

/// Runs `check` on every backend; it returns its findings (violations of exactly-once or
/// answers that contradict the store), which are printed and fail the test at the end.
async fn on_shared_backends<F, Fut>(check: F)
where
    F: Fn(&'static str, [Arc<dyn Store>; 2]) -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    let mut violations = Vec::new();
    for Shared {
        name,
        stores,
        cleanup,
    } in shared_backends().await
    {
        let started = Instant::now();
        let found = check(name, stores).await;
        println!(
            "{name}: {} finding(s) in {:.1?}",
            found.len(),
            started.elapsed()
        );
        for line in &found {
            println!("  {name}: {line}");
        }
        violations.extend(found.into_iter().map(|line| format!("{name}: {line}")));
        cleanup.run().await;
    }
    assert!(
        violations.is_empty(),
        "exactly-once violated:\n{}",
        violations.join("\n")
    );
}

/// `what`, in how many of `total` trials, naming the first few.
fn finding(what: &str, items: &[String], total: usize) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let shown: Vec<&str> = items.iter().take(4).map(String::as_str).collect();
    let more = if items.len() > shown.len() {
        format!("; … {} more", items.len() - shown.len())
    } else {
        String::new()
    };
    Some(format!(
        "{what} in {} of {total}: {}{more}",
        items.len(),
        shown.join("; ")
    ))
}

/// Answers that say "try again" rather than anything about the run.
fn retryable(error: &EngineError) -> bool {
    matches!(error, EngineError::Fenced { .. } | EngineError::Store(_))
}

/// Waits (at most 5 s in all) until every run is completed or failed.
async fn until_finished(engine: &Engine, runs: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    for run in runs {
        finished_by(engine, run, deadline).await;
    }
}

/// Waits until `run` is completed or failed, or `deadline` has passed.
async fn finished_by(engine: &Engine, run: &str, deadline: Instant) {
    while Instant::now() < deadline && !engine.record(run).await.unwrap().status().is_terminal() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How often each of `steps` ran in each run (exactly once expected), and whether each run
/// ended with `result`.
async fn steps_ran_once(
    engine: &Engine,
    runs: &[String],
    steps: &[&str],
    result: &Value,
) -> Vec<String> {
    let mut repeated = Vec::new();
    let mut unfinished = Vec::new();
    for run in runs {
        let counts: Vec<String> = steps
            .iter()
            .map(|step| (step, executions(run, step)))
            .filter(|(_, count)| *count != 1)
            .map(|(step, count)| format!("{step} {count}×"))
            .collect();
        if !counts.is_empty() {
            repeated.push(format!("{run}: {}", counts.join(", ")));
        }
        let outcome = engine.record(run).await.unwrap().outcome;
        if outcome != completed(result.clone()) {
            unfinished.push(format!("{run}: {outcome:?}"));
        }
    }
    [
        finding("a step did not run exactly once", &repeated, runs.len()),
        finding("the run did not complete", &unfinished, runs.len()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Runs of `three_steps` left running by an executor that crashed right after creating them,
/// stale by now.
async fn orphans(store: &Arc<dyn Store>, prefix: &str) -> Vec<String> {
    let runs: Vec<String> = (0..20).map(|index| format!("{prefix}-{index}")).collect();
    for run in &runs {
        store
            .create_run(NewRun::new(run.as_str(), "steps", 1, json!(run)))
            .await
            .unwrap();
    }
    tokio::time::sleep(STALE * 2).await;
    runs
}

// ---------------------------------------------------------------------------------------------
// Finding 1: two executors run the same step.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_one_store_run_the_step_after_a_sleep_once() {
    const ROUNDS: usize = 3;
    const NAPS: usize = 30;
    on_shared_backends(|backend, stores| async move {
        let engines = stores.each_ref().map(|store| Arc::new(engine(store)));
        let fenced = Arc::new(AtomicUsize::new(0));
        let workers: Vec<WorkerHandle> = engines
            .iter()
            .map(|engine| {
                let fenced = Arc::clone(&fenced);
                Worker::new(Arc::clone(engine))
                    .interval(Duration::from_millis(1))
                    .on_resumed(move |_, result| {
                        if matches!(result, Err(EngineError::Fenced { .. })) {
                            fenced.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                    .spawn()
            })
            .collect();
        let mut found = Vec::new();
        for round in 0..ROUNDS {
            let runs: Vec<String> = (0..NAPS)
                .map(|index| format!("nap-{backend}-{round}-{index}"))
                .collect();
            for (index, run) in runs.iter().enumerate() {
                let started = engines[index % 2].start(run, "nap", run).await.unwrap();
                assert!(
                    matches!(started.outcome, RunOutcome::Sleeping { .. }),
                    "{backend}: {started:?}"
                );
            }
            until_finished(&engines[0], &runs).await;
            found.extend(
                steps_ran_once(&engines[0], &runs, &["after"], &json!("woke"))
                    .await
                    .into_iter()
                    .map(|line| format!("round {round}: {line}")),
            );
        }
        for worker in workers {
            worker.stop().await;
        }
        println!(
            "{backend}: the workers reported {} fenced resumption(s)",
            fenced.load(Ordering::SeqCst)
        );
        found
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_recovering_at_once_run_each_step_once() {
    const ROUNDS: usize = 3;
    on_shared_backends(|backend, stores| async move {
        let engines = stores
            .each_ref()
            .map(|store| Arc::new(engine(store).stale_after(STALE)));
        let mut found = Vec::new();
        for round in 0..ROUNDS {
            let runs = orphans(&stores[0], &format!("recover-{backend}-{round}")).await;
            let recovering = engines
                .clone()
                .map(|engine| tokio::spawn(async move { engine.recover().await.unwrap() }));
            for task in recovering {
                let recovered = task.await.unwrap();
                let fenced = recovered
                    .iter()
                    .filter(|(_, result)| matches!(result, Err(EngineError::Fenced { .. })))
                    .count();
                println!(
                    "{backend}: one recover() resumed {} run(s), {fenced} fenced",
                    recovered.len()
                );
            }
            found.extend(
                steps_ran_once(&engines[0], &runs, &["one", "two", "three"], &json!(3))
                    .await
                    .into_iter()
                    .map(|line| format!("round {round}: {line}")),
            );
        }
        found
    })
    .await;
}

/// Decides `run`'s approval (grant 7) until the answer is not "try again" (at most 5 times);
/// every answer, in order.
async fn decide_until_final(engine: &Engine, run: &str) -> Vec<Result<RunOutcome, EngineError>> {
    let mut answers = Vec::new();
    for _ in 0..5 {
        let answer = engine
            .decide_approval(run, &approval_key(run), Decision::Grant(json!(7)), "clerk")
            .await;
        let again = answer.as_ref().is_err_and(retryable);
        answers.push(answer);
        if !again {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    answers
}

/// What was found over the rounds of the approval-deadline test.
#[derive(Default)]
struct DeadlineTally {
    trials: usize,
    unavailable: usize,
    repeated: Vec<String>,
    contradictions: Vec<String>,
}

/// One round: `RUNS` runs wait for an approval due at `T0 + 1 min`. A worker on one instance
/// sees the deadline pass (its clock reads exactly the deadline) while the other instance,
/// whose clock reads a millisecond earlier, grants every approval.
async fn decisions_at_the_deadline(stores: &[Arc<dyn Store>; 2], prefix: &str) -> DeadlineTally {
    const RUNS: u64 = 5;
    let worker_clock = Arc::new(ManualClock::new(T0));
    let decider_clock = Arc::new(ManualClock::new(T0));
    let swept = Arc::new(engine(&stores[0]).clock(worker_clock.clone()));
    let decider = Arc::new(engine(&stores[1]).clock(decider_clock.clone()));
    let runs: Vec<String> = (0..RUNS).map(|index| format!("{prefix}-{index}")).collect();
    for run in &runs {
        let started = decider.start(run, "approve", run).await.unwrap();
        assert!(
            matches!(started.outcome, RunOutcome::AwaitingApproval { .. }),
            "{started:?}"
        );
    }
    decider_clock.advance(Duration::from_mins(1) - Duration::from_millis(1));
    let worker = Worker::new(Arc::clone(&swept))
        .interval(Duration::from_millis(1))
        .spawn();
    worker_clock.advance(Duration::from_mins(1));
    let mut decisions = tokio::task::JoinSet::new();
    for (delay, run) in (0..RUNS).zip(&runs) {
        let (decider, run) = (Arc::clone(&decider), run.clone());
        decisions.spawn(async move {
            tokio::time::sleep(Duration::from_millis(2 * delay)).await;
            let answers = decide_until_final(&decider, &run).await;
            (run, answers)
        });
    }
    let answers = decisions.join_all().await;
    until_finished(&swept, &runs).await;
    worker.stop().await;

    let mut tally = DeadlineTally::default();
    for (run, answers) in answers {
        tally.trials += 1;
        tally.unavailable += answers
            .iter()
            .filter(|answer| answer.as_ref().is_err_and(retryable))
            .count();
        let (pay, escalate) = (executions(&run, "pay"), executions(&run, "escalate"));
        if pay + escalate != 1 {
            tally.repeated.push(format!(
                "{run}: pay {pay}×, escalate {escalate}×, the decision was told {answers:?}"
            ));
        }
        let outcome = swept.record(&run).await.unwrap().outcome;
        let agrees = match answers.last() {
            Some(Ok(told)) => {
                told.pending_approval().is_none() && outcome == completed(json!("paid 7"))
            }
            Some(Err(EngineError::ApprovalExpired { .. })) => {
                outcome == completed(json!("expired"))
            }
            _ => false,
        };
        if !agrees {
            tally.contradictions.push(format!(
                "{run}: the decision was told {answers:?}, the run ended {outcome:?}"
            ));
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_decision_at_the_deadline_and_a_worker_run_the_next_step_once() {
    const ROUNDS: usize = 30;
    on_shared_backends(|backend, stores| async move {
        let mut all = DeadlineTally::default();
        for round in 0..ROUNDS {
            let tally =
                decisions_at_the_deadline(&stores, &format!("deadline-{backend}-{round}")).await;
            all.trials += tally.trials;
            all.unavailable += tally.unavailable;
            all.repeated.extend(tally.repeated);
            all.contradictions.extend(tally.contradictions);
        }
        println!(
            "{backend}: {} decision(s) answered 'try again' over {} runs",
            all.unavailable, all.trials
        );
        [
            finding(
                "the step after the approval did not run exactly once",
                &all.repeated,
                all.trials,
            ),
            finding(
                "the decision's final answer disagrees with the run",
                &all.contradictions,
                all.trials,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Finding 2: duplicates of a payload to a hook with a timeout, over real HTTP.

/// Serves the hooks router of `engine` on 127.0.0.1, with the admin router at `/admin`; its base
/// URL.
async fn serve(engine: Arc<Engine>) -> String {
    let app = awaitly::http::hooks_router(Arc::clone(&engine))
        .nest("/admin", awaitly::http::admin_router(engine));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });
    base
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> (StatusCode, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// How an answer to a delivery reads: `applied`, `duplicate`, `queued`, or status and code.
fn answer_kind((status, body): &(StatusCode, Value)) -> String {
    if body["duplicate"] == json!(true) {
        "duplicate".to_owned()
    } else if *status == StatusCode::OK && body["status"] == "completed" {
        "applied".to_owned()
    } else if body["status"] == "queued" {
        "queued".to_owned()
    } else {
        format!(
            "{} {}",
            status.as_u16(),
            body["error"]["code"].as_str().unwrap_or("?")
        )
    }
}

/// Counts of each kind of answer, most frequent first.
fn kinds(replies: &[(StatusCode, Value)]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for kind in replies.iter().map(answer_kind) {
        match counts.iter_mut().find(|(seen, _)| *seen == kind) {
            Some((_, count)) => *count += 1,
            None => counts.push((kind, 1)),
        }
    }
    counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    counts
}

/// One trial: 100 identical deliveries, alternating between the two instances' servers. What
/// went wrong, if anything.
async fn hundred_duplicates(
    engines: &[Arc<Engine>; 2],
    bases: &[String; 2],
    client: &reqwest::Client,
    run: &str,
) -> Option<String> {
    let started = engines[0].start(run, "pay", &run).await.unwrap();
    let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
    let payment = json!({ "paid_cents": 5 });
    let mut posts = tokio::task::JoinSet::new();
    for index in 0..100 {
        let (client, url) = (client.clone(), format!("{}/hooks/{hook}", bases[index % 2]));
        let body = payment.to_string();
        posts.spawn(async move { post(&client, &url, body).await });
    }
    let replies = posts.join_all().await;
    let kinds = kinds(&replies);
    let count = |kind: &str| {
        kinds
            .iter()
            .find(|(seen, _)| seen == kind)
            .map_or(0, |(_, count)| *count)
    };
    let mut wrong = Vec::new();
    // Exactly one answer applied the payload; the rest are duplicates (the claimer whose payload
    // a duplicate applied for it may be told `queued`).
    let expected = count("applied") == 1
        && count("queued") <= 1
        && count("applied") + count("queued") + count("duplicate") == replies.len();
    if !expected {
        wrong.push(format!("answers {kinds:?}"));
    }
    let ship = executions(run, "ship");
    if ship != 1 {
        wrong.push(format!("the step after the hook ran {ship}×"));
    }
    let outcome = engines[0].record(run).await.unwrap().outcome;
    if outcome != completed(json!("shipped 5")) {
        wrong.push(format!("the run ended {outcome:?}"));
    }
    wrong.extend(afterwards(engines, &bases[0], client, &hook, &payment).await);
    (!wrong.is_empty()).then(|| format!("{run}: {}", wrong.join("; ")))
}

/// After the deliveries: the hook keeps its payload, is not pending, and refuses another one.
async fn afterwards(
    engines: &[Arc<Engine>; 2],
    base: &str,
    client: &reqwest::Client,
    hook: &HookId,
    payment: &Value,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let stored = engines[0].store().find_hook(hook).await.unwrap();
    if stored.as_ref().and_then(|record| record.payload.as_ref()) != Some(payment) {
        wrong.push(format!(
            "the hook row holds payload {:?}",
            stored.and_then(|record| record.payload)
        ));
    }
    let pending = engines[0].pending_hooks().await.unwrap();
    if pending.iter().any(|record| record.hook_id == *hook) {
        wrong.push("pending_hooks() lists the hook again".to_owned());
    }
    let listing: Value = client
        .get(format!("{base}/admin/hooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listing["hooks"].as_array().is_some_and(|hooks| {
        hooks
            .iter()
            .any(|listed| listed["hook_id"] == hook.as_str())
    });
    if listed {
        wrong.push("GET /admin/hooks lists the hook as pending".to_owned());
    }
    let other = post(
        client,
        &format!("{base}/hooks/{hook}"),
        json!({ "paid_cents": 6 }).to_string(),
    )
    .await;
    if answer_kind(&other) != "409 already_resolved" {
        wrong.push(format!(
            "another payload got {} instead of 409 already_resolved",
            answer_kind(&other)
        ));
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_deliveries_to_a_hook_with_a_timeout_are_duplicates() {
    const TRIALS: usize = 3;
    on_shared_backends(|backend, stores| async move {
        let engines = stores.each_ref().map(|store| Arc::new(engine(store)));
        let bases = [
            serve(Arc::clone(&engines[0])).await,
            serve(Arc::clone(&engines[1])).await,
        ];
        let client = reqwest::Client::new();
        let mut wrong = Vec::new();
        for trial in 0..TRIALS {
            let run = format!("pay-{backend}-{trial}");
            wrong.extend(hundred_duplicates(&engines, &bases, &client, &run).await);
        }
        finding(
            "100 identical deliveries were not one applied and 99 duplicates",
            &wrong,
            TRIALS,
        )
        .into_iter()
        .collect()
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Finding 3: a valid payload racing a wrong-typed one.

/// Delivers `payload` until the answer is not "try again" (at most 5 times); every answer.
async fn deliver_until_final(
    engine: &Engine,
    hook: &HookId,
    payload: &Value,
) -> Vec<Result<Delivery, EngineError>> {
    let mut answers = Vec::new();
    for _ in 0..5 {
        let answer = engine.resume_hook(hook, payload.clone()).await;
        let again = answer.as_ref().is_err_and(retryable);
        answers.push(answer);
        if !again {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    answers
}

/// One trial: what went wrong, if anything.
async fn valid_against_wrong(engines: &[Arc<Engine>; 2], run: &str, trial: usize) -> Vec<String> {
    let started = engines[0].start(run, "typed", &run).await.unwrap();
    let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
    let valid = json!({ "paid_cents": 5 });
    let wrong_task = {
        let (engine, hook) = (Arc::clone(&engines[trial % 2]), hook.clone());
        tokio::spawn(async move {
            engine
                .resume_hook(&hook, json!({ "paid_cents": "lots" }))
                .await
        })
    };
    let valid_task = {
        let (engine, hook, valid) = (
            Arc::clone(&engines[(trial + 1) % 2]),
            hook.clone(),
            valid.clone(),
        );
        tokio::spawn(async move { deliver_until_final(&engine, &hook, &valid).await })
    };
    let wrong_answer = wrong_task.await.unwrap();
    let valid_answers = valid_task.await.unwrap();
    if matches!(valid_answers.last(), Some(Ok(Delivery::Queued { .. }))) {
        // Queued: another executor applies it; give it a moment.
        finished_by(&engines[0], run, Instant::now() + Duration::from_secs(1)).await;
    }
    let outcome = engines[0].record(run).await.unwrap().outcome;
    let consumed = outcome == completed(json!("paid 5"));
    let mut found = Vec::new();
    match valid_answers.last() {
        Some(Err(EngineError::AlreadyResolved { .. })) if !consumed => found.push(format!(
            "{run}: the valid payload was told AlreadyResolved (409), yet the run stands at {outcome:?}"
        )),
        _ if !consumed => found.push(format!(
            "{run}: the valid payload was never applied (told {valid_answers:?}), the run stands at {outcome:?}"
        )),
        Some(Ok(_)) => {}
        other => found.push(format!("{run}: the valid payload was told {other:?}")),
    }
    let wrong_ok = match &wrong_answer {
        Err(EngineError::PayloadType { .. }) => true,
        Err(EngineError::AlreadyResolved { .. }) => consumed,
        Err(error) => retryable(error),
        Ok(_) => false,
    };
    if !wrong_ok {
        found.push(format!(
            "{run}: the wrong-typed payload was told {wrong_answer:?}"
        ));
    }
    let fulfil = executions(run, "fulfil");
    if fulfil != u32::from(consumed) {
        found.push(format!("{run}: the step after the hook ran {fulfil}×"));
    }
    let stored = engines[0].store().find_hook(&hook).await.unwrap();
    if consumed && stored.and_then(|record| record.payload) != Some(valid) {
        found.push(format!("{run}: the hook row lost the valid payload"));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_valid_payload_never_loses_to_a_wrong_typed_one() {
    const TRIALS: usize = 20;
    on_shared_backends(|backend, stores| async move {
        let engines = stores.each_ref().map(|store| Arc::new(engine(store)));
        let mut wrong = Vec::new();
        let mut failed_trials = 0;
        for trial in 0..TRIALS {
            let found =
                valid_against_wrong(&engines, &format!("typed-{backend}-{trial}"), trial).await;
            failed_trials += usize::from(!found.is_empty());
            wrong.extend(found);
        }
        println!("{backend}: {failed_trials} of {TRIALS} trials went wrong");
        finding("a valid payload lost to a wrong-typed one", &wrong, TRIALS)
            .into_iter()
            .collect()
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Finding 4: answers that contradict the store.

/// One trial: 80 identical grants, alternating between the two instances.
async fn eighty_identical_decisions(engines: &[Arc<Engine>; 2], run: &str) -> Vec<String> {
    const DECISIONS: usize = 80;
    let key = approval_key(run);
    engines[0].start(run, "approve", &run).await.unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for index in 0..DECISIONS {
        let (engine, run, key) = (Arc::clone(&engines[index % 2]), run.to_owned(), key.clone());
        calls.spawn(async move {
            engine
                .decide_approval(&run, &key, Decision::Grant(json!(7)), "clerk")
                .await
        });
    }
    let answers = calls.join_all().await;
    let stored = engines[0].store().load_run(run).await.unwrap().unwrap();
    let decided = stored
        .state
        .get(&key)
        .and_then(|entry| entry.approval())
        .is_some_and(|approval| approval["status"] == "approved");
    let mut wrong = Vec::new();
    let waiting = answers
        .iter()
        .filter(|answer| {
            answer.as_ref().is_ok_and(|outcome| {
                outcome
                    .pending_approval()
                    .is_some_and(|approval| approval.step_key == key)
            })
        })
        .count();
    if waiting > 0 && decided {
        wrong.push(format!(
            "{run}: {waiting} of {DECISIONS} answers were Ok(AwaitingApproval {{ {key} }}) although the decision was recorded"
        ));
    }
    let refused: Vec<&EngineError> = answers
        .iter()
        .filter_map(|answer| answer.as_ref().err())
        .filter(|error| !retryable(error))
        .collect();
    if !refused.is_empty() {
        wrong.push(format!(
            "{run}: {} identical decisions were refused: {:?}",
            refused.len(),
            refused[0]
        ));
    }
    if !decided {
        wrong.push(format!("{run}: the decision is not recorded"));
    }
    if stored.record.outcome != completed(json!("paid 7")) || executions(run, "pay") != 1 {
        wrong.push(format!(
            "{run}: the run stands at {:?}, pay ran {}×",
            stored.record.outcome,
            executions(run, "pay")
        ));
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_concurrent_decisions_never_answer_awaiting_approval() {
    on_shared_backends(|backend, stores| async move {
        // The window (a load that reads the run before the decision and its entries after) is
        // narrowest on SQLite, where trials are also cheapest.
        let trials = if backend == "sqlite" { 150 } else { 30 };
        let engines = stores.each_ref().map(|store| Arc::new(engine(store)));
        let mut wrong = Vec::new();
        for trial in 0..trials {
            wrong.extend(
                eighty_identical_decisions(&engines, &format!("decide-{backend}-{trial}")).await,
            );
        }
        finding(
            "concurrent identical decisions got answers that contradict the store",
            &wrong,
            trials,
        )
        .into_iter()
        .collect()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn start_of_a_run_another_executor_advances_is_never_fenced() {
    const ROUNDS: usize = 3;
    on_shared_backends(|backend, stores| async move {
        let engines = stores
            .each_ref()
            .map(|store| Arc::new(engine(store).stale_after(STALE)));
        let mut found = Vec::new();
        for round in 0..ROUNDS {
            let runs = orphans(&stores[0], &format!("restart-{backend}-{round}")).await;
            let recovering = {
                let engine = Arc::clone(&engines[0]);
                tokio::spawn(async move { engine.recover().await.unwrap() })
            };
            let mut refused = Vec::new();
            for run in &runs {
                if let Err(error) = engines[1].start(run, "steps", run).await {
                    refused.push(format!("{run}: {error:?}"));
                }
            }
            recovering.await.unwrap();
            let answers = finding(
                "start() of a run another executor was advancing answered an error (Fenced is not among the errors its docs list)",
                &refused,
                runs.len(),
            );
            let steps = steps_ran_once(&engines[0], &runs, &["one", "two", "three"], &json!(3)).await;
            found.extend(
                answers
                    .into_iter()
                    .chain(steps)
                    .map(|line| format!("round {round}: {line}")),
            );
        }
        found
    })
    .await;
}
