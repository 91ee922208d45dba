//! Chapter 7.1 (`book/src/spawning.md`): a task that borrows a
//! parameter. The same mistake as `spawn_borrowed_local.rs`, with
//! another message: the borrow comes from the caller, so it "escapes"
//! the function. `spawn_borrowed_parameter.stderr` is checked by
//! `tests/compile_errors.rs` and shown in the book.

async fn size(name: &str) -> usize {
    name.len()
}

async fn sum(names: &[String]) -> usize {
    let mut tasks = Vec::new();
    for name in names {
        tasks.push(tokio::spawn(size(name)));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let names = vec![String::from("oslo"), String::from("bergen")];
    println!("{}", runtime.block_on(sum(&names)));
}
