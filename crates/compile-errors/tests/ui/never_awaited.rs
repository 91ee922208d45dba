//! Pitfall 3 (`src/pitfalls.rs`): an `async fn` called without `.await` does
//! nothing, and because futures are `#[must_use]` the compiler says so. It is a
//! warning by default (`unused_must_use`); this workspace denies it, as the
//! `#![deny]` line does here. `never_awaited.stderr` is the compiler's answer,
//! checked by `tests/compile_errors.rs` and shown in the book.

#![deny(unused_must_use)]
use std::sync::atomic::{AtomicU32, Ordering};

async fn process_data(processed: &AtomicU32) {
    processed.fetch_add(1, Ordering::Relaxed);
}

fn main() {
    let processed = AtomicU32::new(0);
    process_data(&processed); // The bug: no `.await`, so nothing is processed.
    println!("processed: {}", processed.load(Ordering::Relaxed));
}
