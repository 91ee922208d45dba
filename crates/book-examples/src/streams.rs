//! Chapter 10.1: streams, a future that yields many times.
//!
//! [`Stream`] is the trait of `futures-core` declared again with the same
//! shape, so that the book can include it (a test proves that every
//! `futures::Stream` fits it). [`Changes`] is a stream written by hand, in the
//! shape of `rosetta-state-machines`'s futures (`executor/timeout.rs`): a
//! constructor, a `pin_project!` struct, a short `poll_next`. Its tests poll it
//! by hand and count wakes.
//!
//! Then streams as a user meets them: [`StreamExt`] chains over a channel
//! ([`first_warm`], [`regions_of`]), tokio's `mpsc::Receiver` turned into a
//! stream ([`receiver_stream`]), many futures in one `FuturesUnordered`
//! ([`in_completion_order`]), and `buffer_unordered` set beside spawning
//! ([`in_one_task`], [`spawned`]). The tests run on tokio's paused clock, so
//! every time they check is exact and no test waits on the wall clock.
//!
//! Read next: `shutdown.rs` (chapter 10.2).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::stream::{self, FuturesUnordered, StreamExt};
use pin_project_lite::pin_project;
use tokio::time::sleep;

// ANCHOR: stream_trait
/// `futures_core::Stream`, declared again with the same shape.
pub trait Stream {
    /// What the stream yields.
    type Item;

    /// `Ready(Some(item))`: the next item. `Ready(None)`: the stream has
    /// ended. `Pending`: not yet, and the waker in `cx` will be called
    /// when it is worth polling again (the contract of `Future::poll`).
    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Self::Item>>;

