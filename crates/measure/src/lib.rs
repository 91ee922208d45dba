//! How `rosetta bench` measures, apart from what it measures: a run in a process of its own and
//! its peak memory ([`measure`]), what a bare sleeping task costs on each runtime
//! ([`sleepers`]), and the raw baseline of the tcp bench, the same fetches written with hyper's
//! client as a user would write them without this toolkit ([`raw`]).
//!
//! Nothing here knows the styles: the bench (`rosetta::bench`) decides what to run, this crate
//! how to measure it honestly.

pub mod measure;
pub mod raw;
pub mod sleepers;
