//! The typed event stream of a run, in order.

use std::sync::{Arc, Mutex};

use awaitly::{Event, EventSink, HookId, ResumeState, await_hook, inject_hook, step, workflow};

#[workflow]
async fn pay(hook: HookId) -> Result<u32, String> {
    let order = step!("order", Ok::<u32, String>(7))?;
    let paid: u32 = await_hook!(hook);
    step!(
        "fulfil",
        if paid == order {
            Ok(paid)
        } else {
            Err(format!("paid {paid}, owed {order}"))
        }
    )
}

fn recorder() -> (Arc<Mutex<Vec<Event>>>, Arc<dyn EventSink>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    (
        events,
        Arc::new(move |event: &Event| sink.lock().unwrap().push(event.clone())),
    )
}

/// Events as short labels, so whole sequences can be compared.
fn labels(events: &Mutex<Vec<Event>>) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|event| match event {
            Event::RunStarted { workflow } => format!("run started {workflow}"),
            Event::StepStarted { key } => format!("step started {key}"),
            Event::StepCompleted { key, ok, attempts } => {
                format!("step completed {key} ok={ok} attempts={attempts}")
            }
            Event::StepReplayed { key, ok } => format!("step replayed {key} ok={ok}"),
            Event::HookPending { hook } => format!("hook pending {}", hook.hook_id),
            Event::HookDelivered { hook_id } => format!("hook delivered {hook_id}"),
            Event::RunSuspended => "run suspended".to_owned(),
            Event::RunCompleted => "run completed".to_owned(),
            Event::RunFailed => "run failed".to_owned(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_run_reports_what_happens_in_order() {
    let (events, sink) = recorder();
    let run = pay("h1".into()).events(sink).run(ResumeState::new()).await;
    assert_eq!(
        labels(&events),
        [
            "run started pay",
            "step started order",
            "step completed order ok=true attempts=1",
            "hook pending h1",
            "run suspended"
        ]
    );

    let (events, sink) = recorder();
    let state = inject_hook(&run.state, &"h1".into(), &7).unwrap();
    let _ = pay("h1".into()).events(sink).run(state).await;
    assert_eq!(
        labels(&events),
        [
            "run started pay",
            "step replayed order ok=true",
            "hook delivered h1",
            "step started fulfil",
            "step completed fulfil ok=true attempts=1",
            "run completed"
        ]
    );

    let (events, sink) = recorder();
    let state = inject_hook(&run.state, &"h1".into(), &3).unwrap();
    let _ = pay("h1".into()).events(sink).run(state).await;
    assert_eq!(
        labels(&events).last().map(String::as_str),
        Some("run failed")
    );
}
