//! One module per command: each takes its parsed arguments (`crate::cli`) and a locked stdout,
//! and returns the exit code. The work itself is in the library (`rosetta::*`), so that the
//! tests call what the commands run; these bodies only choose, print and decide the exit code.

pub(crate) mod bench;
pub(crate) mod compare;
pub(crate) mod run;
pub(crate) mod scenario;
pub(crate) mod trace;
