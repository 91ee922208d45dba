// The pipeline as Promise chains: the style `node-promises`.
//
// A Promise is a value that stands for a result not there yet. Where
// `callbacks.mjs` passes "what to do next" into every function, here every
// function that waits *returns* its result-to-be, and the caller chains what
// comes next onto it with `then`, handles failure with `catch`, cleans up with
// `finally`, and combines many with `Promise.all`. Nothing in this file is
// written with `async` functions or `await`: a tidy check enforces it. This is
// JavaScript before ES2017, and the shape of Rust's `crates/combinators`
// (futures-rs combinators), whose `promise_table.md` maps one onto the other.
//
// The requests use `fetch` (Node's built-in client, undici) with
// `AbortSignal.timeout(ms)` as the deadline of a whole attempt. fetch hides its
// socket: there is no event for "the connection is established" or "the request
// is written", so this style writes no `socket` trace lines (the contract
// allows that).
//
// Run: node promises.mjs http://127.0.0.1:7878 [--run ID] [--trace]
// Read next: `async.mjs`, the same chains written as loops with `await`.

import process from "node:process";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";

import { Channel } from "./channel.mjs";
import * as spec from "./spec.mjs";

const STYLE = "node-promises";

// -------------------------------------------------------------------------------------
// Step 1: fetch.

// ANCHOR: fetch
// ANCHOR: fetch_attempt
/**
 * One attempt: a Promise of the body of source `index`, or a rejection with an
 * AttemptFailed. The deadline is a signal made when the attempt starts; fetch
 * and the body read both listen to it, so the deadline covers connecting, the
 * head and the body: a server that trickles bytes cannot extend it. When it
 * fires, fetch rejects with a DOMException named "TimeoutError" and closes the
 * connection.
 */
function attempt(run, index, number) {
  run.trace.attemptStarted(index, number);
  const signal = AbortSignal.timeout(run.plan.timeoutMs);
  const url = run.feeds.origin + spec.feedPath(run.id, run.plan.sources[index]);
  return fetch(url, { signal })
    .then((response) => {
      if (!response.ok) {
        response.body?.cancel().catch(() => {}); // closes the connection now
        throw new spec.AttemptFailed("error", `HTTP status ${response.status}`);
      }
      return response.arrayBuffer(); // under the same signal
    })
    .then(spec.decodeBody) // not UTF-8: throws, an error like any other
    .then(
      (body) => {
        run.trace.attemptFinished(index, number, "answered");
        return body;
      },
      (error) => {
        // Only the deadline rejects with a TimeoutError; anything else (fetch's
        // TypeError "fetch failed" for a refused or reset connection, a status,
        // a short body) is an error.
        const outcome = error?.name === "TimeoutError" ? "timeout" : "error";
        run.trace.attemptFinished(index, number, outcome);
        throw new spec.AttemptFailed(outcome, spec.describeError(error));
      });
}

// ANCHOR_END: fetch_attempt
// ANCHOR: fetch_retry
/**
 * Fetch with retry, as a chain: `then` on an answer, `catch` to try again (at
 * once, in the same slot) or to give up. Resolves to
 * { attempts, failure, body }.
 */
function fetchWithRetry(run, index, number = 1) {
  return attempt(run, index, number)
    .then((body) => ({ attempts: number, failure: null, body }))
    .catch((error) => (number > run.plan.settings.retries
      ? { attempts: number, failure: error.outcome, body: null }
      : fetchWithRetry(run, index, number + 1)));
}
// ANCHOR_END: fetch_retry
// ANCHOR_END: fetch

// ANCHOR: slots
/**
 * Fetches every source, `concurrency` at a time: that many lanes, each a chain
 * that takes the next source (in file order) when its fetch is over. A source's
 * hand-off starts when its fetch ends and runs beside the lane, which goes on
 * to the next source at once: a lookup must not hold a slot. Resolves when
 * every fetch and every hand-off is done.
 */
function fetchAll(run) {
  const { sources } = run.plan;
  const handOffs = [];
  let next = 0;
  const lane = () => {
    if (next === sources.length) return Promise.resolve();
    const index = next;
    next += 1;
    return fetchWithRetry(run, index).then(({ attempts, failure, body }) => {
      run.fetches[index] = new spec.FetchSummary(attempts, failure);
      if (body !== null) handOffs.push(handOff(run, index, body));
      return lane();
    });
  };
  // The lanes start STARTS_PER_TURN at a time, with a turn of the loop in
  // between.
  const count = Math.min(run.plan.settings.concurrency, sources.length);
  const lanes = [];
  const startLanes = () => {
    const batch = Math.min(count - lanes.length, spec.STARTS_PER_TURN);
    for (let n = 0; n < batch; n += 1) lanes.push(lane());
    return lanes.length === count ? Promise.resolve() : nextTurn().then(startLanes);
  };
  // Every lane has ended, so every hand-off is in the array before it is read.
  return startLanes()
    .then(() => Promise.all(lanes))
    .then(() => Promise.all(handOffs));
}
// ANCHOR_END: slots

