//! The three adapters side by side: the same calls, and the one place they differ on purpose.

use rosetta_async_await::runtime::{AsyncStd, Runtime, Smol, Tokio};

/// Spawns a task that panics, and returns the panic's message as the handle reports it.
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
/// Spawns a task that waits for a gate, drops its handle, opens the gate, and says whether the
/// task then ran to its end.
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
        // `Ok`: the task ran on and sent. `Err`: the task was dropped, and `done` with it, so
        // the channel closed without a message.
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
#[should_panic(expected = "must be called from the context of a Tokio 1.x runtime")]
fn tokio_spawn_outside_a_runtime_panics() {
    // The free function looks for a runtime in a thread-local; this test thread has none. The
    // `Tokio` adapter spawns through a `Handle` instead, which works from any thread.
    drop(tokio::spawn(async {}));
}