    /// Bounds on the number of items still to come: at least the first,
    /// at most the second (`None`: no bound known). A hint only.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}
// ANCHOR_END: stream_trait

/// Every `futures::Stream` is a [`Stream`], with `poll_next` and `size_hint`
/// forwarded unchanged: the impl compiles only because the shapes match.
impl<S: futures::Stream + ?Sized> Stream for S {
    type Item = S::Item;

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<S::Item>> {
        futures::Stream::poll_next(self, cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        futures::Stream::size_hint(self)
    }
}

// ANCHOR: changes
/// The items of `inner` that differ from the item before them: a sensor
/// that repeats its last reading is reported once per change.
pub fn changes<S>(inner: S) -> Changes<S>
where
    S: futures::Stream,
    S::Item: Clone + PartialEq,
{
    Changes { inner, last: None }
}

pin_project! {
    /// Stream for [`changes`].
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Changes<S: futures::Stream> {
        // The stream we read. It may be `!Unpin` (an `async` stream),
        // so `poll_next` may touch it only pinned: `#[pin]`.
        #[pin]
        inner: S,
        // The last item yielded, to compare the next one with.
        last: Option<S::Item>,
    }
}
// ANCHOR_END: changes

// ANCHOR: changes_poll
impl<S> futures::Stream for Changes<S>
where
    S: futures::Stream,
    S::Item: Clone + PartialEq,
{
    type Item = S::Item;

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        loop {
            // `Pending` from the inner stream: it has our waker, so we may
            // return `Pending` too (`ready!` does). `None`: we end with it.
            let Some(item) = ready!(this.inner.as_mut().poll_next(cx)) else {
                return Poll::Ready(None);
            };
            if this.last.as_ref() != Some(&item) {
                *this.last = Some(item.clone());
                return Poll::Ready(Some(item));
            }
            // A repeat: skip it and poll again. Returning `Pending` here
            // would be a hang: nobody holds our waker for the next item.
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Every item may repeat the first (at least one, if any comes),
        // or every item may be a change (at most as many as the inner).
        let (lower, upper) = self.inner.size_hint();
        (lower.min(1), upper)
    }
}
// ANCHOR_END: changes_poll

// ANCHOR: stream_ext
/// The first `n` stations to report at least `threshold` tenths of a
/// degree, from a channel of `(station, tenths)` readings.
pub async fn first_warm(
    readings: async_channel::Receiver<(&'static str, i32)>,
    threshold: i32,
    n: usize,
) -> Vec<&'static str> {
    readings
        // `filter` and `then` take a closure that returns a future: a
        // step may wait. `future::ready` is a step that does not.
        .filter(move |&(_, tenths)| futures::future::ready(tenths >= threshold))
        .map(|(station, _)| station)
        // After `n` items, `take` ends the stream without waiting for the
        // channel to close.
        .take(n)
        .collect()
        .await
}
// ANCHOR_END: stream_ext

/// A registry that takes 10 ms to answer (tokio's timer).
pub async fn lookup(station: &str) -> &'static str {
    sleep(Duration::from_millis(10)).await;
    if station.starts_with('O') {
        "north"
    } else {
        "south"
    }
}

// ANCHOR: then
/// Each station with its region, looked up with [`lookup`]. `then` awaits
/// each lookup before it pulls the next station: one at a time.
pub async fn regions_of(
    stations: impl futures::Stream<Item = &'static str>,
) -> Vec<(&'static str, &'static str)> {
    stations
        .then(|station| async move { (station, lookup(station).await) })
        .collect()
        .await
}
// ANCHOR_END: then

// ANCHOR: receiver_stream
/// tokio's bounded receiver as a `Stream`. `Receiver::poll_recv` has
/// `poll_next`'s contract already, so `poll_fn` is all it takes (the
/// `tokio-stream` crate's `ReceiverStream` is the same, as a named type).
pub fn receiver_stream<T>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> {
    stream::poll_fn(move |cx| receiver.poll_recv(cx))
}
// ANCHOR_END: receiver_stream

// ANCHOR: completion_order
/// Waits `ms` milliseconds (tokio's timer), then answers `ms`.
pub async fn fetch(ms: u64) -> u64 {
    sleep(Duration::from_millis(ms)).await;
    ms
}

/// Every fetch in flight at once, in one `FuturesUnordered`, polled by
/// the calling task; the answers in the order they come.
pub async fn in_completion_order(latencies: &[u64]) -> Vec<u64> {
    let mut in_flight: FuturesUnordered<_> =
        latencies.iter().map(|&ms| fetch(ms)).collect();
    let mut answers = Vec::new();
    while let Some(ms) = in_flight.next().await {
        answers.push(ms);
    }
    answers
}
// ANCHOR_END: completion_order

/// How far the jobs of [`in_one_task`] and [`spawned`] have got.
#[derive(Debug, Default)]
pub struct Progress {
    /// Jobs whose first poll has run.
    started: AtomicUsize,
    /// Jobs that have finished.
    finished: AtomicUsize,
}

impl Progress {
    /// Jobs started so far.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Jobs finished so far.
    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }
}

/// A job: counts itself started, waits `ms`, counts itself finished.
pub async fn job(ms: u64, progress: Arc<Progress>) -> u64 {
    progress.started.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_millis(ms)).await;
    progress.finished.fetch_add(1, Ordering::SeqCst);
    ms
}

// ANCHOR: one_task_or_many
/// At most `limit` jobs at a time, all inside the task that polls the
/// returned stream: they run only while it is polled, on its thread.
pub fn in_one_task(
    latencies: Vec<u64>,
    limit: usize,
    progress: Arc<Progress>,
) -> impl futures::Stream<Item = u64> {
    stream::iter(latencies)
        .map(move |ms| job(ms, progress.clone()))
        .buffer_unordered(limit)
}

/// Every job spawned at once, each a task of its own: they run on the
/// runtime's threads, polled or not. The stream only collects results.
pub fn spawned(
    latencies: Vec<u64>,
    progress: Arc<Progress>,
) -> impl futures::Stream<Item = u64> {
    let handles: FuturesUnordered<_> = latencies
        .into_iter()
        .map(|ms| tokio::spawn(job(ms, progress.clone())))
        .collect();
    // A `JoinHandle` answers `Err` if its task panicked or was aborted.
    handles.map(|joined| joined.expect("a job panicked"))
}
// ANCHOR_END: one_task_or_many

#[cfg(test)]
mod tests {
    use super::*;

    use std::pin::pin;
    use std::sync::{Barrier, mpsc};
    use std::task::{Wake, Waker};
    use std::thread::{self, ThreadId};

