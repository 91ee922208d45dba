// The specification as JavaScript: what the pipeline computes, with no waiting in it.
//
// This module is to the three Node.js styles what `crates/pipeline` is to the Rust
// ones: parsing a feed's lines, the two passes of enrichment, the FNV-1a hash that
// picks a worker, a worker's tally, the merge, the mean, the report; and around them
// the command line, the plan, the trace writer and the URLs. The style files
// (`callbacks.mjs`, `promises.mjs`, `async.mjs`) hold orchestration only: how each one
// waits.
//
// Pure functions and small classes, and nothing that waits: no Promise, no `async`, no
// timer. The callbacks style imports it, and it must stay free of Promises; the rule
// also keeps every style's report computed by the same code, whatever it waits with.
//
// The contract these programs implement (command line, plan, report, exit statuses,
// trace lines) is `crates/other-languages/README.md`; the semantics are the book's
// appendix, `book/src/specification.md`. Read next: `callbacks.mjs`.

import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import process from "node:process";

// -------------------------------------------------------------------------------------
// Step 2: parse. A body is split on "\n"; one trailing "\r" is removed from each line;
// empty lines are skipped but counted (line numbers start at 1); a line is
// `<station>;<temperature>`, split at the first ";".

/** The rejection reasons, word for word: they are part of the report. */
export const REASON = Object.freeze({
  missingSeparator: "missing ';'",
  emptyStation: "empty station",
  badTemperature: "bad temperature",
  unknownStation: "unknown station",
});

/** A line (or a record) that did not reach a worker. */
export class Rejection {
  constructor(source, line, reason) {
    this.source = source; // index of the source in the plan, from 0
    this.line = line; // line number in its body, from 1
    this.reason = reason; // one of REASON
  }
}

/** One parsed line: a station (verbatim) and a temperature in integer tenths. */
export class ParsedLine {
  constructor(line, station, tenths) {
    this.line = line;
    this.station = station;
    this.tenths = tenths;
  }
}

// Exactly the specification's pattern. Without the `m` flag, `$` matches only at the
// very end of the text (unlike Python's `$`, which also matches before a final "\n").
const TEMPERATURE = /^-?[0-9]{1,2}\.[0-9]$/;

/**
 * The temperature `text` in integer tenths ("-3.5" is -35), or null if it does not
 * match. Integers, never floats: a sum of floats depends on the order of the additions,
 * and in a concurrent program that order changes from run to run. Integers do not care.
 */
export function parseTenths(text) {
  if (!TEMPERATURE.test(text)) return null;
  // "-3.5" without its dot is "-35": the tenths, exactly. "-0.0" gives -0, which is 0
  // here.
  const tenths = Number(text.replace(".", ""));
  return tenths === 0 ? 0 : tenths;
}

/** Parses one non-empty line: a ParsedLine, or the reason it is rejected (a string). */
export function parseLine(number, line) {
  const separator = line.indexOf(";");
  if (separator === -1) return REASON.missingSeparator;
  const station = line.slice(0, separator);
  if (station === "") return REASON.emptyStation;
  const tenths = parseTenths(line.slice(separator + 1));
  if (tenths === null) return REASON.badTemperature;
  return new ParsedLine(number, station, tenths);
}

/**
 * The non-empty lines of the body of source number `source`, parsed one at a time as
 * the iterator is advanced: a ParsedLine or a Rejection, in line order. A generator is
 * a plain synchronous iterator (no Promise in it): it keeps its place in the body
 * between calls.
 */
export function* parseLines(source, body) {
  let start = 0;
  let number = 0;
  // `<=`: the text after the last "\n" is a line too (empty if the body ends with
  // "\n").
  while (start <= body.length) {
    let end = body.indexOf("\n", start);
    if (end === -1) end = body.length;
    let line = body.slice(start, end);
    start = end + 1;
    number += 1;
    if (line.endsWith("\r")) line = line.slice(0, -1); // one "\r", as CRLF files have
    if (line === "") continue; // skipped, but counted: line numbers stay the file's
    const parsed = parseLine(number, line);
    yield typeof parsed === "string" ? new Rejection(source, number, parsed) : parsed;
  }
}

