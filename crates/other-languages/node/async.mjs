// The pipeline with async/await: the style `node-async`.
//
// The same Promises as `promises.mjs`, written the way the sequential reference
// is: loops, `try`/`catch`/`finally`, a value returned at the end. `await`
// suspends the function until a Promise settles and lets the event loop run
// everything else meanwhile; what was a chain of `then` becomes the next line.
// Read it beside Rust's `crates/async-await`: the shape is the same, from the
// retry loop to the worker's `while`.
//
// Two differences from Rust's async/await are worth knowing. A JavaScript
// Promise is *eager*: calling an async function starts it at once, whether or
// not anyone awaits it (a Rust future does nothing until it is polled). And a
// Promise cannot be cancelled: only what it waits on can be, here through an
// AbortSignal.
//
// The requests use `fetch` with `AbortSignal.timeout(ms)`. fetch hides its
// socket, so this style writes no `socket` trace lines (the contract allows
// that).
//
// Run: node async.mjs http://127.0.0.1:7878 [--run ID] [--trace]
// The contract is `crates/other-languages/README.md`; what is computed is
// `spec.mjs`.

import process from "node:process";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";

import { Channel } from "./channel.mjs";
import * as spec from "./spec.mjs";

const STYLE = "node-async";

// -------------------------------------------------------------------------------------
// Step 1: fetch.

// ANCHOR: fetch
// ANCHOR: fetch_attempt
/**
 * One attempt: the body of source `index`, or an AttemptFailed. The deadline is
 * one signal for the whole attempt: fetch and the body read both listen to it,
 * so a server that trickles bytes cannot extend it, and when it fires the
 * connection is closed.
 */
async function attempt(run, index, number) {
  run.trace.attemptStarted(index, number);
  const signal = AbortSignal.timeout(run.plan.timeoutMs);
  const url = run.feeds.origin + spec.feedPath(run.id, run.plan.sources[index]);
  let outcome = "error";
  try {
    const response = await fetch(url, { signal });
    if (!response.ok) {
      await response.body?.cancel(); // closes the connection now
      throw new spec.AttemptFailed("error", `HTTP status ${response.status}`);
    }
    // The body read is under the same signal. Bytes, then text: not UTF-8 is an
    // error.
    const body = spec.decodeBody(await response.arrayBuffer());
    outcome = "answered";
    return body;
  } catch (error) {
    // The deadline rejects with a DOMException named "TimeoutError"; anything
    // else (fetch's TypeError "fetch failed" for a refused or reset connection,
    // a status, a short or undecodable body) is an error.
    if (error?.name === "TimeoutError") outcome = "timeout";
    throw new spec.AttemptFailed(outcome, spec.describeError(error));
  } finally {
    // on every path, exactly once
    run.trace.attemptFinished(index, number, outcome);
  }
}

// ANCHOR_END: fetch_attempt
// ANCHOR: fetch_retry
/** Fetch with retry: at once, in the same slot, up to `retries` more times. */
async function fetchWithRetry(run, index) {
  for (let number = 1; ; number += 1) {
    try {
      const body = await attempt(run, index, number);
      return { attempts: number, failure: null, body };
    } catch (error) {
      if (number > run.plan.settings.retries) {
        return { attempts: number, failure: error.outcome, body: null };
      }
    }
  }
}
// ANCHOR_END: fetch_retry
// ANCHOR_END: fetch

// ANCHOR: slots
/**
 * Fetches every source, `concurrency` at a time: that many lanes, each a loop
 * that takes the next source in file order. A source's hand-off is started, not
 * awaited: the lane goes on to the next source at once, since a lookup must not
 * hold a slot. Returns when every fetch and every hand-off is done.
 */
async function fetchAll(run) {
  const { sources } = run.plan;
  const handOffs = [];
  let next = 0;
  const lane = async () => {
    while (next < sources.length) {
      const index = next;
      // no other lane runs between these lines: one thread, no await between
      next += 1;
      const { attempts, failure, body } = await fetchWithRetry(run, index);
      run.fetches[index] = new spec.FetchSummary(attempts, failure);
      if (body !== null) handOffs.push(handOff(run, index, body));
    }
  };
  const lanes = [];
  const count = Math.min(run.plan.settings.concurrency, sources.length);
  for (let n = 0; n < count; n += 1) {
    // see spec.mjs
    if (n > 0 && n % spec.STARTS_PER_TURN === 0) await nextTurn();
    lanes.push(lane());
  }
  await Promise.all(lanes);
  await Promise.all(handOffs);
}
// ANCHOR_END: slots

// -------------------------------------------------------------------------------------
// Step 3: the single-flight cache.