    use futures::channel::mpsc::unbounded;
    use futures::future::{BoxFuture, FutureExt};
    use futures::stream::FusedStream;
    use tokio::time::Instant;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        (counter.clone(), Waker::from(counter))
    }

    fn wakes(counter: &CountingWaker) -> usize {
        counter.0.load(Ordering::SeqCst)
    }

    /// Polls `stream` once with `waker`.
    fn poll_once<S: futures::Stream + Unpin>(
        stream: &mut S,
        waker: &Waker,
    ) -> Poll<Option<S::Item>> {
        stream.poll_next_unpin(&mut Context::from_waker(waker))
    }

    #[test]
    fn every_futures_stream_fits_the_declared_trait() {
        fn hint<S: Stream>(stream: &S) -> (usize, Option<usize>) {
            Stream::size_hint(stream)
        }
        let mut numbers = stream::iter([1, 2]);
        assert_eq!(hint(&numbers), (2, Some(2)));
        let mut cx = Context::from_waker(Waker::noop());
        let next = Stream::poll_next(Pin::new(&mut numbers), &mut cx);
        assert_eq!(next, Poll::Ready(Some(1)));
    }

    #[test]
    fn changes_skips_repeats_within_one_poll() {
        let mut readings = changes(stream::iter([3, 3, 3, 5, 5, 3]));
        let waker = Waker::noop();
        // Three 3s, one poll: the repeats are skipped inside `poll_next`.
        assert_eq!(poll_once(&mut readings, waker), Poll::Ready(Some(3)));
        assert_eq!(poll_once(&mut readings, waker), Poll::Ready(Some(5)));
        assert_eq!(poll_once(&mut readings, waker), Poll::Ready(Some(3)));
        assert_eq!(poll_once(&mut readings, waker), Poll::Ready(None));
    }

    #[test]
    fn changes_is_woken_by_its_inner_streams_waker() {
        let (sender, receiver) = unbounded::<i32>();
        let mut readings = changes(receiver);
        let (counter, waker) = counting_waker();

        // Nothing sent: `Pending`, and nobody has woken us.
        assert_eq!(poll_once(&mut readings, &waker), Poll::Pending);
        assert_eq!(wakes(&counter), 0);
        // A reading arrives: the channel wakes the waker `Changes` passed.
        sender.unbounded_send(7).unwrap();
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll_once(&mut readings, &waker), Poll::Ready(Some(7)));

        // A repeat is taken and skipped, then `Pending`, with our waker
        // left with the channel again: the next change wakes us.
        sender.unbounded_send(7).unwrap();
        assert_eq!(poll_once(&mut readings, &waker), Poll::Pending);
        let before = wakes(&counter);
        sender.unbounded_send(8).unwrap();
        assert_eq!(wakes(&counter), before + 1);
        assert_eq!(poll_once(&mut readings, &waker), Poll::Ready(Some(8)));

        drop(sender);
        assert_eq!(poll_once(&mut readings, &waker), Poll::Ready(None));
    }

    #[test]
    fn the_size_hint_of_changes() {
        let repeats = changes(stream::iter([1, 1, 2]));
        assert_eq!(futures::Stream::size_hint(&repeats), (1, Some(3)));
        let none: [i32; 0] = [];
        let empty = changes(stream::iter(none));
        assert_eq!(futures::Stream::size_hint(&empty), (0, Some(0)));
    }

    /// A stream of one item that panics if polled after its `None`, as a
    /// stream may: the trait promises nothing after the end.
    struct Once {
        item: Option<i32>,
        ended: bool,
    }

    impl futures::Stream for Once {
        type Item = i32;

        fn poll_next(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<i32>> {
            assert!(!self.ended, "polled after its `None`");
            let item = self.item.take();
            self.ended = item.is_none();
            Poll::Ready(item)
        }
    }

    fn once(item: i32) -> Once {
        Once {
            item: Some(item),
            ended: false,
        }
    }

    #[test]
    #[should_panic(expected = "polled after its `None`")]
    fn changes_is_not_fused_it_polls_its_inner_stream_after_the_end() {
        let mut readings = changes(once(1));
        let waker = Waker::noop();
        assert_eq!(poll_once(&mut readings, waker), Poll::Ready(Some(1)));
        assert_eq!(poll_once(&mut readings, waker), Poll::Ready(None));
        let _ = poll_once(&mut readings, waker);
    }

    #[test]
    fn stream_iter_answers_none_again() {
        let mut numbers = stream::iter([1]);
        let waker = Waker::noop();
        assert_eq!(poll_once(&mut numbers, waker), Poll::Ready(Some(1)));
        assert_eq!(poll_once(&mut numbers, waker), Poll::Ready(None));
        assert_eq!(poll_once(&mut numbers, waker), Poll::Ready(None));
    }

    #[test]
    fn fuse_answers_none_for_ever_after_the_end() {
        let mut readings = changes(once(1)).fuse();
        let waker = Waker::noop();
        assert_eq!(poll_once(&mut readings, waker), Poll::Ready(Some(1)));
        assert!(!readings.is_terminated());
        for _ in 0..3 {
            assert_eq!(poll_once(&mut readings, waker), Poll::Ready(None));
        }
        assert!(readings.is_terminated());
    }

    #[tokio::test]
    async fn first_warm_stops_after_n_without_waiting_for_the_close() {
        let (sender, readings) = async_channel::unbounded();
        for reading in [("Oslo", 35), ("Rome", 214), ("Lima", 190)] {
            sender.send(reading).await.unwrap();
        }
        sender.send(("Cairo", 301)).await.unwrap();
        // `sender` is still open: a `collect` without `take` would wait.
        assert_eq!(first_warm(readings, 200, 2).await, ["Rome", "Cairo"]);
    }

    #[tokio::test(start_paused = true)]
    async fn then_looks_up_one_station_at_a_time() {
        let start = Instant::now();
        let stations = stream::iter(["Oslo", "Rome", "Orebro"]);
        let regions = regions_of(stations).await;
        assert_eq!(
            regions,
            [("Oslo", "north"), ("Rome", "south"), ("Orebro", "north")]
        );
        // Three 10 ms lookups, one after another.
        assert_eq!(start.elapsed(), Duration::from_millis(30));
    }

    #[tokio::test]
    async fn a_tokio_receiver_as_a_stream() {
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        let producer = tokio::spawn(async move {
            for n in 1..=5 {
                sender.send(n).await.unwrap();
            }
        });
        let mut numbers = pin!(receiver_stream(receiver));
        let mut sum = 0;
        while let Some(n) = numbers.next().await {
            sum += n;
        }
        producer.await.unwrap();
        assert_eq!(sum, 15);
    }

    #[tokio::test(start_paused = true)]
    async fn futures_unordered_yields_in_completion_order() {
        let start = Instant::now();
        assert_eq!(in_completion_order(&[30, 10, 20]).await, [10, 20, 30]);
        // All three in flight at once: done when the slowest is.
        assert_eq!(start.elapsed(), Duration::from_millis(30));
    }

    /// A future that counts its polls and is ready once `ready` is set.
    fn counted(
        polls: Arc<AtomicUsize>,
        ready: tokio::sync::oneshot::Receiver<()>,
    ) -> BoxFuture<'static, ()> {
        let mut ready = ready;
        futures::future::poll_fn(move |cx| {
            polls.fetch_add(1, Ordering::SeqCst);
            ready.poll_unpin(cx).map(|_| ())
        })
        .boxed()
    }

    #[test]
    fn futures_unordered_polls_only_the_futures_that_were_woken() {
        let polls: Vec<Arc<AtomicUsize>> =
            (0..3).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..3).map(|_| tokio::sync::oneshot::channel()).unzip();
        let mut set: FuturesUnordered<_> = polls
            .iter()
            .zip(receivers)
            .map(|(count, ready)| counted(count.clone(), ready))
            .collect();
        let count = |i: usize| polls[i].load(Ordering::SeqCst);

        // The first poll polls every future once.
        assert_eq!(poll_once(&mut set, Waker::noop()), Poll::Pending);
        assert_eq!((count(0), count(1), count(2)), (1, 1, 1));
        // Future 1's event comes: only future 1 is polled again.
        let mut senders = senders.into_iter();
        let (first, second, third) = (
            senders.next().unwrap(),
            senders.next().unwrap(),
            senders.next().unwrap(),
        );
        second.send(()).unwrap();
        assert_eq!(poll_once(&mut set, Waker::noop()), Poll::Ready(Some(())));
        assert_eq!((count(0), count(1), count(2)), (1, 2, 1));
        // A poll with nothing woken polls nothing.
        assert_eq!(poll_once(&mut set, Waker::noop()), Poll::Pending);
        assert_eq!((count(0), count(1), count(2)), (1, 2, 1));
        drop((first, third));
    }

    #[tokio::test(start_paused = true)]
    async fn buffered_keeps_the_input_order_buffer_unordered_does_not() {
        let fetches = || stream::iter([30, 10, 20]).map(fetch);
        let ordered: Vec<u64> = fetches().buffered(3).collect().await;
        assert_eq!(ordered, [30, 10, 20]);
        let unordered: Vec<u64> = fetches().buffer_unordered(3).collect().await;
        assert_eq!(unordered, [10, 20, 30]);
    }

    #[tokio::test(start_paused = true)]
    async fn in_one_task_nothing_moves_while_the_stream_is_not_polled() {
        let progress = Arc::new(Progress::default());
        let mut jobs = pin!(in_one_task(vec![10, 20, 30], 3, progress.clone()));
        assert_eq!(jobs.next().await, Some(10));
        assert_eq!(progress.started(), 3);
        // The consumer does something else for a second: the other two
        // jobs' timers fire, but nobody polls them.
        sleep(Duration::from_secs(1)).await;
        assert_eq!(progress.finished(), 1);
        // Polled again, they finish at once: their timers are long due.
        assert_eq!(jobs.collect::<Vec<_>>().await, [20, 30]);
    }

    #[tokio::test(start_paused = true)]
    async fn spawned_jobs_run_on_while_the_stream_is_not_polled() {
        let progress = Arc::new(Progress::default());
        let mut jobs = pin!(spawned(vec![10, 20, 30], progress.clone()));
        assert_eq!(jobs.next().await, Some(10));
        sleep(Duration::from_secs(1)).await;
        assert_eq!(progress.finished(), 3);
        assert_eq!(jobs.collect::<Vec<_>>().await, [20, 30]);
    }

    fn two_worker_runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn buffer_unordered_polls_every_future_on_the_consumers_thread() {
        let runtime = two_worker_runtime();
        let consumer = thread::current().id();
        // `block_on` polls its future on this thread; so the stream, and
        // every future inside `buffer_unordered`, run here, never on the
        // runtime's two workers.
        let threads: Vec<ThreadId> = runtime.block_on(
            stream::iter(0..4)
                .map(|_| async {
                    tokio::task::yield_now().await;
                    thread::current().id()
                })
                .buffer_unordered(4)
                .collect(),
        );
        assert_eq!(threads, [consumer; 4]);
    }

    #[test]
    fn spawned_tasks_run_in_parallel_on_the_workers() {
        // Two tasks that each block their thread until the other one has
        // arrived too: only two threads at once can finish them. Inside
        // one `buffer_unordered` the first would block the only thread
        // for ever, so the test runs under a watchdog.
        let (done, finished) = mpsc::channel();
        thread::spawn(move || {
            let runtime = two_worker_runtime();
            let barrier = Arc::new(Barrier::new(2));
            let threads = runtime.block_on(async {
                let tasks: Vec<_> = (0..2)
                    .map(|_| {
                        let barrier = barrier.clone();
                        tokio::spawn(async move {
                            barrier.wait();
                            thread::current().id()
                        })
                    })
                    .collect();
                let mut threads = Vec::new();
                for task in tasks {
                    threads.push(task.await.unwrap());
                }
                threads
            });
            let _ = done.send((thread::current().id(), threads));
        });
        let (consumer, threads) = finished
            .recv_timeout(Duration::from_secs(10))
            .expect("the two tasks never met: they did not run in parallel");
        assert_ne!(threads[0], threads[1]);
        assert!(!threads.contains(&consumer));
    }
}