// -------------------------------------------------------------------------------------
// Step 3: enrich, in two passes over a body (`crates/pipeline/src/enrich.rs` says why).
// Pass 1, the survey, keeps what is small: the body's distinct stations, how many
// records it has, its rejected lines. The style looks the stations up, all at once,
// through its single-flight cache. Pass 2 parses the body again and yields each record
// with its region, one at a time, so that only a station ever waits, never a record.

/** Pass 1 over the body of source number `source`. Nothing is kept per record. */
export function survey(source, body) {
  const seen = new Set(); // a Set iterates in insertion order: first appearance
  const rejected = [];
  let records = 0;
  for (const line of parseLines(source, body)) {
    if (line instanceof Rejection) {
      rejected.push(line);
    } else {
      records += 1;
      seen.add(line.station);
    }
  }
  return { source, body, stations: [...seen], records, rejected };
}

/** A record with its region, and the worker it goes to. */
export class Enriched {
  constructor(station, region, tenths, worker) {
    this.station = station;
    this.region = region;
    this.tenths = tenths;
    this.worker = worker; // fnv1a32(station) % workers, computed once per station
  }
}

/**
 * Pass 2: the records of a surveyed body, parsed again one line at a time. `regions[i]`
 * is the region of `survey.stations[i]`, or null if the registry does not know it: its
 * records come out as "unknown station" Rejections. Lines that did not parse are
 * skipped: the survey has them. Each record is yielded as an Enriched, with its worker
 * among `workers`.
 */
export function* enrichedRecords(surveyed, regions, workers) {
  const known = new Map();
  surveyed.stations.forEach((station, i) => {
    known.set(station, { region: regions[i], worker: workerFor(station, workers) });
  });
  for (const line of parseLines(surveyed.source, surveyed.body)) {
    if (line instanceof Rejection) continue;
    const { region, worker } = known.get(line.station);
    if (region === null) {
      yield new Rejection(surveyed.source, line.line, REASON.unknownStation);
    } else {
      yield new Enriched(line.station, region, line.tenths, worker);
    }
  }
}

/** The region of `station` in the plan's registry (a Map), or null: unknown. */
export function regionIn(registry, station) {
  return registry.has(station) ? registry.get(station) : null;
}

// -------------------------------------------------------------------------------------
// Step 4: partition. FNV-1a 32-bit over the station's UTF-8 bytes (not its UTF-16 code
// units, which is what a JavaScript string is made of): start at 2166136261, and for
// each byte xor it in, then multiply by 16777619, wrapping at 32 bits.

/** FNV-1a 32-bit of the UTF-8 bytes of `station`, as an unsigned 32-bit integer. */
export function fnv1a32(station) {
  let hash = 2166136261;
  for (const byte of Buffer.from(station, "utf8")) {
    // `^` works on signed 32-bit integers; Math.imul multiplies them modulo 2^32, as
    // wrapping_mul does, where `*` on doubles would lose the low bits. `>>> 0` makes
    // the result unsigned again.
    hash = Math.imul(hash ^ byte, 16777619) >>> 0;
  }
  return hash;
}

/** The worker that aggregates `station`'s records. */
export function workerFor(station, workers) {
  return fnv1a32(station) % workers;
}

/** What one worker has aggregated: per station, count, minimum, maximum and sum. */
export class WorkerTally {
  constructor() {
    this.records = 0;
    this.stations = new Map();
  }

  /** Adds one Enriched record. */
  add(record) {
    this.records += 1;
    const stats = this.stations.get(record.station);
    if (stats === undefined) {
      const { region, tenths } = record;
      this.stations.set(record.station, { region, count: 1, min: tenths, max: tenths,
        sum: tenths });
      return;
    }
    stats.count += 1;
    stats.min = Math.min(stats.min, record.tenths);
    stats.max = Math.max(stats.max, record.tenths);
    // Exact: a sum of integers stays an integer below 2^53, and a feed of 64 MiB holds
    // at most 16 million lines of at most 999 tenths each (about 2^34).
    stats.sum += record.tenths;
  }
}

