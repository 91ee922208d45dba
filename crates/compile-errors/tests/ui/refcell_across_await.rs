//! Chapter 7.1 (`book/src/spawning.md`): a `RefCell` borrow held across
//! `.await` inside a spawned task. The `Ref` is not `Send`, so the
//! task's future is not either (`lock_across_await.rs` has the same
//! with a `MutexGuard`). `refcell_across_await.stderr` is checked by
//! `tests/compile_errors.rs` and shown in the book.

use std::cell::RefCell;
use tokio::task::yield_now;

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _inside = runtime.enter(); // `spawn` needs a runtime around it.
    let task = tokio::spawn(async {
        let seen = RefCell::new(String::from("oslo"));
        let name = seen.borrow();
        yield_now().await; // `name` is still alive here.
        name.len()
    });
    println!("{}", runtime.block_on(task).unwrap());
}