// -------------------------------------------------------------------------------------
// Step 3: the single-flight cache.

// ANCHOR: cache
/**
 * Station to region, each station looked up once: a Map from station to the
 * *Promise* of its region. The first asker stores the Promise before anything
 * can happen in between; every later asker, during the lookup or after it, gets
 * the same Promise, and `then` on a settled Promise still answers (on a later
 * turn, never at once). A Promise is a value that can be shared: that is the
 * whole single-flight cache.
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
    let region = this.regions.get(station);
    if (region === undefined) {
      region = this.lookUp(station);
      this.regions.set(station, region);
    }
    return region;
  }

  lookUp(station) {
    const { trace, plan } = this.run;
    trace.lookupStarted(station);
    return sleep(plan.lookupMs).then(() => {
      const region = spec.regionIn(plan.registry, station);
      trace.lookupFinished(station, region !== null);
      return region;
    });
  }
}
// ANCHOR_END: cache

// -------------------------------------------------------------------------------------
// Steps 2 to 4: parse, enrich, partition; and the workers.

// ANCHOR: hand_off
/**
 * Hands the records of source `index` to their workers: the body's distinct
 * stations all at once through the cache (`Promise.all`), then each record, in
 * line order, into its worker's channel (spec.survey says why in two passes).
 * Resolves when the last is queued.
 */
function handOff(run, index, body) {
  const surveyed = spec.survey(index, body);
  for (const rejection of surveyed.rejected) run.rejected.push(rejection);
  return Promise.all(surveyed.stations.map((station) => run.cache.regionOf(station)))
    .then((regions) => sendRecords(run,
      spec.enrichedRecords(surveyed, regions, run.channels.length)));
}
// ANCHOR_END: hand_off

// ANCHOR: workers
/**
 * Sends `records` (a cursor), one at a time, each after the previous one is
 * queued: the channel's Promise resolves when there is room, so a full queue
 * holds the source back. Written as a step that chains the next step, inside
 * one Promise that resolves at the end. `return send().then(next)` would be
 * shorter, but each step's Promise would then be resolved with the next one: a
 * chain as long as the body, held until its last record.
 */
function sendRecords(run, records) {
  return new Promise((resolve, reject) => {
    const step = () => {
      for (let next = records.next(); !next.done; next = records.next()) {
        const record = next.value;
        if (record instanceof spec.Rejection) {
          run.rejected.push(record); // an unknown station
          continue;
        }
        run.channels[record.worker].send(record)
          .then(() => {
            run.trace.handOff(record.worker);
            step();
          })
          .catch(reject);
        return; // the chain goes on from the send's `then`
      }
      resolve();
    };
    step();
  });
}

/** One worker: a Promise of its tally, once its channel is closed and drained. */
function worker(channel) {
  const tally = new spec.WorkerTally();
  return new Promise((resolve, reject) => {
    const step = () => channel.recv()
      .then((record) => {
        if (record === undefined) return resolve(tally);
        tally.add(record);
        step();
      })
      .catch(reject);
    step();
  });
}
// ANCHOR_END: workers

// -------------------------------------------------------------------------------------
// The run, top to bottom.

// ANCHOR: main
/** A Promise of the report of the pipeline run on `plan`. */
function runPipeline(plan, options, trace) {
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
  // 4. The workers first, so that the first record has somewhere to go.
  const tallies = Promise.all(run.channels.map(worker));
  // 1. Fetch; each answered source goes on to 2. Parse, 3. Enrich and
  //    4. Partition.
  return fetchAll(run)
    .then(() => {
      run.channels.forEach((channel) => channel.close());
      return tallies;
    })
    .then((workerTallies) => { // 5. Merge.
      trace.runFinished();
      const { fetches, rejected, cache } = run;
      return spec.assembleReport(plan, fetches, rejected, cache.lookups, workerTallies);
    });
}

function main() {
  const options = spec.commandLine(STYLE, process.argv.slice(2));
  if (options === null) return; // exit status 2, and one line, already written
  getPlan(options)
    .then(
      (plan) => runPipeline(plan, options, new spec.Trace(options.trace))
        .then(spec.writeReport),
      (error) => spec.fail(STYLE, error.message, 1))
    .catch((error) => spec.fail(STYLE, `internal error: ${spec.describeError(error)}`,
      1));
}
// ANCHOR_END: main

/** A Promise of the plan; rejects with an Error that names the URL and says why. */
function getPlan(options) {
  const url = options.feeds.origin + spec.planPath(options.run);
  return fetch(url, { signal: AbortSignal.timeout(spec.PLAN_TIMEOUT_MS) })
    .then((response) => {
      if (response.status !== 200) throw new Error(`HTTP status ${response.status}`);
      return response.arrayBuffer();
    })
    .then((bytes) => spec.readPlan(spec.decodeBody(bytes)))
    .catch((error) => {
      throw new Error(`cannot get the plan from ${url}: ${spec.describeError(error)}`);
    });
}

main();