// -------------------------------------------------------------------------------------
// Step 5: merge and report.

/** The workers' tallies combined per station (each station has one worker anyway). */
export function merge(tallies) {
  const merged = new Map();
  for (const tally of tallies) {
    for (const [station, stats] of tally.stations) {
      const into = merged.get(station);
      if (into === undefined) {
        merged.set(station, { ...stats });
      } else {
        into.count += stats.count;
        into.min = Math.min(into.min, stats.min);
        into.max = Math.max(into.max, stats.max);
        into.sum += stats.sum;
      }
    }
  }
  return merged;
}

/**
 * The mean in tenths: sum / count, rounded to the nearest tenth, ties away from zero.
 * In integers: round(|s| / c) = floor((2|s| + c) / 2c), then the sign put back. BigInt
 * makes the division exact whatever the size (its `/` truncates, which is floor here,
 * since both sides are positive); a double division followed by Math.floor could round
 * up a quotient just below an integer. BigInt has no -0, so a mean of zero is never
 * "-0".
 */
export function meanTenths(sum, count) {
  const s = BigInt(sum);
  const c = BigInt(count);
  const magnitude = (2n * (s < 0n ? -s : s) + c) / (2n * c);
  return Number(s < 0n ? -magnitude : magnitude);
}

/**
 * A temperature for the JSON report: the number tenths / 10. Division is correctly
 * rounded, so this is the double nearest to the decimal, which JSON.stringify writes
 * back in its shortest form: -35 gives -3.5; 20 gives 2 (Rust's serde writes 2.0: the
 * same number).
 */
export function temperature(tenths) {
  return tenths / 10;
}

/** The summary of one source's fetch: how many attempts, and why it failed, or null. */
export class FetchSummary {
  constructor(attempts, failure) {
    this.attempts = attempts;
    this.failure = failure; // null, "timeout" or "error": the last attempt's outcome
  }
}

/**
 * The report, with the specification's keys in its order. `fetches` holds one
 * FetchSummary per source, by index; `rejected` every Rejection, in any order;
 * `lookups` the lookups made; `tallies` one WorkerTally per worker, by index.
 */
export function assembleReport(plan, fetches, rejected, lookups, tallies) {
  const sorted = [...rejected].sort((a, b) => a.source - b.source || a.line - b.line);
  const accepted = tallies.reduce((total, tally) => total + tally.records, 0);
  let unknown = 0;
  for (const rejection of sorted) {
    if (rejection.reason === REASON.unknownStation) unknown += 1;
  }
  const sourcesFailed = [];
  fetches.forEach((fetched, index) => {
    if (fetched.failure !== null) {
      sourcesFailed.push({ source: plan.sources[index], reason: fetched.failure,
        attempts: fetched.attempts });
    }
  });
  return {
    scenario: plan.name,
    sources_ok: fetches.length - sourcesFailed.length,
    sources_failed: sourcesFailed,
    attempts: fetches.reduce((total, fetched) => total + fetched.attempts, 0),
    accepted,
    rejected: sorted.map(({ source, line, reason }) => ({
      source: plan.sources[source], line, reason })),
    lookups,
    // Parsed records (accepted, or rejected as unknown) minus lookups. A cache that is
    // not single-flight looks up more often, never less: floor at 0, so that such a bug
    // shows as a wrong `lookups` figure.
    cache_hits: Math.max(0, accepted + unknown - lookups),
    partitions: tallies.map((tally) => tally.records),
    stations: stationRows(merge(tallies)),
  };
}

/**
 * The per-station rows, sorted by the UTF-8 bytes of the station's name, as the
 * specification says and as Rust's `str` order is. Not by JavaScript's `<` or
 * `localeCompare`: a JavaScript string is UTF-16, and `<` compares UTF-16 code units,
 * which puts every character above U+FFFF (a surrogate pair, 0xD800 to 0xDFFF) *before*
 * the characters U+E000 to U+FFFF. "😀" < "～" in JavaScript; in UTF-8 bytes (and in code
 * points) it is the other way round. Buffer.compare compares bytes.
 */
