//! Tests of exercise 11: `Join2` polls both futures, waits for both, never polls a finished one
//! again, and gives the outputs in order.
//!
//! The tests drive `Join2` by hand with two *gates*: futures that are pending until the test
//! opens them, and that wake whoever polled them when they are opened.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use join2::join2;

/// Where to read about this exercise.
const REREAD: &str = "chapter 6, Futures by hand (book/src/futures-by-hand.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// The test's side of a gate: opens it, and says how often it was polled.
#[derive(Clone, Default)]
struct GateHandle {
    open: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl GateHandle {
    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }

    fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }
}

/// A future that is pending until its handle opens it, then ready with its name.
struct Gate {
    name: &'static str,
    handle: GateHandle,
    finished: bool,
}

fn gate(name: &'static str) -> (Gate, GateHandle) {
    let handle = GateHandle::default();
    let gate = Gate {
        name,
        handle: handle.clone(),
        finished: false,
    };
    (gate, handle)
}

impl Future for Gate {
    type Output = &'static str;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        assert!(
            !self.finished,
            "gate {} was polled again after it returned `Ready`: a finished future must never \
             be polled again (keep its output and skip it)\n    reread: {REREAD}",
            self.name
        );
        self.handle.polls.fetch_add(1, Ordering::SeqCst);
        if self.handle.open.load(Ordering::SeqCst) {
            self.finished = true;
            Poll::Ready(self.name)
        } else {
            *self.handle.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_first_poll_polls_both_futures() {
    let ((a, a_handle), (b, b_handle)) = (gate("a"), gate("b"));
    let mut cx = Context::from_waker(Waker::noop());
    let mut joined = pin!(join2(a, b));
    check(
        "both gates closed",
        joined.as_mut().poll(&mut cx),
        Poll::Pending,
    );
    check(
        "the first poll of `Join2` should poll both futures (that is what makes them run at the \
         same time): polls of a and b",
        (a_handle.polls(), b_handle.polls()),
        (1, 1),
    );
}

#[test]
fn it_waits_for_both_and_gives_the_outputs_in_order() {
    let ((a, a_handle), (b, b_handle)) = (gate("a"), gate("b"));
    let wakes = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let mut joined = pin!(join2(a, b));
    check(
        "both gates closed",
        joined.as_mut().poll(&mut cx),
        Poll::Pending,
    );

    b_handle.open();
    check(
        "opening b wakes the task that polled `Join2`: the gates got our waker through `cx`",
        wakes.0.load(Ordering::SeqCst),
        1,
    );
    check(
        "b is done but a is not: still pending",
        joined.as_mut().poll(&mut cx),
        Poll::Pending,
    );
    check(
        "still pending: polling again must not poll b, which has finished",
        joined.as_mut().poll(&mut cx),
        Poll::Pending,
    );

    a_handle.open();
    check(
        "both done: `(a's output, b's output)`, in that order, though b finished first",
        joined.as_mut().poll(&mut cx),
        Poll::Ready(("a", "b")),
    );
    check(
        "b was polled twice in all (closed, then open), never after it finished",
        b_handle.polls(),
        2,
    );
}

#[test]
fn two_ready_futures_are_ready_at_the_first_poll() {
    let mut cx = Context::from_waker(Waker::noop());
    let joined = pin!(join2(std::future::ready(1), std::future::ready("one")));
    check(
        "both ready at once",
        joined.poll(&mut cx),
        Poll::Ready((1, "one")),
    );
}

/// A future that is pending once (having woken its task), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn it_runs_any_futures_under_an_executor() {
    // In a thread of its own, so that a `Join2` that never finishes fails this test instead of
    // hanging it.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let both = futures::executor::block_on(join2(
            async {
                YieldOnce(false).await;
                "Oslo"
            },
            async { 35 },
        ));
        let _ = done.send(both);
    });
    let Ok(both) = finished.recv_timeout(std::time::Duration::from_secs(10)) else {
        panic!(
            "`block_on(join2(...))` did not finish in 10 s: is `Ready` returned as soon as \
             both outputs are there?\n    reread: {REREAD}"
        );
    };
    check(
        "`Join2` of two async blocks (which must stay pinned: use the projected fields)",
        both,
        ("Oslo", 35),
    );
}

#[test]
fn the_future_is_written_by_hand() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"))
        .expect("src/lib.rs is readable");
    for (number, line) in source.lines().enumerate() {
        // The code of the line: no comment, and no string literal (`#[must_use = "..."]`).
        let code = line.split("//").next().unwrap_or_default();
        let code: String = code.split('"').step_by(2).collect::<Vec<_>>().join(" ");
        let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        if let Some(word) = words
            .into_iter()
            .find(|word| matches!(*word, "async" | "await"))
        {
            panic!(
                "src/lib.rs:{}: uses `{word}`. This chapter writes by hand what `async` and \
                 `.await` generate: implement `Future::poll` yourself\n    reread: {REREAD}",
                number + 1
            );
        }
    }
}
