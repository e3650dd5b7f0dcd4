//! One background thread that wakes sleeping futures at their deadlines: a timer for any executor,
//! without depending on an async runtime.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Shared {
    done: bool,
    waker: Option<Waker>,
}

struct Registration {
    deadline: Instant,
    shared: Arc<Mutex<Shared>>,
}

/// Resolves after `duration`.
pub(crate) fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now() + duration,
        shared: None,
    }
}

pub(crate) struct Sleep {
    deadline: Instant,
    shared: Option<Arc<Mutex<Shared>>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        if let Some(shared) = &self.shared {
            let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
            if shared.done {
                return Poll::Ready(());
            }
            shared.waker = Some(context.waker().clone());
            return Poll::Pending;
        }
        let shared = Arc::new(Mutex::new(Shared {
            done: false,
            waker: Some(context.waker().clone()),
        }));
        let registration = Registration {
            deadline: self.deadline,
            shared: Arc::clone(&shared),
        };
        if timer_thread().send(registration).is_err() {
            // The timer thread is gone (it never exits on its own): fall back to finishing now
            // rather than hanging forever.
            return Poll::Ready(());
        }
        self.shared = Some(shared);
        Poll::Pending
    }
}

fn timer_thread() -> Sender<Registration> {
    static SENDER: OnceLock<Mutex<Sender<Registration>>> = OnceLock::new();
    SENDER
        .get_or_init(|| {
            let (sender, receiver) = mpsc::channel::<Registration>();
            let spawned = std::thread::Builder::new()
                .name("awaitly-timer".to_owned())
                .spawn(move || run(&receiver));
            // Without a thread, sends fail and sleeps finish at once (see `poll`).
            drop(spawned);
            Mutex::new(sender)
        })
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

fn run(receiver: &mpsc::Receiver<Registration>) {
    let mut queue: BinaryHeap<(Reverse<Instant>, usize)> = BinaryHeap::new();
    let mut pending: Vec<Option<Arc<Mutex<Shared>>>> = Vec::new();
    loop {
        let now = Instant::now();
        while let Some(&(Reverse(deadline), slot)) = queue.peek() {
            if deadline > now {
                break;
            }
            queue.pop();
            if let Some(shared) = pending[slot].take() {
                let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
                shared.done = true;
                if let Some(waker) = shared.waker.take() {
                    waker.wake();
                }
            }
        }
        if queue.is_empty() {
            pending.clear();
        }
        let next = match queue.peek() {
            Some(&(Reverse(deadline), _)) => {
                receiver.recv_timeout(deadline.saturating_duration_since(now))
            }
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(registration) => {
                queue.push((Reverse(registration.deadline), pending.len()));
                pending.push(Some(registration.shared));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_wake_in_deadline_order_on_any_executor() {
        let start = Instant::now();
        let waker = Waker::noop();
        let mut context = Context::from_waker(waker);
        let mut long = Box::pin(sleep(Duration::from_millis(30)));
        let mut short = Box::pin(sleep(Duration::from_millis(10)));
        assert!(long.as_mut().poll(&mut context).is_pending());
        assert!(short.as_mut().poll(&mut context).is_pending());
        while short.as_mut().poll(&mut context).is_pending() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(start.elapsed() >= Duration::from_millis(10));
        while long.as_mut().poll(&mut context).is_pending() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
