//! Pitfall 5 (`Send` bounds): an `Rc` held across `.await` makes the future
//! `!Send`, and `tokio::spawn` refuses it. `rc_across_await.stderr` is the
//! compiler's answer, checked by `tests/compile_errors.rs` and shown in the
//! book. (`crates/book-examples` has the same case as a `compile_fail` doctest,
//! and the fix with an `Arc`.)

use std::rc::Rc;

async fn count_later(counter: Rc<u32>) -> u32 {
    tokio::task::yield_now().await; // `counter` lives across this `.await`...
    *counter + 1
}

fn main() {
    let one_thread = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    one_thread.block_on(async {
        // ...so this future is not `Send`.
        let task = tokio::spawn(count_later(Rc::new(1)));
        task.await.unwrap();
    });
}
