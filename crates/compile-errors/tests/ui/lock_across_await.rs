//! Pitfall 2 (`src/pitfalls.rs`): a `std::sync::MutexGuard` held across
//! `.await` makes the future `!Send`, and `tokio::spawn` refuses it, even on a
//! current-thread runtime: `spawn` demands `Send` whatever the flavour.
//! `lock_across_await.stderr` is the compiler's answer, checked by
//! `tests/compile_errors.rs` and shown in the book.

use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn add_then_wait(counter: Arc<Mutex<u64>>, pause: Duration) -> u64 {
    let mut count = counter.lock().unwrap();
    *count += 1;
    tokio::time::sleep(pause).await; // `count`, the guard, is still alive here.
    *count
}

fn main() {
    let one_thread = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let counter = Arc::new(Mutex::new(0));
    one_thread.block_on(async {
        let wait = Duration::from_millis(1);
        let task = tokio::spawn(add_then_wait(counter, wait));
        task.await.unwrap();
    });
}