// ANCHOR: cache
/**
 * Station to region, each station looked up once: a Map from station to the
 * Promise of its region. `regionOf` is not async on purpose: it must store the
 * Promise before anything else can run. (With an `await` before the `set`, two
 * askers could both find the station missing and both look it up: the
 * check-then-insert race, back again.)
 */
class SingleFlightCache {
  constructor(run) {
    this.run = run;
    this.regions = new Map();
  }

  /** Lookups started: one per station ever asked for. */
  get lookups() {
    return this.regions.size;
  }

  /** A Promise of the region of `station` (null: unknown to the registry). */
  regionOf(station) {
    if (!this.regions.has(station)) {
      this.regions.set(station, this.lookUp(station));
    }
    return this.regions.get(station);
  }

  async lookUp(station) {
    const { trace, plan } = this.run;
    trace.lookupStarted(station);
    await sleep(plan.lookupMs);
    const region = spec.regionIn(plan.registry, station);
    trace.lookupFinished(station, region !== null);
    return region;
  }
}
// ANCHOR_END: cache

// -------------------------------------------------------------------------------------
// Steps 2 to 4: parse, enrich, partition; and the workers.

// ANCHOR: workers
// ANCHOR: hand_off
/**
 * Hands the records of source `index` to their workers: the body's distinct
 * stations all at once through the cache, then each record, in line order, into
 * its worker's channel. Only a station waits for a lookup, never a record
 * (spec.survey says why).
 */
async function handOff(run, index, body) {
  const surveyed = spec.survey(index, body);
  for (const rejection of surveyed.rejected) run.rejected.push(rejection);
  const regions = await Promise.all(
    surveyed.stations.map((station) => run.cache.regionOf(station)));
  const records = spec.enrichedRecords(surveyed, regions, run.channels.length);
  for (const record of records) {
    if (record instanceof spec.Rejection) {
      run.rejected.push(record); // an unknown station
      continue;
    }
    // Waits while the worker's queue is full: backpressure, one record at a
    // time.
    await run.channels[record.worker].send(record);
    run.trace.handOff(record.worker);
  }
}
// ANCHOR_END: hand_off

/** One worker: adds every record of its channel to a tally, until the last one. */
async function worker(channel) {
  const tally = new spec.WorkerTally();
  for (;;) {
    // undefined: closed, and every record taken
    const record = await channel.recv();
    if (record === undefined) return tally;
    tally.add(record);
  }
}
// ANCHOR_END: workers

// -------------------------------------------------------------------------------------
// The run, top to bottom.

// ANCHOR: main
/** Runs the pipeline on `plan` and returns its report. */
async function runPipeline(plan, options, trace) {
  const { settings } = plan;
  const run = {
    plan, trace, feeds: options.feeds, id: options.run,
    fetches: new Array(plan.sources.length),
    rejected: [],
    channels: Array.from({ length: settings.workers },
      () => new Channel(settings.channel_capacity)),
  };
  run.cache = new SingleFlightCache(run);
  trace.runStarted();
  // 4. The workers first (started, not awaited), so the first record has
  //    somewhere to go.
  const workers = run.channels.map(worker);
  // 1. Fetch; each answered source goes on to 2. Parse, 3. Enrich and
  //    4. Partition.
  await fetchAll(run);
  for (const channel of run.channels) channel.close();
  const tallies = await Promise.all(workers);
  trace.runFinished(); // 5. Merge.
  const { fetches, rejected, cache } = run;
  return spec.assembleReport(plan, fetches, rejected, cache.lookups, tallies);
}

async function main() {
  const options = spec.commandLine(STYLE, process.argv.slice(2));
  if (options === null) return; // exit status 2, and one line, already written
  let plan;
  try {
    plan = await getPlan(options);
  } catch (error) {
    spec.fail(STYLE, error.message, 1);
    return;
  }
  spec.writeReport(await runPipeline(plan, options, new spec.Trace(options.trace)));
}
// ANCHOR_END: main

/** The plan; throws an Error that names the URL and says why it could not be had. */
async function getPlan(options) {
  const url = options.feeds.origin + spec.planPath(options.run);
  try {
    const signal = AbortSignal.timeout(spec.PLAN_TIMEOUT_MS);
    const response = await fetch(url, { signal });
    if (response.status !== 200) throw new Error(`HTTP status ${response.status}`);
    return spec.readPlan(spec.decodeBody(await response.arrayBuffer()));
  } catch (error) {
    throw new Error(`cannot get the plan from ${url}: ${spec.describeError(error)}`);
  }
}

main().catch((error) => {
  spec.fail(STYLE, `internal error: ${spec.describeError(error)}`, 1);
});
