//! Chapter 13.1: testing and debugging async code.
//!
//! Two tools, each with the tests that prove what the book says about it:
//!
//! - **paused time**: [`retry_with_backoff`] waits minutes between attempts,
//!   and its tests run those minutes on tokio's paused clock, instantly and
//!   exactly; other tests show what the paused clock does *not* pause (a
//!   blocking sleep, another thread, a `spawn_blocking` task);
//! - **a trace of a hang**: [`total`] hangs (a sender kept alive), a test
//!   bounded by a paused-time `timeout` fails instead of hanging, and the
//!   spans of `tracing` show which wait never ended. [`subscriber`] is the
//!   test subscriber; the test `the_trace_of_the_hang_is_the_books` writes
//!   the trace the book shows to `fixtures/hang-trace.txt`.
//!
//! Exercise 32 (`exercises/32-find-the-hang`) finds another hang the same way.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{Instrument, Subscriber, info, info_span};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

// ANCHOR: retry
/// Calls `operation` until it succeeds, at most `max_attempts` times; waits
/// `first_wait` after the first failure, and twice as long after each next.
pub async fn retry_with_backoff<T, E, F>(
    max_attempts: u32,
    first_wait: Duration,
    mut operation: impl FnMut() -> F,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut wait = first_wait;
    let mut attempt = 1;
    loop {
        match operation().await {
            Ok(value) => return Ok(value),
            Err(error) if attempt == max_attempts => return Err(error),
            Err(_) => {
                // The runtime's timer: on a paused clock, this wait takes
                // no real time at all.
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
        }
    }
}
// ANCHOR_END: retry

// ANCHOR: hang
/// Adds up `readings` on a task of its own, fed through a channel.
/// It hangs: see `total_fixed`.
#[tracing::instrument(skip_all)]
pub async fn total(readings: Vec<i64>) -> i64 {
    let (sender, receiver) = mpsc::channel(4);
    let adder = tokio::spawn(add_up(receiver));
    for reading in readings {
        sender
            .send(reading)
            .instrument(info_span!("send", reading))
            .await
            .expect("the adder is running");
    }
    adder
        .instrument(info_span!("join adder"))
        .await
        .expect("the adder does not panic")
}

/// Adds up what comes through `receiver`, until every sender is gone.
#[tracing::instrument(skip_all)]
async fn add_up(mut receiver: mpsc::Receiver<i64>) -> i64 {
    let mut sum = 0;
    while let Some(reading) =
        receiver.recv().instrument(info_span!("recv")).await
    {
        sum += reading;
        info!(reading, sum, "added");
    }
    sum
}
// ANCHOR_END: hang

// ANCHOR: fixed
/// [`total`], fixed: the sender is dropped once everything is sent, so the
/// adder's `recv()` returns `None` when the queue is empty, and it ends.
pub async fn total_fixed(readings: Vec<i64>) -> i64 {
    let (sender, receiver) = mpsc::channel(4);
    let adder = tokio::spawn(add_up(receiver));
    for reading in readings {
        sender.send(reading).await.expect("the adder is running");
    }
    drop(sender); // The fix: the last sender goes, the channel closes.
    adder.await.expect("the adder does not panic")
}
// ANCHOR_END: fixed

// ANCHOR: subscriber
/// A `fmt` subscriber for one test, writing to `writer`: one line per event,
/// one when a span is created (a wait begins) and one when it closes.
pub fn subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        // No clock: the system's time of day, and a closing span's busy and
        // idle times, are real time, which differs from run to run.
        .without_time()
        .with_ansi(false)
        .with_level(false)
        .with_target(false)
        .finish()
}
// ANCHOR_END: subscriber

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};

    use std::io::Write as _;
    use std::net::TcpListener;

    use tokio::io::AsyncReadExt as _;
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;
    use tokio::time::{Instant, timeout};
    use tracing_subscriber::fmt::TestWriter;

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    // ANCHOR: paused_retry
    #[tokio::test(start_paused = true)]
    async fn minutes_of_backoff_take_no_real_time() {
        let start = Instant::now();
        let attempts_at = Mutex::new(Vec::new());
        let failures = AtomicU32::new(0);
        let answer = retry_with_backoff(6, 10 * SECOND, || async {
            attempts_at.lock().unwrap().push(start.elapsed().as_secs());
            // The first four attempts fail.
            match failures.fetch_add(1, Ordering::Relaxed) {
                0..4 => Err("unavailable"),
                _ => Ok(42),
            }
        })
        .await;
        assert_eq!(answer, Ok(42));
        // Waits of 10, 20, 40 and 80 s between the five attempts: exact.
        let attempts_at = attempts_at.into_inner().unwrap();
        assert_eq!(attempts_at, [0, 10, 30, 70, 150]);
        assert_eq!(start.elapsed(), 150 * SECOND);
    }
    // ANCHOR_END: paused_retry

    #[tokio::test(start_paused = true)]
    async fn the_last_failure_is_returned_after_the_last_attempt() {
        let start = Instant::now();
        let attempts = AtomicU32::new(0);
        let answer: Result<(), _> =
            retry_with_backoff(3, 10 * SECOND, || async {
                Err(attempts.fetch_add(1, Ordering::Relaxed) + 1)
            })
            .await;
        assert_eq!(answer, Err(3), "the third attempt's error");
        assert_eq!(start.elapsed(), 30 * SECOND, "no wait after the last");
    }

    #[tokio::test(start_paused = true)]
    async fn advance_moves_the_clock_by_exactly_that_much() {
        let start = Instant::now();
        tokio::time::advance(90 * SECOND).await;
        assert_eq!(start.elapsed(), 90 * SECOND);
    }

    // ANCHOR: blind_spots
    #[tokio::test(start_paused = true)]
    async fn a_blocking_sleep_does_not_move_the_paused_clock() {
        let start = Instant::now();
        // Real time passes, and the runtime's only thread is blocked for it.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_clock_jumps_over_a_read_from_a_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback");
        let address = listener.local_addr().expect("bound");
        let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().expect("one client");
            wait_for_go.recv().expect("the test says go");
            socket.write_all(b"late").is_ok()
        });
        let mut client = TcpStream::connect(address).await.expect("loopback");
        let start = Instant::now();
        let mut buffer = [0; 4];
        // The answer is written in real time, after the test says so; the
        // paused clock does not wait for it and jumps to the timeout.
        let read = timeout(3600 * SECOND, client.read(&mut buffer)).await;
        assert!(read.is_err(), "timed out: {read:?}");
        assert_eq!(start.elapsed(), 3600 * SECOND);
        go.send(()).expect("the server waits");
        let written = server.join().expect("the server does not panic");
        assert!(written, "the answer came, too late");
    }
    // ANCHOR_END: blind_spots

    #[tokio::test(start_paused = true)]
    async fn the_clock_jumps_over_work_on_another_thread() {
        let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
        let (answer, answered) = oneshot::channel();
        let other = std::thread::spawn(move || {
            wait_for_go.recv().expect("the test says go");
            // Too late: the timeout has dropped the receiver.
            answer.send(42).is_err()
        });
        let start = Instant::now();
        // No task can run and a timer is pending: the clock jumps to it,
        // although the other thread would answer at once if allowed to.
        let answered = timeout(3600 * SECOND, answered).await;
        assert!(answered.is_err(), "timed out: {answered:?}");
        assert_eq!(start.elapsed(), 3600 * SECOND);
        go.send(()).expect("the thread waits");
        let too_late = other.join().expect("the thread does not panic");
        assert!(too_late, "nobody waits for the answer any more");
    }

    // ANCHOR: spawn_blocking
    #[tokio::test(start_paused = true)]
    async fn a_spawn_blocking_task_holds_the_clock_still() {
        let start = Instant::now();
        let blocking = tokio::task::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(5));
            42
        });
        // While a blocking task runs, the clock does not auto-advance: the
        // timeout does not fire, however long the task takes in real time.
        let answer = timeout(SECOND, blocking).await;
        assert_eq!(answer.expect("no timeout").expect("no panic"), 42);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
    // ANCHOR_END: spawn_blocking

    // ANCHOR: bounded
    #[tokio::test(start_paused = true)]
    async fn a_hang_fails_the_test_instead_of_hanging_it() {
        // Every line of the trace goes to the test's captured output,
        // which `cargo test` prints when the test fails.
        let subscriber = subscriber(TestWriter::new());
        let _trace = tracing::subscriber::set_default(subscriber);
        let summed = timeout(60 * SECOND, total(vec![3, 4, 5])).await;
        // A minute of virtual time, over at once: every task waits and no
        // timer but the timeout's is left, so the clock jumps to it.
        assert!(summed.is_err(), "`total` should hang: {summed:?}");
    }
    // ANCHOR_END: bounded

    #[tokio::test(start_paused = true)]
    async fn the_fixed_total_ends() {
        let summed = timeout(60 * SECOND, total_fixed(vec![3, 4, 5])).await;
        assert_eq!(summed, Ok(12));
    }

    /// A `MakeWriter` that keeps what is written, for the book's file.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            String::from_utf8(bytes.clone()).expect("the trace is UTF-8")
        }
    }

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut bytes =
                self.0.lock().unwrap_or_else(PoisonError::into_inner);
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;

        fn make_writer(&'w self) -> Captured {
            self.clone()
        }
    }

    /// The trace in the book is this test's: it fails when the trace
    /// differs from `fixtures/hang-trace.txt`, and with `UPDATE_TRACES=1`
    /// in the environment writes the file instead (review it before
    /// committing).
    #[tokio::test(start_paused = true)]
    async fn the_trace_of_the_hang_is_the_books() {
        let captured = Captured::default();
        let subscriber = subscriber(captured.clone());
        let trace = tracing::subscriber::set_default(subscriber);
        // Boxed, not pinned on the stack, so that `drop` below drops it.
        let mut total = Box::pin(total(vec![3, 4, 5]));
        let summed = timeout(60 * SECOND, &mut total).await;
        assert!(summed.is_err(), "`total` should hang");
        info!("timed out after 60 s: dropping `total`");
        drop(total);
        drop(trace);
        let trace = captured.text();
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/hang-trace.txt");
        if std::env::var_os("UPDATE_TRACES").is_some() {
            std::fs::write(path, &trace).expect("the fixture is writable");
        }
        let book = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            book == trace,
            "{path} differs from the trace (rerun with UPDATE_TRACES=1 \
             to write it):\n{trace}"
        );
    }
}