function stationRows(merged) {
  const rows = [...merged].map(([station, stats]) => ({
    bytes: Buffer.from(station, "utf8"), station, stats }));
  rows.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return rows.map(({ station, stats }) => ({
    station,
    region: stats.region,
    count: stats.count,
    min: temperature(stats.min),
    mean: temperature(meanTenths(stats.sum, stats.count)),
    max: temperature(stats.max),
  }));
}

/** Writes the report to standard output, as the contract says. */
export function writeReport(report) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

// -------------------------------------------------------------------------------------
// The command line: PROGRAM FEEDS_URL [--run ID] [--trace].

/** A bad command line: one line on standard error, exit status 2. */
export class UsageError extends Error {}

/** The hosts a feed server may be on: loopback only. */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The feed server at `text`, `http://127.0.0.1:PORT` (or `localhost`, or `[::1]`), with
 * or without a final "/". Anything else is refused: these programs talk to loopback
 * only.
 */
export function feedsAt(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${quote(text)} is not a URL such as http://127.0.0.1:7878`);
  }
  if (url.protocol !== "http:") {
    throw new UsageError(`${quote(text)}: only http:// feed servers are supported`);
  }
  // `new URL` has already normalised the host: lower case, and IPv4 in dotted decimal.
  if (!LOOPBACK_HOSTS.has(url.hostname)) {
    throw new UsageError(
      `${quote(text)} is not on this machine: feed servers are on loopback only`);
  }
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") {
    throw new UsageError(
      `${quote(text)}: give the server's address only (http://127.0.0.1:PORT)`);
  }
  const port = url.port === "" ? 80 : Number(url.port);
  if (port === 0) {
    throw new UsageError(`${quote(text)} has port 0, which nothing listens on`);
  }
  // The `http` module wants the host without the brackets of an IPv6 literal.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { origin: `http://${url.hostname}:${port}`, host, port };
}

