// The pipeline as error-first callbacks on Node's event loop: the style
// `node-callbacks`.
//
// Nothing here waits. Where the sequential reference would block (for a feed, a
// lookup, room in a worker's queue), this code says what to do *next*, as a
// function, and returns: Node calls that function when its time has come. One
// thread runs every callback, one at a time, so shared state is plain objects
// and needs no lock. No Promise, no `async`, no `await`, no `fetch` anywhere in
// this file or in `spec.mjs`: a tidy check enforces it.
//
// It is the Rust crate `crates/callbacks` with Node's event loop instead of a
// hand-written one, and Node's `http` module instead of readiness callbacks on
// a socket. The layout follows that crate's four files: the slots
// (`startSources`), one attempt and the retry (`attempt`, `fetchWithRetry`),
// the single-flight cache (`SingleFlightCache`), the hand-off and the workers
// (`handOff`, `BoundedQueue`, `worker`), and `runPipeline`, top to bottom.
//
// Run: node callbacks.mjs http://127.0.0.1:7878 [--run ID] [--trace]
// The contract is `crates/other-languages/README.md`. Read next:
// `promises.mjs`, the same pipeline with values you can hold instead of
// functions you pass.

import { Buffer } from "node:buffer";
import http from "node:http";
import process from "node:process";

import * as spec from "./spec.mjs";

const STYLE = "node-callbacks";

// An agent without keep-alive: every request gets a connection of its own,
// closed after its answer (the request says `Connection: close`), so one
// attempt is one connection, as the tcp transport says. Node's global agent
// keeps connections alive for reuse; `agent: false` would do as well, but makes
// a whole new agent per request.
const ONE_USE = new http.Agent({ keepAlive: false });

// -------------------------------------------------------------------------------------
// Step 1: fetch.

/**
 * Reads an answered attempt's response, and ends the attempt with `finish`:
 * "answered" with the body, or "error" for a status other than 2xx, a body cut
 * short (a close before Content-Length bytes: `complete` is false) or one that
 * is not UTF-8 (a feed is text, as Rust's parser says).
 */
function readBody(response, finish) {
  const length = Number(response.headers["content-length"] ?? 0);
  const ok = response.statusCode >= 200 && response.statusCode < 300;
  if (!ok || length > spec.MAX_BODY_BYTES) return finish("error");
  const chunks = [];
  response.on("data", (chunk) => chunks.push(chunk));
  response.on("end", () => {
    const body = response.complete ? decodeOrNull(chunks) : null;
    finish(body === null ? "error" : "answered", body);
  });
  response.on("error", () => finish("error"));
  // after 'end', finish has already run
  response.on("close", () => finish("error"));
}

/** The body as text, or null if it is not UTF-8. */
function decodeOrNull(chunks) {
  try {
    return spec.decodeBody(Buffer.concat(chunks));
  } catch {
    return null;
  }
}

/**
 * The `socket` trace lines of one attempt: `reached(phase)` writes `phase` and
 * any earlier phase not written yet, in order. An answer proves the request was
 * sent, so if its 'response' ever came before the request's 'finish', writing
 * both then is still true.
 */
function socketPhases(run, index, number, isFinished) {
  const phases = ["connected", "request_sent", "first_byte"];
  let written = 0;
  return (phase) => {
    for (; written <= phases.indexOf(phase) && !isFinished(); written += 1) {
      run.trace.socket(index, number, phases[written]);
    }
  };
}

// ANCHOR: fetch
// ANCHOR: fetch_attempt
/**
 * One attempt: GET the feed of source `index` on a connection of its own, raced
 * against a deadline over the whole attempt. Calls `callback(err, body)`
 * exactly once: every way the attempt can end (an answer, an error, a close,
 * the deadline) goes through `finish`, and the `finished` flag lets only the
 * first one through. `finish` also clears the timer and destroys the request,
 * closing its socket (a hanging feed's too).
 */
