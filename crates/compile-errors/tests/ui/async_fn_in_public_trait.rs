//! Chapter 8.2: the warning a public trait with a bare `async fn` gets,
//! denied here so that trybuild can pin its text
//! (`async_fn_in_public_trait.stderr`, shown in the book).

#![deny(async_fn_in_trait)]

/// A source of feed bodies.
pub trait Source {
    /// The body of the feed `name`.
    async fn fetch(&self, name: &str) -> String;
}

fn main() {}
