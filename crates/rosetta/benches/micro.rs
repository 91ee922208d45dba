//! Micro-benchmarks of the machinery under the styles: what one task, one wake-up, one timer and
//! one channel message cost on each runtime, our hand-written executor included.
//!
//! Run with `cargo bench -p rosetta --bench micro`. Each benchmark does a batch of `BATCH`
//! operations per sample and divan reports the time per operation (the `items` throughput).
//! Before the benchmarks, the sizes of the hand-written futures and of the async/await
//! pipeline's main future are printed, to set beside the figures in the book's chapter on
//! futures.
//!
//! These are figures, not tests: nothing here asserts a time.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use divan::Bencher;
use divan::counter::ItemsCount;
use rosetta_state_machines::executor::Executor;
use rosetta_state_machines::reactor;

/// Operations per sample.
const BATCH: usize = 100;

fn main() {
    println!("size_of the hand-written futures (crates/state-machines):");
    for (name, size) in rosetta_state_machines::future_sizes() {
        println!("  {name:<28} {size:>5} bytes");
    }
    println!("\nsize_of the async/await pipeline's main future (crates/async-await):");
    use rosetta_async_await::main_future_size;
    use rosetta_async_await::runtime::{AsyncStd, Smol, Tokio};
    for (runtime, size) in [
        ("tokio", main_future_size::<Tokio>()),
        ("async-std", main_future_size::<AsyncStd>()),
        ("smol", main_future_size::<Smol>()),
    ] {
        let size = size.expect("the runtime starts");
        println!("  run_async on {runtime:<19} {size:>5} bytes");
    }
    println!();
    divan::main();
}

/// A future that is pending once, waking itself, then ready: one wake-and-poll round trip.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn tokio_multi() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("tokio starts")
}

fn tokio_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio starts")
}

/// Spawning `BATCH` empty tasks and joining them.
mod spawn_and_join {
    use super::*;

    #[divan::bench]
    fn tokio_multi_thread(bencher: Bencher) {
        let runtime = tokio_multi();
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            runtime.block_on(async {
                let tasks: Vec<_> = (0..BATCH).map(|_| tokio::spawn(async {})).collect();
                for task in tasks {
                    task.await.expect("an empty task cannot panic");
                }
            })
        });
    }

    #[divan::bench]
    fn tokio_current_thread(bencher: Bencher) {
        let runtime = tokio_current();
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            runtime.block_on(async {
                let tasks: Vec<_> = (0..BATCH).map(|_| tokio::spawn(async {})).collect();
                for task in tasks {
                    task.await.expect("an empty task cannot panic");
                }
            })
        });
    }

    #[divan::bench]
    fn async_std(bencher: Bencher) {
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            async_std::task::block_on(async {
                let tasks: Vec<_> = (0..BATCH)
                    .map(|_| async_std::task::spawn(async {}))
                    .collect();
                for task in tasks {
                    task.await;
                }
            })
        });
    }

    #[divan::bench]
    fn smol(bencher: Bencher) {
        let executor = smol::LocalExecutor::new();
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            smol::block_on(executor.run(async {
                let tasks: Vec<_> = (0..BATCH).map(|_| executor.spawn(async {})).collect();
                for task in tasks {
                    task.await;
                }
            }))
        });
    }

    #[divan::bench]
    fn state_machines_executor(bencher: Bencher) {
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            let executor = Executor::new();
            let tasks: Vec<_> = (0..BATCH).map(|_| executor.spawn(async {})).collect();
            executor.block_on(futures::future::join_all(tasks));
        });
    }
}

/// `BATCH` wake-and-poll round trips: a task wakes itself and is polled again.
mod wake_and_poll {
    use super::*;

    async fn yield_many() {
        for _ in 0..BATCH {
            YieldOnce(false).await;
        }
    }

    #[divan::bench]
    fn tokio_current_thread(bencher: Bencher) {
        let runtime = tokio_current();
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| runtime.block_on(yield_many()));
    }

    #[divan::bench]
    fn async_std(bencher: Bencher) {
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| async_std::task::block_on(yield_many()));
    }

    #[divan::bench]
    fn smol(bencher: Bencher) {
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| smol::block_on(yield_many()));
    }

    #[divan::bench]
    fn futures_block_on(bencher: Bencher) {
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| futures::executor::block_on(yield_many()));
    }

    #[divan::bench]
    fn state_machines_executor(bencher: Bencher) {
        let executor = Executor::new();
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| executor.block_on(yield_many()));
    }
}

/// `BATCH` timers of zero duration: registering a timer and having it fire, without waiting.
mod timer_fires {
    use super::*;

    #[divan::bench]
    fn tokio_current_thread(bencher: Bencher) {
        let runtime = tokio_current();
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            runtime.block_on(async {
                for _ in 0..BATCH {
                    tokio::time::sleep(Duration::ZERO).await;
                }
            })
        });
    }

    #[divan::bench]
    fn async_io_smol(bencher: Bencher) {
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            smol::block_on(async {
                for _ in 0..BATCH {
                    smol::Timer::after(Duration::ZERO).await;
                }
            })
        });
    }

    #[divan::bench]
    fn state_machines_reactor(bencher: Bencher) {
        let executor = Executor::new();
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            executor.block_on(async {
                for _ in 0..BATCH {
                    reactor::sleep(executor.reactor(), Duration::ZERO).await;
                }
            })
        });
    }
}

/// `BATCH` messages sent into a bounded queue of 16 and received, in one task.
mod channel_send_receive {
    use super::*;

    async fn ping_async_channel() {
        let (sender, receiver) = async_channel::bounded(16);
        for i in 0..BATCH {
            sender.send(i).await.expect("the receiver is alive");
            receiver.recv().await.expect("a message was sent");
        }
    }

    #[divan::bench]
    fn async_channel(bencher: Bencher) {
        bencher
            .counter(ItemsCount::new(BATCH))
            .bench_local(|| futures::executor::block_on(ping_async_channel()));
    }

    #[divan::bench]
    fn futures_mpsc(bencher: Bencher) {
        use futures::{SinkExt, StreamExt};
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            futures::executor::block_on(async {
                let (mut sender, mut receiver) = futures::channel::mpsc::channel(16);
                for i in 0..BATCH {
                    sender.send(i).await.expect("the receiver is alive");
                    receiver.next().await.expect("a message was sent");
                }
            })
        });
    }

    #[divan::bench]
    fn tokio_mpsc(bencher: Bencher) {
        let runtime = tokio_current();
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            runtime.block_on(async {
                let (sender, mut receiver) = tokio::sync::mpsc::channel(16);
                for i in 0..BATCH {
                    sender.send(i).await.expect("the receiver is alive");
                    receiver.recv().await.expect("a message was sent");
                }
            })
        });
    }

    #[divan::bench]
    fn std_sync_channel(bencher: Bencher) {
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            let (sender, receiver) = std::sync::mpsc::sync_channel(16);
            for i in 0..BATCH {
                sender.send(i).expect("the receiver is alive");
                receiver.recv().expect("a message was sent");
            }
        });
    }

    #[divan::bench]
    fn state_machines_channel(bencher: Bencher) {
        let executor = Executor::new();
        bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
            executor.block_on(async {
                let (sender, mut receiver) = rosetta_state_machines::channel::channel(16);
                for i in 0..BATCH {
                    assert!(sender.send(i).await.is_ok(), "the receiver is alive");
                    receiver.recv().await.expect("a message was sent");
                }
            })
        });
    }
}