/** Parses the command line (without `node` and the script): { feeds, run, trace }. */
export function parseArguments(args) {
  let feeds = null;
  let run = null;
  let trace = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === "--trace") {
      trace = true;
    } else if (arg === "--run" || arg.startsWith("--run=")) {
      if (arg === "--run" && i + 1 === args.length) {
        throw new UsageError("--run needs an ID");
      }
      run = arg === "--run" ? args[(i += 1)] : arg.slice("--run=".length);
      if (!RUN_ID.test(run)) {
        throw new UsageError(
          `the run id ${quote(run)} is not 1 to 64 characters of A-Z a-z 0-9 _ -`);
      }
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${quote(arg)}`);
    } else if (feeds === null) {
      feeds = feedsAt(arg);
    } else {
      throw new UsageError(`one FEEDS_URL only, and ${quote(arg)} is a second one`);
    }
  }
  if (feeds === null) throw new UsageError("FEEDS_URL is missing");
  // Without --run, a fresh run id: a server started with a default scenario serves any
  // id it was not told about as a fresh run of that scenario. (A UUID is hex and "-".)
  return { feeds, run: run ?? randomUUID(), trace };
}

/**
 * The command line of `style`, or null after a one-line error on standard error and
 * exit status 2 (set, not forced: the program then ends by itself, with nothing left to
 * do).
 */
export function commandLine(style, args) {
  try {
    return parseArguments(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    fail(style, `${error.message} (usage: ${style} FEEDS_URL [--run ID] [--trace])`, 2);
    return null;
  }
}

/** Writes `message` on one line of standard error, and sets the exit status. */
export function fail(style, message, status) {
  // One line, whatever the message holds: control characters are escaped.
  const line = String(message).replace(/[\u0000-\u001f\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  process.stderr.write(`${style}: ${line}\n`);
  process.exitCode = status;
}

/** `text` in double quotes, escaped as JSON escapes it: safe on one line. */
function quote(text) {
  return JSON.stringify(String(text));
}

/** Why it failed: fetch's TypeError("fetch failed") has the reason in `cause`. */
export function describeError(error) {
  const cause = error?.cause;
  if (cause instanceof Error) return `${error.message}: ${cause.message}`;
  return error instanceof Error ? error.message : String(error);
}

// -------------------------------------------------------------------------------------
// The plan, and the URLs of a run.

/** How long the plan may take to arrive: it is one small JSON document. */
export const PLAN_TIMEOUT_MS = 10_000;

/** The largest body accepted, as the Rust parser's MAX_BODY_BYTES: 64 MiB. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * How many attempts a style starts in one turn of the event loop before it lets the
 * loop run. Starting a request costs a JavaScript program some hundreds of microseconds
 * of one thread; a thousand started in one go would hold the loop for about a second,
 * in which no answer is read while the first attempts' deadlines run out. Started a few
 * dozen at a time, with a turn between, the early attempts' answers are read as they
 * come.
 */
export const STARTS_PER_TURN = 32;

/** The path of the plan of run `run`. */
export function planPath(run) {
  return `/runs/${run}/plan.json`;
}

/**
 * The path of a source's feed in run `run`, the name percent-encoded.
 * encodeURIComponent encodes every byte of the UTF-8 form except A-Z a-z 0-9 and
 * `-_.!~*'()`; Rust's `PercentEncoded` also encodes `!*'()`. Both are fine: those five
 * characters are allowed as they are in a path segment, and the server decodes every
 * `%XX` and passes any other character through, so it reads the same name either way.
 * (A name that is exactly "." or ".." cannot be sent through a WHATWG URL, which fetch
 * uses, at all: the URL parser removes such segments, even encoded as %2E. The `http`
 * module sends the path as given.)
 */
export function feedPath(run, source) {
  return `/runs/${run}/feeds/${encodeURIComponent(source)}`;
}

const SETTINGS = ["concurrency", "workers", "timeout_ms", "retries", "lookup_ms",
  "channel_capacity"];
const AT_LEAST_ONE = new Set(["concurrency", "workers", "channel_capacity"]);

/**
 * The plan in `text` (the JSON of `GET /runs/{ID}/plan.json`), checked for shape only:
 * the server validated the scenario, once, in Rust. Throws an Error saying what is
 * wrong.
 */
export function readPlan(text) {
  let plan;
  try {
    plan = JSON.parse(text);
  } catch (error) {
    throw new Error(`the plan is not JSON (${error.message})`);
  }
  const isObject = (value) => typeof value === "object" && value !== null &&
    !Array.isArray(value);
  const wrong = (what) => new Error(`the plan's ${what}`);
  if (!isObject(plan)) throw wrong("top level is not an object");
  if (typeof plan.name !== "string") throw wrong("name is not a string");
  if (typeof plan.time_scale !== "number" || !(plan.time_scale > 0)) {
    throw wrong("time_scale is not a number above 0");
  }
  if (!isObject(plan.settings)) throw wrong("settings are not an object");
  const settings = {};
  for (const key of SETTINGS) {
    const value = plan.settings[key];
    if (!Number.isSafeInteger(value) || value < (AT_LEAST_ONE.has(key) ? 1 : 0)) {
      throw wrong(`setting ${key} is not a valid count`);
    }
    settings[key] = value;
  }
  if (!isObject(plan.registry) ||
      !Object.values(plan.registry).every((region) => typeof region === "string")) {
    throw wrong("registry is not an object of strings");
  }
  if (!Array.isArray(plan.sources) ||
      !plan.sources.every((source) => typeof source === "string")) {
    throw wrong("sources are not a list of names");
  }
  return {
    name: plan.name,
    timeScale: plan.time_scale,
    settings,
    // A Map, not the object: a station may be called "constructor" or "__proto__".
    registry: new Map(Object.entries(plan.registry)),
    sources: plan.sources,
    // Scenario milliseconds times the time scale: real ones (the server scales
    // latencies).
    timeoutMs: settings.timeout_ms * plan.time_scale,
    lookupMs: settings.lookup_ms * plan.time_scale,
  };
}

// A decoder that refuses bytes that are not UTF-8 (as the Rust parser does: a feed is
// text) and keeps a leading byte order mark as part of the text, verbatim, as Rust's
// `String::from_utf8` does. Response.text() would replace bad bytes and drop the mark.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The body `bytes` (Buffer, ArrayBuffer, typed array) as text; throws if not UTF-8. */
export function decodeBody(bytes) {
  return UTF8.decode(bytes);
}

/** An attempt that did not answer: `outcome` is "error" or "timeout". */
export class AttemptFailed extends Error {
  constructor(outcome, message) {
    super(message ?? outcome);
    this.outcome = outcome;
  }
}

// -------------------------------------------------------------------------------------
// The trace: one JSON object per line on standard error, with `trace` (the kind) and
// `ms` (milliseconds since the program started, from the monotonic clock).

/** A first-in first-out queue, O(1) per operation (Array#shift copies long arrays). */
export class Fifo {
  constructor() {
    this.items = [];
    this.head = 0;
  }

  get length() {
    return this.items.length - this.head;
  }

  push(item) {
    this.items.push(item);
  }

  /** The oldest item, removed; undefined if empty. */
  shift() {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let it be collected
    this.head += 1;
    // Drop the consumed front now and then: amortised O(1), and memory stays bounded.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/**
 * Writes trace lines when enabled, and nothing otherwise. Hand-offs to one worker less
 * than a millisecond apart share one line, whose `records` says how many: a line per
 * record would make the trace as long as the data. A pending hand-off line is written
 * before any other event, and at the end (run_finished), so that lines stay in time
 * order.
 */
export class Trace {
  constructor(enabled) {
    this.enabled = enabled;
    // worker -> { ms, records }: hand-off lines not written yet. A Map iterates in
    // insertion order, which is the order of their `ms`.
    this.pending = new Map();
  }

  runStarted() {
    this.event({ trace: "run_started" });
  }

  attemptStarted(source, attempt) {
    this.event({ trace: "attempt_started", source, attempt });
  }

  /** `phase`: "connected", "request_sent" or "first_byte". */
  socket(source, attempt, phase) {
    this.event({ trace: "socket", source, attempt, phase });
  }

  /** `outcome`: "answered", "error" or "timeout". */
  attemptFinished(source, attempt, outcome) {
    this.event({ trace: "attempt_finished", source, attempt, outcome });
  }

  lookupStarted(station) {
    this.event({ trace: "lookup_started", station });
  }

  lookupFinished(station, known) {
    this.event({ trace: "lookup_finished", station, known });
  }

  runFinished() {
    this.event({ trace: "run_finished" });
  }

  /** One record entered worker `worker`'s queue. */
  handOff(worker) {
    if (!this.enabled) return;
    const ms = now();
    const latest = this.pending.get(worker);
    if (latest !== undefined && ms - latest.ms < 1) {
      latest.records += 1;
      return;
    }
    // Write this worker's line, and every earlier one before it, to keep the time
    // order.
    if (latest !== undefined) this.flush(worker);
    this.pending.set(worker, { ms, records: 1 });
  }

  /** Writes pending hand-off lines: all of them, or up to and including `worker`'s. */
  flush(worker) {
    for (const [pendingWorker, { ms, records }] of this.pending) {
      this.pending.delete(pendingWorker);
      write({ trace: "handed_off", ms, worker: pendingWorker, records });
      if (pendingWorker === worker) return;
    }
  }

  event({ trace, ...fields }) {
    if (!this.enabled) return;
    this.flush();
    write({ trace, ms: now(), ...fields }); // `trace` and `ms` first: easier to read
  }
}

/** Milliseconds since the program started, to the microsecond. */
function now() {
  return Math.round(performance.now() * 1000) / 1000;
}

function write(line) {
  // Writes to a pipe or a file are synchronous on Linux, so lines are never reordered
  // or held back, and none is lost if the program fails right after.
  process.stderr.write(`${JSON.stringify(line)}\n`);
}