function attempt(run, index, number, callback) {
  run.trace.attemptStarted(index, number);
  let finished = false;
  const finish = (outcome, body) => {
    if (finished) return;
    finished = true;
    clearTimeout(deadline); // a pending timer would keep the program alive
    request.destroy();
    run.trace.attemptFinished(index, number, outcome);
    if (outcome === "answered") callback(null, body);
    else callback(new spec.AttemptFailed(outcome));
  };
  const reached = socketPhases(run, index, number, () => finished);
  const path = spec.feedPath(run.id, run.plan.sources[index]);
  const { host, port } = run.feeds;
  const options = { host, port, path, agent: ONE_USE };
  const request = http.get(options, (response) => {
    // 'response' fires once the status line and the headers have arrived and
    // are parsed: the nearest the `http` module lets us see the first byte.
    reached("first_byte");
    readBody(response, finish);
  });
  request.on("socket", (socket) =>
    socket.once("connect", () => reached("connected")),
  );
  // the request is written out
  request.on("finish", () => reached("request_sent"));
  request.on("error", () => finish("error")); // refused, reset, malformed
  const deadline = setTimeout(() => finish("timeout"), run.plan.timeoutMs);
}

// ANCHOR_END: fetch_attempt
// ANCHOR: fetch_retry
/**
 * Fetch with retry: a failed attempt is retried at once, in the same slot, up
 * to `retries` more times. A loop with a wait in it becomes a function that
 * calls itself from its callback. `callback(err, { attempts, body })`: `err` is
 * the last failure.
 */
function fetchWithRetry(run, index, number, callback) {
  attempt(run, index, number, (err, body) => {
    if (!err) return callback(null, { attempts: number, body });
    if (number > run.plan.settings.retries) {
      return callback(err, { attempts: number });
    }
    fetchWithRetry(run, index, number + 1, callback);
  });
}
// ANCHOR_END: fetch_retry
// ANCHOR_END: fetch

// ANCHOR: slots
/**
 * Starts sources, in file order, while a slot is free: at most `concurrency`
 * fetches in flight, as two numbers. Called once at the start, then each time a
 * fetch ends.
 */
function startSources(run) {
  const { slots, plan } = run;
  for (let started = 0; slots.inFlight < plan.settings.concurrency &&
    slots.next < plan.sources.length; started += 1) {
    // A few at a time, then the rest on a later turn: see spec.STARTS_PER_TURN.
    if (started === spec.STARTS_PER_TURN) return void setImmediate(startSources, run);
    const index = slots.next;
    slots.next += 1;
    slots.inFlight += 1;
    fetchWithRetry(run, index, 1, (err, fetched) => {
      const failure = err ? err.outcome : null;
      run.fetches[index] = new spec.FetchSummary(fetched.attempts, failure);
      // The fetch is over: its slot goes to the next source now, before this
      // source's records are enriched (that waits for lookups, and must not
      // hold a slot).
      slots.inFlight -= 1;
      startSources(run);
      if (err) return sourceDone(run);
      handOff(run, index, fetched.body, () => sourceDone(run));
    });
  }
}
// ANCHOR_END: slots

// -------------------------------------------------------------------------------------
// Step 3: the single-flight cache.

// ANCHOR: cache
/**
 * Station to region, each station looked up once. An entry is the answer,
 * `{ region }` (region null: unknown), or, while the lookup is in flight, the
 * list of callbacks waiting for it. No lock, and no race between "is it there?"
 * and "put it there": one thread runs one callback at a time, so nothing can
 * happen between the two.
 */
class SingleFlightCache {
  constructor(run) {
    this.run = run;
    this.entries = new Map();
  }

  /** Lookups started: one per station ever asked for. */
  get lookups() {
    return this.entries.size;
  }

  /** Calls `callback(null, region)` with the region of `station` (null: unknown). */
  regionOf(station, callback) {
    const entry = this.entries.get(station);
    if (Array.isArray(entry)) {
      entry.push(callback); // someone is looking it up: wait with them
    } else if (entry !== undefined) {
      // Known: answered on a later turn all the same. A function that calls
      // back sometimes at once and sometimes later is hard to use ("releasing
      // Zalgo").
      setImmediate(callback, null, entry.region);
    } else {
      this.entries.set(station, [callback]);
      this.lookUp(station);
    }
  }

