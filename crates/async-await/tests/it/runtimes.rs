//! The three adapters side by side: the same calls, and the one place they
//! differ on purpose.

use rosetta_async_await::runtime::{AsyncStd, Runtime, Smol, Tokio};

/// Spawns a task that panics, and returns the panic's message as the handle
/// reports it.
fn panic_message<R: Runtime>() -> String {
    R::block_on(|runtime| async move {
        let task = runtime.spawn(async { panic!("deliberate") });
        let payload = task.await.expect_err("the task panicked");
        payload.downcast_ref::<&str>().unwrap().to_string()
    })
    .unwrap()
}

#[test]
fn a_panicking_task_is_reported_by_its_handle() {
    assert_eq!(panic_message::<Tokio>(), "deliberate");
    assert_eq!(panic_message::<AsyncStd>(), "deliberate");
    assert_eq!(panic_message::<Smol>(), "deliberate");
}

// ANCHOR: handle_drop
/// Spawns a task that waits for a gate, drops its handle, opens the gate, and
/// says whether the task then ran to its end.
fn runs_on_after_its_handle_is_dropped<R: Runtime>() -> bool {
    R::block_on(|runtime| async move {
        let (open, gate) = async_channel::bounded::<()>(1);
        let (done, finished) = async_channel::bounded::<()>(1);
        let task = runtime.spawn(async move {
            let _ = gate.recv().await;
            let _ = done.send(()).await;
        });
        // The task cannot have finished yet: the gate is shut.
        drop(task);
        open.send(()).await.unwrap();
        // `Ok`: the task ran on and sent. `Err`: the task was dropped, and
        // `done` with it, so the channel closed without a message.
        finished.recv().await.is_ok()
    })
    .unwrap()
}

#[test]
fn dropping_a_handle_detaches_on_tokio_and_async_std_and_cancels_on_smol() {
    assert!(runs_on_after_its_handle_is_dropped::<Tokio>());
    assert!(runs_on_after_its_handle_is_dropped::<AsyncStd>());
    assert!(!runs_on_after_its_handle_is_dropped::<Smol>());
}
// ANCHOR_END: handle_drop

#[test]
#[should_panic(
    expected = "must be called from the context of a Tokio 1.x runtime"
)]
fn tokio_spawn_outside_a_runtime_panics() {
    // The free function looks for a runtime in a thread-local; this test thread
    // has none. The `Tokio` adapter spawns through a `Handle` instead, which
    // works from any thread.
    drop(tokio::spawn(async {}));
}

/// Connects through `R`'s adapter on a thread that is none of the runtime's
/// (polled by `futures::executor::block_on`), then writes and reads through the
/// stream back inside the runtime. Returns what an echo server sent back.
fn connects_from_a_thread_outside_the_runtime<R: Runtime>() -> Vec<u8> {
    use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use std::io::{Read as _, Write as _};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let mut stream =
            rosetta_conformance::canned::accept_within_watchdog(&listener);
        let mut word = [0; 4];
        stream.read_exact(&mut word).unwrap();
        stream.write_all(&word).unwrap();
    });
    let echoed = R::block_on(|runtime| async move {
        let connect = runtime.connect(addr);
        let outside =
            std::thread::spawn(move || futures::executor::block_on(connect));
        let mut stream = outside.join().unwrap().unwrap();
        stream.write_all(b"ping").await.unwrap();
        let mut word = vec![0; 4];
        stream.read_exact(&mut word).await.unwrap();
        word
    })
    .unwrap();
    echo.join().unwrap();
    echoed
}

#[test]
fn the_adapters_connect_from_any_thread() {
    // A bare `tokio::net::TcpStream::connect` polled here would panic: no tokio
    // runtime is current on that thread. The adapter enters its runtime around
    // each poll.
    assert_eq!(
        connects_from_a_thread_outside_the_runtime::<Tokio>(),
        b"ping"
    );
    assert_eq!(
        connects_from_a_thread_outside_the_runtime::<AsyncStd>(),
        b"ping"
    );
    assert_eq!(
        connects_from_a_thread_outside_the_runtime::<Smol>(),
        b"ping"
    );
}
