//! `tracing` spans for runs and steps (feature `tracing`).
#![cfg(feature = "tracing")]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use awaitly::trace::run_traced;
use awaitly::{ResumeState, step, workflow};
use tracing::Subscriber;
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Records span openings and closings, and event messages, in order.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attributes: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut fields = String::new();
        attributes.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                let _ = write!(fields, " {}={value:?}", field.name());
            },
        );
        self.0
            .lock()
            .unwrap()
            .push(format!("open {}{fields}", attributes.metadata().name()));
    }

    fn on_close(&self, id: Id, context: Context<'_, S>) {
        let name = context.span(&id).map_or("?", |span| span.name());
        self.0.lock().unwrap().push(format!("close {name}"));
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut message = String::new();
        event.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                if field.name() == "message" {
                    message = format!("{value:?}");
                }
            },
        );
        self.0.lock().unwrap().push(format!("event {message}"));
    }
}

#[workflow]
async fn two() -> Result<u8, String> {
    step!("a", Ok::<u8, String>(1))?;
    step!("b", Ok::<u8, String>(2))
}

#[tokio::test]
async fn runs_and_steps_become_spans() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let first = run_traced(two(), ResumeState::new()).await;
    assert!(first.outcome.is_completed());
    let _ = run_traced(two(), first.state).await;
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "open awaitly.run workflow=\"two\"",
            "event run started",
            "open awaitly.step key=a",
            "close awaitly.step",
            "open awaitly.step key=b",
            "close awaitly.step",
            "event run completed",
            "close awaitly.run",
            "open awaitly.run workflow=\"two\"",
            "event run started",
            "event step replayed",
            "event step replayed",
            "event run completed",
            "close awaitly.run",
        ]
    );
}
