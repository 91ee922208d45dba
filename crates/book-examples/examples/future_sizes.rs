//! Prints the size of every hand-written future of `rosetta-state-machines`,
//! then the hand-written fetch next to the same fetch written as an `async fn`
//! (chapters 6 and 7).
//!
//! ```text
//! cargo run -p rosetta-book-examples --example future_sizes
//! ```

fn main() {
    println!("Hand-written futures (rosetta_state_machines::future_sizes):");
    for (name, size) in rosetta_state_machines::future_sizes() {
        println!("  {name:<42} {size:>4} bytes");
    }
    println!(
        "\nThe same fetch, by hand and by the compiler (rosetta_book_examples::generated):"
    );
    for (name, size) in rosetta_book_examples::generated::future_sizes() {
        println!("  {name:<42} {size:>4} bytes");
    }
}
