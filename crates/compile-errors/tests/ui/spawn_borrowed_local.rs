//! Chapter 7.1 (`book/src/spawning.md`): a task that borrows a local.
//! `tokio::spawn` wants a `'static` future, and this one borrows `name`,
//! which `main` owns. The compiler's answer, `spawn_borrowed_local.stderr`,
//! is checked by `tests/compile_errors.rs` and shown in the book.

async fn size(name: &str) -> usize {
    name.len()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _inside = runtime.enter(); // `spawn` needs a runtime around it.
    let name = String::from("oslo");
    let task = tokio::spawn(size(&name));
    println!("{}", runtime.block_on(task).unwrap());
}
