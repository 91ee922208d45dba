//! Chapter 8.2: a closure that returns a future (`F: FnMut(&str) -> Fut`)
//! cannot lend that future what the closure owns, nor the argument it was
//! called with. The compiler's answer, `closure_future_borrows.stderr`, is
//! checked by `tests/compile_errors.rs` and shown in the book.

async fn each_name<F, Fut>(names: &[&str], mut visit: F)
where
    F: FnMut(&str) -> Fut,
    Fut: Future<Output = ()>,
{
    for name in names {
        visit(name).await;
    }
}

fn main() {
    let mut lengths = Vec::new();
    let all = each_name(&["oslo"], |name| async move {
        lengths.push(name.len());
    });
    futures::executor::block_on(all);
}