  /** The lookup: `lookupMs` of waiting, then the registry's answer, to every waiter. */
  lookUp(station) {
    const { trace, plan } = this.run;
    trace.lookupStarted(station);
    setTimeout(() => {
      const region = spec.regionIn(plan.registry, station);
      trace.lookupFinished(station, region !== null);
      const waiting = this.entries.get(station);
      this.entries.set(station, { region });
      for (const callback of waiting) callback(null, region);
    }, plan.lookupMs);
  }
}
// ANCHOR_END: cache

// -------------------------------------------------------------------------------------
// Steps 2 to 4: parse, enrich, partition; and the workers.

/**
 * A bounded queue with callbacks. `push(item, onRoom)` puts `item` in and
 * returns true if there is room; if the queue is full it returns false and
 * keeps the item and `onRoom` until a pop makes room, then puts the item in and
 * calls `onRoom()`: the producer goes on from there. (Node's `writable.write()`
 * returns false the same way, and the producer waits for 'drain'.)
 * `pop(onItem)` calls `onItem(item)` with the next item, or `onItem()` once the
 * queue is closed and empty. Neither ever calls back before it has returned.
 */
class BoundedQueue {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = new spec.Fifo();
    // producers waiting for room: { item, onRoom }
    this.parked = new spec.Fifo();
    this.waiting = null; // a consumer waiting for an item
    this.closed = false;
  }

  push(item, onRoom) {
    if (this.waiting !== null) {
      // the queue is empty, its worker waits: hand it over
      const onItem = this.waiting;
      this.waiting = null;
      onItem(item);
      return true;
    }
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return true;
    }
    this.parked.push({ item, onRoom });
    return false;
  }

  pop(onItem) {
    if (this.items.length > 0) {
      const item = this.items.shift();
      // One place is free: the first parked producer's item takes it, and it
      // goes on.
      const parked = this.parked.shift();
      if (parked !== undefined) {
        this.items.push(parked.item);
        parked.onRoom();
      }
      // A later turn, so that a worker's loop of pops does not grow the stack,
      // and the event loop gets to run its timers and sockets between records.
      setImmediate(onItem, item);
    } else if (this.closed) {
      setImmediate(onItem);
    } else {
      this.waiting = onItem;
    }
  }

  /** No more pushes: the consumer gets `onItem()` once the queue is empty. */
  close() {
    this.closed = true;
    if (this.waiting !== null && this.items.length === 0) {
      setImmediate(this.waiting);
      this.waiting = null;
    }
  }
}

// ANCHOR: hand_off
/**
 * Hands the records of source `index`, whose feed answered `body`, to their
 * workers, and calls `done()` when the last one is in a queue. Two passes
 * (spec.survey says why): the body's few stations wait for their regions, one
 * callback each; then a cursor parses the records one at a time and pushes each
 * into its worker's queue.
 */
function handOff(run, index, body, done) {
  const surveyed = spec.survey(index, body);
  for (const rejection of surveyed.rejected) run.rejected.push(rejection);
  const regions = new Array(surveyed.stations.length);
  let waiting = surveyed.stations.length;
  const sendAll = () => {
    const records = spec.enrichedRecords(surveyed, regions, run.queues.length);
    sendRecords(run, records, done);
  };
  if (waiting === 0) return sendAll(); // a body with no records
  surveyed.stations.forEach((station, n) => {
    run.cache.regionOf(station, (err, region) => {
      regions[n] = region;
      waiting -= 1;
      if (waiting === 0) sendAll(); // the last answer is in
    });
  });
}
// ANCHOR_END: hand_off

// ANCHOR: workers

/**
 * Pushes `records` (a cursor) into their queues, in order, while there is room.
 * A full queue keeps the record and this function's continuation: the cursor
 * parks, and goes on when its worker has made room. One cursor per source,
 * never a callback per record.
 */
