//! Drawing what a style did, for people: a trace as a terminal timeline, a Chrome trace file or
//! an SVG ([`timeline`]), the one SVG writer ([`svg`]) and the one table layout ([`table`]).
//!
//! Its inputs are a scenario and the events a style recorded (`rosetta_pipeline::trace`), never
//! a style itself: any program that has a trace can draw it. `rosetta trace`, `rosetta compare
//! --live` and the bench tables of `rosetta` use it; the book's figures are drawn with it.

pub mod svg;
pub mod table;
pub mod timeline;
