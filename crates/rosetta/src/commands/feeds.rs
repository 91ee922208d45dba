//! `rosetta feeds serve`: the feed server alone, for curl, a browser, another terminal's
//! `--feeds URL`, or the JavaScript and Python versions of the pipeline.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use rosetta::select;

use crate::cli::FeedsCommand;

pub(crate) fn run_feeds(command: &FeedsCommand, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let FeedsCommand::Serve {
        scenario: name,
        addr,
        time_scale,
    } = command;
    let scenario = select::scenario(name.as_deref(), None, 1)?;
    scenario.check_time_scale(*time_scale, &select::origin(name.as_deref(), None, 1))?;
    let about = format!(
        "{} ({} sources, time scale {time_scale})",
        scenario.name,
        scenario.sources.len()
    );
    let config = rosetta_feeds::Config::default()
        .at(*addr)
        .serving(Arc::new(scenario), *time_scale);
    let stats = rosetta_feeds::serve(config, rosetta_feeds::ctrl_c(), |server| {
        let url = server.url();
        writeln!(
            out,
            "Feed server for scenario {about} at {url} (Ctrl-C stops it).\n\
             \x20 curl {url}/                         every feed, its fault and its URL\n\
             \x20 curl -i {url}/runs/demo/feeds/NAME   one feed (run `demo`; any id is a run)\n\
             \x20 rosetta compare --feeds {url}        every style against this server"
        )?;
        out.flush()
    })
    .map_err(|error| anyhow::anyhow!("cannot serve feeds on {addr}: {error}"))?;
    writeln!(
        out,
        "Stopped after {} connections and {} requests.",
        stats.connections_accepted, stats.requests
    )?;
    Ok(ExitCode::SUCCESS)
}
