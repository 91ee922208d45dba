//! One module per command: each takes its parsed arguments (`crate::cli`) and a locked stdout,
//! and returns the exit code. The work itself is in the library (`rosetta::*`), so that the
//! tests call what the commands run; these bodies only choose, print and decide the exit code.

pub(crate) mod bench;
pub(crate) mod compare;
pub(crate) mod feeds;
pub(crate) mod run;
pub(crate) mod scenario;
pub(crate) mod trace;

/// Whether what goes to stdout may be coloured, decided as the ecosystem decides it (by
/// `anstream`, which clap's own help uses): not when stdout is not a terminal, nor when
/// `NO_COLOR` is set or `CLICOLOR=0` or `TERM=dumb` say the terminal takes none; always when
/// `CLICOLOR_FORCE` is set.
pub(crate) fn stdout_takes_colour() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}
