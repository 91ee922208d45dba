//! Chapter 8.2: a trait whose `async fn` says nothing about `Send`, and a
//! generic function that spawns its future on tokio. The compiler's answer,
//! `trait_future_not_send.stderr`, is checked by `tests/compile_errors.rs`
//! and shown in the book.

use std::sync::Arc;

trait Source {
    async fn fetch(&self, name: &str) -> String;
}

async fn fetch_in_a_task<S>(source: Arc<S>) -> String
where
    S: Source + Send + Sync + 'static,
{
    // `source` can cross threads; the future `fetch` returns may not.
    let task = tokio::spawn(async move { source.fetch("oslo").await });
    task.await.unwrap()
}

fn main() {}
