//! A precise 1 ms asynchronous dependency. tokio's timer ticks in whole milliseconds, so a
//! `sleep(1 ms)` takes 1–2 ms and the ideal the benchmark compares against would be unreachable
//! for reasons that have nothing to do with awaitly. Here one thread completes each call at its
//! deadline (`std::thread::sleep` is accurate to tens of microseconds on Linux).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

struct Call {
    done: bool,
    waker: Option<Waker>,
}

struct Pending(Instant, u64, Arc<Mutex<Call>>);

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.0, self.1) == (other.0, other.1)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(other.0, other.1))
    }
}

struct Service {
    queue: Mutex<(BinaryHeap<Reverse<Pending>>, u64)>,
    added: Condvar,
}

fn service() -> &'static Service {
    static SERVICE: OnceLock<&'static Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let service: &'static Service = Box::leak(Box::new(Service {
            queue: Mutex::new((BinaryHeap::new(), 0)),
            added: Condvar::new(),
        }));
        std::thread::spawn(move || run(service));
        service
    })
}

fn run(service: &'static Service) {
    let mut queue = service.queue.lock().unwrap();
    loop {
        let next = queue.0.peek().map(|Reverse(pending)| pending.0);
        match next {
            None => queue = service.added.wait(queue).unwrap(),
            Some(deadline) => {
                let now = Instant::now();
                if deadline > now {
                    drop(queue);
                    std::thread::sleep(deadline - now);
                    queue = service.queue.lock().unwrap();
                    continue;
                }
                let Some(Reverse(Pending(_, _, call))) = queue.0.pop() else {
                    continue;
                };
                let mut call = call.lock().unwrap();
                call.done = true;
                if let Some(waker) = call.waker.take() {
                    waker.wake();
                }
            }
        }
    }
}

/// Completes `delay` after it is first polled.
pub(crate) struct Delay {
    delay: Duration,
    call: Option<Arc<Mutex<Call>>>,
}

/// The dependency: a call that answers after `delay`.
pub(crate) fn after(delay: Duration) -> Delay {
    Delay { delay, call: None }
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<()> {
        if let Some(call) = &self.call {
            let mut call = call.lock().unwrap();
            if call.done {
                return Poll::Ready(());
            }
            call.waker = Some(task.waker().clone());
            return Poll::Pending;
        }
        let call = Arc::new(Mutex::new(Call {
            done: false,
            waker: Some(task.waker().clone()),
        }));
        let service = service();
        let mut queue = service.queue.lock().unwrap();
        queue.1 += 1;
        let sequence = queue.1;
        queue.0.push(Reverse(Pending(
            Instant::now() + self.delay,
            sequence,
            Arc::clone(&call),
        )));
        drop(queue);
        service.added.notify_one();
        self.call = Some(call);
        Poll::Pending
    }
}