function sendRecords(run, records, done) {
  for (let next = records.next(); !next.done; next = records.next()) {
    const record = next.value;
    if (record instanceof spec.Rejection) {
      run.rejected.push(record); // an unknown station
      continue;
    }
    const resume = () => {
      run.trace.handOff(record.worker);
      sendRecords(run, records, done);
    };
    if (!run.queues[record.worker].push(record, resume)) return; // parked
    run.trace.handOff(record.worker);
  }
  done();
}

/** One worker: adds every record of its queue to a tally, then calls back with it. */
function worker(queue, callback) {
  const tally = new spec.WorkerTally();
  queue.pop(function onItem(record) {
    if (record === undefined) return callback(null, tally); // closed and empty
    tally.add(record);
    queue.pop(onItem);
  });
}
// ANCHOR_END: workers

// -------------------------------------------------------------------------------------
// The run, top to bottom.

/** A source is done: fetch failed, or every record of it is in a queue. */
function sourceDone(run) {
  run.sourcesLeft -= 1;
  if (run.sourcesLeft === 0) run.queues.forEach((queue) => queue.close());
}

// ANCHOR: main
/** Runs the pipeline on `plan`; calls back with the report. */
function runPipeline(plan, options, trace, callback) {
  const { settings } = plan;
  const run = {
    plan, trace, feeds: options.feeds, id: options.run,
    slots: { inFlight: 0, next: 0 },
    fetches: new Array(plan.sources.length),
    rejected: [],
    sourcesLeft: plan.sources.length,
    queues: Array.from({ length: settings.workers },
      () => new BoundedQueue(settings.channel_capacity)),
  };
  run.cache = new SingleFlightCache(run);
  trace.runStarted();
  // 4. The workers first, so that the first record has somewhere to go. 5. When
  //    the last one has its tally, merge.
  const tallies = new Array(settings.workers);
  let workersLeft = settings.workers;
  run.queues.forEach((queue, n) => worker(queue, (err, tally) => {
    tallies[n] = tally;
    workersLeft -= 1;
    if (workersLeft > 0) return;
    trace.runFinished();
    const { fetches, rejected, cache } = run;
    const report = spec.assembleReport(plan, fetches, rejected, cache.lookups, tallies);
    callback(null, report);
  }));
  // 1. Fetch; each source then goes on to 2. Parse, 3. Enrich, 4. Partition by
  //    itself.
  if (plan.sources.length === 0) run.queues.forEach((queue) => queue.close());
  startSources(run);
}

function main() {
  const options = spec.commandLine(STYLE, process.argv.slice(2));
  if (options === null) return; // exit status 2, and one line, already written
  getPlan(options, (err, plan) => {
    if (err) return spec.fail(STYLE, err.message, 1);
    runPipeline(plan, options, new spec.Trace(options.trace), (_, report) => {
      spec.writeReport(report);
    });
  });
}
// ANCHOR_END: main

/** GETs the plan, with a once-only `finish` as in `attempt`: `callback(err, plan)`. */
function getPlan(options, callback) {
  const path = spec.planPath(options.run);
  const url = `${options.feeds.origin}${path}`;
  let finished = false;
  const finish = (err, plan) => {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    request.destroy();
    callback(err && new Error(`cannot get the plan from ${url}: ${err.message}`), plan);
  };
  const { host, port } = options.feeds;
  const request = http.get({ host, port, path, agent: ONE_USE }, (response) => {
    if (response.statusCode !== 200) {
      return finish(new Error(`HTTP status ${response.statusCode}`));
    }
    const chunks = [];
    response.on("data", (chunk) => chunks.push(chunk));
    response.on("end", () => {
      try {
        finish(null, spec.readPlan(spec.decodeBody(Buffer.concat(chunks))));
      } catch (error) {
        finish(error);
      }
    });
    response.on("close", () => finish(new Error("the connection closed mid-answer")));
  });
  request.on("error", finish);
  const deadline = setTimeout(() => finish(new Error("no answer in time")),
    spec.PLAN_TIMEOUT_MS);
}

main();
