// Tests of `spec.mjs`: the specification's rules, one `test` each. Every function under
// test is synchronous, so there is no socket, no timer and no Promise here, and the
// process ends as soon as the last test has run.
//
// Run them from the repository's root, with nothing installed (Node.js 20+):
//
//     node --test crates/other-languages/node/
//
// The cases follow the Python twin (`../python/test_spec.py`) and the Rust crate's own
// tests (`crates/pipeline/src/*.rs`) where the rule is the same, so that a rule the three
// languages could read differently is pinned in all three. Where JavaScript's obvious
// tool gets a rule wrong (`Math.round`, the default `sort`, `Number`, `split` with a
// limit, a plain object as a map, `Buffer#toString`), a comment says so, and often the
// test shows the obvious tool failing beside the specification's answer.
//
// `assert/strict` compares with `Object.is`, so `assert.equal(x, 0)` fails for -0: the
// tests below that expect 0 also pin "never -0".

import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import process from "node:process";

import * as spec from "./spec.mjs";

// -------------------------------------------------------------------------------------
// Helpers.

/** `[line, station or reason, tenths or null]` for each non-empty line of `body`. */
function parsed(body, source = 0) {
  return [...spec.parseLines(source, body)].map((item) => {
    if (item instanceof spec.Rejection) {
      assert.equal(item.source, source);
      return [item.line, item.reason, null];
    }
    return [item.line, item.station, item.tenths];
  });
}

/** A temperature written as the specification prints tenths: "-", |t| / 10, ".", |t| % 10. */
function tenthsText(tenths) {
  const magnitude = Math.abs(tenths);
  return `${tenths < 0 ? "-" : ""}${Math.trunc(magnitude / 10)}.${magnitude % 10}`;
}

/**
 * FNV-1a 32-bit by hand, over a list of byte values, in BigInt: no 32-bit tricks, so it
 * cannot share a mistake with `spec.fnv1a32`'s `Math.imul` and `>>> 0`.
 */
function fnvByHand(bytes) {
  let hash = 2166136261n;
  for (const byte of bytes) {
    hash = ((hash ^ BigInt(byte)) * 16777619n) % 2n ** 32n;
  }
  return Number(hash);
}

/**
 * Replaces `object[key]` by `value` until the returned function is called. Restores an own
 * property as it was, or removes the own one we added (revealing the prototype's again).
 */
function replace(object, key, value) {
  const own = Object.getOwnPropertyDescriptor(object, key);
  Object.defineProperty(object, key, { value, configurable: true, writable: true });
  return () => {
    if (own === undefined) delete object[key];
    else Object.defineProperty(object, key, own);
  };
}

/**
 * Runs `script(setClock)` with the monotonic clock and standard error replaced, and
 * returns what was written on standard error, as a string.
 *
 * `Trace` reads `performance.now()` and writes `process.stderr.write` itself: it takes no
 * clock and no writer. Both are shared objects (the `performance` imported here is the one
 * `spec.mjs` imports), so the test replaces them for the duration of a synchronous script
 * and puts them back before anything else runs, even if the script throws.
 */
function capturingStandardError(script) {
  let clock = 0;
  let written = "";
  const restoreClock = replace(performance, "now", () => clock);
  const restoreWrite = replace(process.stderr, "write", (chunk) => {
    written += String(chunk);
    return true;
  });
  try {
    script((ms) => {
      clock = ms;
    });
  } finally {
    restoreWrite();
    restoreClock();
  }
  return written;
}

/** The trace lines `script(trace, setClock)` writes, parsed. */
function traceLines(script) {
  const written = capturingStandardError((setClock) => {
    script(new spec.Trace(true), setClock);
  });
  assert.ok(written === "" || written.endsWith("\n"), "every line ends with a newline");
  return written.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

/** A plan as the feed server writes it (a fresh object each call: tests change it). */
function planJson(sources = ["a"]) {
  return {
    time_scale: 0.5,
    name: "test",
    settings: { concurrency: 2, workers: 1, timeout_ms: 400, retries: 1, lookup_ms: 30,
      channel_capacity: 1 },
    registry: { Oslo: "north" },
    sources,
  };
}

/** An Enriched record of `station` with `tenths`, for worker `worker`. */
function enriched(station, tenths, region = "r", worker = 0) {
  return new spec.Enriched(station, region, tenths, worker);
}

// -------------------------------------------------------------------------------------
// Step 2: parse.

test("a temperature matches -?[0-9]{1,2}\\.[0-9] exactly and is kept as integer tenths", () => {
  const good = { "3.5": 35, "-1.0": -10, "-0.0": 0, "99.9": 999, "-99.9": -999, "05.5": 55 };
  for (const [text, tenths] of Object.entries(good)) {
    // "-0.0" must give 0, not -0 (`Number("-00")` is -0): `assert.equal` uses Object.is.
    assert.equal(spec.parseTenths(text), tenths, text);
  }
  const bad = ["", "1", "1.", ".5", "1.25", "100.0", "+1.0", " 1.0", "1.0 ", "--1.0", "1,0",
    "-", "-.5", "1.-5"];
  // Other scripts' digits (Arabic-Indic, full-width): not [0-9]. And a final newline: a
  // `$` with the `m` flag (or Python's `$`) would match before it.
  bad.push("١.٠", "1.٠", "１.0", "1.0\n", "\n1.0", "1.0\r");
  for (const text of bad) {
    assert.equal(spec.parseTenths(text), null, JSON.stringify(text));
  }
  // What JavaScript's own number parsers accept: the pattern is the rule, not Number().
  assert.equal(Number(""), 0);
  assert.equal(Number(" 1.0"), 1);
  assert.equal(Number("+1.0"), 1);
  assert.equal(Number("1.0\n"), 1);
  assert.equal(parseFloat("1.25"), 1.25);
});

test("every temperature from -99.9 to 99.9, printed with one decimal, parses back", () => {
  for (let tenths = -999; tenths <= 999; tenths += 1) {
    assert.equal(spec.parseTenths(tenthsText(tenths)), tenths, tenthsText(tenths));
  }
  // Just outside the range prints, but does not parse.
  assert.equal(spec.parseTenths(tenthsText(1000)), null);
  assert.equal(spec.parseTenths(tenthsText(-1000)), null);
});

test("a body is split on \"\\n\" only, never on other line breaks", () => {
  // A regular expression's `$` with the `m` flag, and its `.`, treat "\r", U+2028 and
  // U+2029 as line ends; Python's splitlines() also splits at \v \f \x1c-\x1e \x85. None of
  // them ends a line here: each stays inside its station.
  for (const separator of ["\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
    "\u2029"]) {
    const station = `A${separator}B`;
    assert.deepEqual(parsed(`${station};1.0\n`), [[1, station, 10]], JSON.stringify(station));
  }
});

test("one trailing \"\\r\" is removed, and empty lines are skipped but counted", () => {
  const body = "Oslo;1.0\r\n\r\nOslo;2.0\r\nBergen;3.0\r\r\n\nBergen;-4.0";
  assert.deepEqual(parsed(body), [
    [1, "Oslo", 10],
    [3, "Oslo", 20],
    [4, spec.REASON.badTemperature, null], // "3.0\r": only one "\r" goes
    [6, "Bergen", -40],
  ]);
  // The Rust crate's case: line numbers are the file's, across CRLF and empty lines.
  assert.deepEqual(parsed("Oslo;1.0\r\n\r\n\nBergen\nTromsø;-2.5\r\n", 4), [
    [1, "Oslo", 10],
    [4, spec.REASON.missingSeparator, null],
    [5, "Tromsø", -25],
  ]);
  // A line of one "\r" is empty once it is removed; a line of two is not.
  assert.deepEqual(parsed("\r\n\r\r\nA;1.0"), [[2, spec.REASON.missingSeparator, null],
    [3, "A", 10]]);
  // An empty body, and a body of empty lines, have no lines to report.
  assert.deepEqual(parsed(""), []);
  assert.deepEqual(parsed("\n\r\n\n"), []);
});

test("a line is split at the first \";\", and the station before it is kept verbatim", () => {
  assert.deepEqual(parsed("Oslo;3.5"), [[1, "Oslo", 35]]);
  // Everything after the first ";" is the temperature. `line.split(";", 2)` would be
  // wrong: its limit drops the rest of the line, so "Oslo;3.5;x" would read as 3.5.
  assert.deepEqual("Oslo;3.5;x".split(";", 2), ["Oslo", "3.5"]);
  assert.deepEqual(parsed("Oslo;3.5;x"), [[1, spec.REASON.badTemperature, null]]);
  // The first ";", not the last: "a;b" would be a station.
  assert.deepEqual(parsed("a;b;1.0"), [[1, spec.REASON.badTemperature, null]]);
  // Verbatim: spaces, a byte order mark and letter case are part of the name.
  assert.deepEqual(parsed(" Oslo ;1.0"), [[1, " Oslo ", 10]]);
  assert.deepEqual(parsed("\uFEFFOslo;1.0\noslo;2.0"), [[1, "\uFEFFOslo", 10],
    [2, "oslo", 20]]);
});

test("the rejection reasons are word for word the specification's", () => {
  assert.deepEqual({ ...spec.REASON }, {
    missingSeparator: "missing ';'",
    emptyStation: "empty station",
    badTemperature: "bad temperature",
    unknownStation: "unknown station",
  });
  assert.ok(Object.isFrozen(spec.REASON), "a report's words cannot be changed by accident");
  assert.deepEqual(parsed("Oslo 1.0\n;1.0\nOslo;warm\nOslo;1.0;2.0\n", 3), [
    [1, "missing ';'", null],
    [2, "empty station", null],
    [3, "bad temperature", null],
    [4, "bad temperature", null], // split at the first ";"
  ]);
});

// -------------------------------------------------------------------------------------
// Step 3: enrich, in two passes.

test("the survey keeps distinct stations in order of first appearance, and rejections", () => {
  const body = "B;1.0\nA;2.0\nbad\nB;3.0\nX;4.0\n";
  const surveyed = spec.survey(7, body);
  assert.deepEqual(surveyed.stations, ["B", "A", "X"]);
  assert.equal(surveyed.records, 4);
  assert.deepEqual(surveyed.rejected, [new spec.Rejection(7, 3, spec.REASON.missingSeparator)]);
});

test("pass 2 yields records with region and worker, unknown stations as rejections", () => {
  const body = "B;1.0\nA;2.0\nbad\nB;3.0\nX;4.0\n";
  const surveyed = spec.survey(7, body);
  const items = [...spec.enrichedRecords(surveyed, ["west", "north", null], 3)];
  assert.deepEqual(items, [
    new spec.Enriched("B", "west", 10, spec.workerFor("B", 3)),
    new spec.Enriched("A", "north", 20, spec.workerFor("A", 3)),
    // line 3 did not parse: the survey has it, pass 2 skips it
    new spec.Enriched("B", "west", 30, spec.workerFor("B", 3)),
    new spec.Rejection(7, 5, spec.REASON.unknownStation),
  ]);
});

test("the registry is a Map: a station named like an Object member is still unknown", () => {
  const json = planJson();
  // JSON.parse makes "__proto__" an own key (it does not set the prototype).
  const text = JSON.stringify(json).replace('"Oslo":"north"',
    '"Oslo":"north","__proto__":"south"');
  const { registry } = spec.readPlan(text);
  assert.equal(spec.regionIn(registry, "Oslo"), "north");
  assert.equal(spec.regionIn(registry, "__proto__"), "south");
  // A plain object would "know" every station named after a member of Object.prototype.
  const plainObject = { Oslo: "north" };
  assert.equal(typeof plainObject.constructor, "function");
  for (const station of ["constructor", "toString", "hasOwnProperty", "oslo", "Bergen"]) {
    assert.equal(spec.regionIn(registry, station), null, station);
  }
});

// -------------------------------------------------------------------------------------
// Step 4: partition.

test("fnv1a32 matches the published FNV-1a test vectors", () => {
  // From the FNV reference test suite (draft-eastlake-fnv), as the Rust crate tests.
  // Multiplying with `*` instead of Math.imul loses the low bits of the product (a double
  // holds 53), which "foobar" shows.
  assert.equal(spec.fnv1a32(""), 0x811c9dc5);
  assert.equal(spec.fnv1a32("a"), 0xe40c292c);
  assert.equal(spec.fnv1a32("foobar"), 0xbf9cf968);
});

test("fnv1a32 hashes a station's UTF-8 bytes, not its UTF-16 code units", () => {
  for (const station of ["Tromsø", "東京", "😀land", "～wave", "Oslo"]) {
    const utf8 = [...Buffer.from(station, "utf8")];
    assert.equal(spec.fnv1a32(station), fnvByHand(utf8), station);
  }
  // A JavaScript string is UTF-16: hashing charCodeAt(i) would give other numbers for
  // anything outside ASCII ("ø" is one code unit, 0xF8, but two bytes, C3 B8).
  const codeUnits = [..."Tromsø"].map((c) => c.charCodeAt(0));
  assert.notEqual(fnvByHand(codeUnits), spec.fnv1a32("Tromsø"));
});

test("fnv1a32 gives unsigned 32-bit integers", () => {
  // 0xe40c292c has its top bit set: without `>>> 0`, Math.imul's signed result is
  // negative, and `hash % workers` a negative worker index.
  assert.ok(spec.fnv1a32("a") > 0);
  for (let i = 0; i < 2000; i += 1) {
    const station = `station ${i}${["", "ø", "東", "😀", "～"][i % 5]}`;
    const hash = spec.fnv1a32(station);
    assert.ok(Number.isInteger(hash) && hash >= 0 && hash <= 0xffffffff, station);
    assert.equal(hash, fnvByHand(Buffer.from(station, "utf8")), station);
  }
});

test("one station always goes to the same worker, one of the workers", () => {
  assert.equal(spec.workerFor("Oslo", 3), spec.workerFor("Oslo", 3));
  assert.equal(spec.workerFor("a", 3), 0xe40c292c % 3);
  assert.equal(spec.workerFor("anything", 1), 0);
  for (const workers of [1, 2, 3, 7, 1024]) {
    for (const station of ["", "a", "foobar", "Tromsø", "😀land"]) {
      const worker = spec.workerFor(station, workers);
      assert.ok(Number.isInteger(worker) && worker >= 0 && worker < workers, station);
    }
  }
});

// -------------------------------------------------------------------------------------
// Step 5: merge.

test("a tally keeps count, min, max and sum per station; merge combines tallies", () => {
  const first = new spec.WorkerTally();
  const second = new spec.WorkerTally();
  first.add(enriched("Oslo", 10, "north"));
  first.add(enriched("Oslo", -20, "north"));
  second.add(enriched("Oslo", 50, "north"));
  second.add(enriched("Bergen", 1, "west"));
  const merged = spec.merge([first, second]);
  assert.deepEqual(merged.get("Oslo"), { region: "north", count: 3, min: -20, max: 50,
    sum: 40 });
  assert.deepEqual(merged.get("Bergen"), { region: "west", count: 1, min: 1, max: 1, sum: 1 });
  assert.equal(first.records, 2);
  assert.equal(second.records, 2);
  // Merging copies: the objects in a Map are shared by reference, and adding into them
  // would change the first tally's figures behind its back.
  assert.deepEqual(first.stations.get("Oslo"), { region: "north", count: 2, min: -20,
    max: 10, sum: -10 });
});

test("the mean rounds to the nearest tenth, ties away from zero, and is never -0", () => {
  const cases = [
    [3, 2, 2], // 1.5 tenths -> 2
    [-3, 2, -2], // -1.5 -> -2
    [5, 4, 1], // 1.25 -> 1
    [-5, 4, -1],
    [7, 4, 2], // 1.75 -> 2
    [10, 1, 10],
    [5, 2, 3], // 2.5 -> 3
    [-5, 2, -3], // -2.5 -> -3: Math.round(-2.5) is -2 (ties go up, toward +Infinity)
    [1, 2, 1], // 0.5 -> 1
    [-1, 2, -1], // -0.5 -> -1: Math.round(-0.5) is -0
    [1, 3, 0],
    [-1, 3, 0], // -0.33 -> 0, and not -0, which Math.round(-1 / 3) gives
    [0, 5, 0],
  ];
  for (const [sum, count, mean] of cases) {
    assert.equal(spec.meanTenths(sum, count), mean, `${sum} / ${count}`);
  }
  assert.equal(Math.round(-5 / 2), -2, "the obvious Math.round is wrong on negative ties");
  assert.ok(Object.is(Math.round(-1 / 3), -0), "and gives -0");
  // Every small case, against rounding done by hand: quotient and remainder.
  for (let sum = -60; sum <= 60; sum += 1) {
    for (let count = 1; count <= 12; count += 1) {
      const magnitude = Math.abs(sum);
      const quotient = Math.trunc(magnitude / count);
      const up = 2 * (magnitude - quotient * count) >= count ? 1 : 0;
      const expected = sum < 0 ? -(quotient + up) : quotient + up;
      assert.equal(spec.meanTenths(sum, count), expected === 0 ? 0 : expected, `${sum}/${count}`);
    }
  }
});

test("the mean is exact for large sums", () => {
  // The largest a feed can hold: 16 million lines of 99.9 (about 2^34 tenths).
  assert.equal(spec.meanTenths(16_000_000 * 999, 16_000_000), 999);
  assert.equal(spec.meanTenths(-(16_000_000 * 999) + 1, 16_000_000), -999);
  // Beyond 2^52 a double has no room for fractions: (2^53 - 1) / 3 is 3002399751580330.33,
  // but the double division rounds it to ...330.5, and Math.round then goes up.
  const sum = Number.MAX_SAFE_INTEGER;
  assert.equal(Math.round(sum / 3), 3002399751580331);
  assert.equal(spec.meanTenths(sum, 3), 3002399751580330);
  assert.equal(spec.meanTenths(-sum, 3), -3002399751580330);
});

// -------------------------------------------------------------------------------------
// The report.

/** A report over three sources, as in the Python twin's test. */
function sampleReport({ sources = ["a", "b", "c"], stations = ["Ω", "a", "Z", "Å"],
  lookups = 3 } = {}) {
  const plan = spec.readPlan(JSON.stringify(planJson(sources)));
  const tally = new spec.WorkerTally();
  for (const station of stations) tally.add(enriched(station, -10));
  const rejected = [
    new spec.Rejection(2, 1, spec.REASON.unknownStation),
    new spec.Rejection(0, 9, spec.REASON.badTemperature),
    new spec.Rejection(0, 2, spec.REASON.unknownStation),
  ];
  const fetches = [
    new spec.FetchSummary(1, null),
    new spec.FetchSummary(2, "timeout"),
    new spec.FetchSummary(1, null),
  ];
  return spec.assembleReport(plan, fetches, rejected, lookups, [tally, new spec.WorkerTally()]);
}

test("a temperature is the number tenths / 10, which JSON may write without \".0\"", () => {
  for (let tenths = -999; tenths <= 999; tenths += 1) {
    // Division is correctly rounded: the same double as the decimal text reads as.
    assert.equal(spec.temperature(tenths), Number(tenthsText(tenths)), tenthsText(tenths));
  }
  // JSON.stringify writes the shortest form: -1.0 is -1 (Rust's serde writes -1.0), and
  // both read back as the same number, which is how `rosetta` compares reports.
  assert.equal(JSON.stringify(spec.temperature(-10)), "-1");
  assert.equal(JSON.stringify(spec.temperature(-35)), "-3.5");
  assert.equal(JSON.parse("-1.0"), JSON.parse("-1"));
  assert.equal(spec.temperature(0), 0);
});

test("the report has the specification's keys, in its order", () => {
  const report = sampleReport();
  // Object.keys follows insertion order for string keys, and JSON.stringify with it.
  assert.deepEqual(Object.keys(report), ["scenario", "sources_ok", "sources_failed",
    "attempts", "accepted", "rejected", "lookups", "cache_hits", "partitions", "stations"]);
  assert.deepEqual(Object.keys(report.sources_failed[0]), ["source", "reason", "attempts"]);
  assert.deepEqual(Object.keys(report.rejected[0]), ["source", "line", "reason"]);
  assert.deepEqual(Object.keys(report.stations[0]), ["station", "region", "count", "min",
    "mean", "max"]);
  assert.deepEqual(report.stations[0], { station: "Z", region: "r", count: 1, min: -1,
    mean: -1, max: -1 });
  assert.match(JSON.stringify(report), /"min":-1,/);
});

test("failed sources are listed in file order, and attempts count every attempt", () => {
  const report = sampleReport();
  assert.equal(report.scenario, "test");
  assert.deepEqual(report.sources_failed, [{ source: "b", reason: "timeout", attempts: 2 }]);
  assert.equal(report.sources_ok, 2);
  assert.equal(report.attempts, 4);
  assert.equal(report.accepted, 4);
  assert.deepEqual(report.partitions, [4, 0], "accepted records per worker, by index");
});

test("rejected lines are sorted by the source's index, then by line number", () => {
  const report = sampleReport();
  assert.deepEqual(report.rejected.map((r) => [r.source, r.line, r.reason]), [
    ["a", 2, "unknown station"],
    ["a", 9, "bad temperature"],
    ["c", 1, "unknown station"],
  ]);
  // By index, not by name: here the names sort the other way round.
  const reversed = sampleReport({ sources: ["c", "b", "a"] });
  assert.deepEqual(reversed.rejected.map((r) => r.source), ["c", "c", "a"]);
  // And by number: the default sort compares numbers as strings, putting 10 before 9.
  assert.deepEqual([10, 9].sort(), [10, 9]);
  const plan = spec.readPlan(JSON.stringify(planJson(["a"])));
  const lines = [10, 9, 100, 1].map((line) => new spec.Rejection(0, line, "bad temperature"));
  const fetched = [new spec.FetchSummary(1, null)];
  const report10 = spec.assembleReport(plan, fetched, lines, 0, [new spec.WorkerTally()]);
  assert.deepEqual(report10.rejected.map((r) => r.line), [1, 9, 10, 100]);
});

test("cache_hits is accepted records plus unknown-station rejections, minus lookups", () => {
  // 4 accepted + 2 unknown stations (the bad temperature never parsed), 3 lookups.
  assert.equal(sampleReport().cache_hits, 3);
  assert.equal(sampleReport({ lookups: 6 }).cache_hits, 0);
  // More lookups than parsed records (a cache that is not single-flight): 0, not
  // negative, as Rust's saturating_sub; the wrong `lookups` shows the bug.
  assert.equal(sampleReport({ lookups: 9 }).cache_hits, 0);
});

test("stations are sorted by their UTF-8 bytes, not by JavaScript's default order", () => {
  const stations = ["😀land", "Ω", "～wave", "a", "Z", "Å"];
  const report = sampleReport({ stations });
  assert.deepEqual(report.stations.map((row) => row.station),
    ["Z", "a", "Å", "Ω", "～wave", "😀land"]);
  // The default sort (and `<`, and localeCompare in its own way) compares UTF-16 code
  // units: "😀" is the surrogate pair D83D DE00, below "～" (FF5E), so it comes first.
  // In UTF-8 bytes (F0 9F 98 80 against EF BD 9E), and in code points, it comes last.
  assert.deepEqual(["～wave", "😀land"].sort(), ["😀land", "～wave"]);
  assert.ok(Buffer.compare(Buffer.from("～wave"), Buffer.from("😀land")) < 0);
});

// -------------------------------------------------------------------------------------
// The command line: PROGRAM FEEDS_URL [--run ID] [--trace].

test("a feed server is on loopback only: 127.0.0.1, localhost or [::1], over http", () => {
  assert.deepEqual(spec.feedsAt("http://127.0.0.1:7878"),
    { origin: "http://127.0.0.1:7878", host: "127.0.0.1", port: 7878 });
  assert.deepEqual(spec.feedsAt("http://localhost:1/"),
    { origin: "http://localhost:1", host: "localhost", port: 1 });
  // The `http` module wants an IPv6 host without its brackets; a URL wants them.
  assert.deepEqual(spec.feedsAt("http://[::1]:7878/"),
    { origin: "http://[::1]:7878", host: "::1", port: 7878 });
  // No port is http's own, 80 (which `new URL` reports as "").
  assert.equal(spec.feedsAt("http://127.0.0.1").port, 80);
  // `new URL` normalises before the check: case, short IPv4 forms, long IPv6 forms.
  assert.equal(spec.feedsAt("HTTP://LOCALHOST:2").host, "localhost");
  assert.equal(spec.feedsAt("http://127.1:3").host, "127.0.0.1");
  assert.equal(spec.feedsAt("http://[0:0:0:0:0:0:0:1]:4").host, "::1");
  for (const text of [
    "http://example.com:1",
    "http://127.0.0.2:1", // loopback too, but not one of the three
    "http://10.0.0.1:1",
    "http://[::2]:1",
    "https://127.0.0.1:1",
    "ftp://127.0.0.1:1",
    "http://127.0.0.1:1/path",
    "http://127.0.0.1:1?query",
    "http://127.0.0.1:1#fragment",
    "http://user@127.0.0.1:1",
    "http://127.0.0.1:x",
    "http://127.0.0.1:65536",
    "http://127.0.0.1:0", // nothing listens on port 0 (Python's twin refuses it too)
    "127.0.0.1:7878",
    "not a url",
    "",
  ]) {
    assert.throws(() => spec.feedsAt(text), spec.UsageError, text);
  }
});

test("--run takes 1 to 64 characters of A-Z a-z 0-9 _ -", () => {
  const url = "http://127.0.0.1:7";
  for (const id of ["r-1_A", "a", "-", "x".repeat(64)]) {
    assert.equal(spec.parseArguments([url, "--run", id]).run, id);
    assert.equal(spec.parseArguments([`--run=${id}`, url]).run, id);
  }
  // "abc\n": a `$` that matched before a final newline (Python's) would let it through.
  for (const id of ["", "x".repeat(65), "a/b", "a b", "a.b", "é", "abc\n", "..", "%41"]) {
    assert.throws(() => spec.parseArguments([url, "--run", id]), spec.UsageError,
      JSON.stringify(id));
    assert.throws(() => spec.parseArguments([url, `--run=${id}`]), spec.UsageError,
      JSON.stringify(id));
  }
  assert.throws(() => spec.parseArguments([url, "--run"]), /--run needs an ID/);
});

test("a good command line gives the feed server, the run and the trace switch", () => {
  const options = spec.parseArguments(["http://127.0.0.1:7", "--run", "r-1_A", "--trace"]);
  assert.deepEqual(options, {
    feeds: { origin: "http://127.0.0.1:7", host: "127.0.0.1", port: 7 },
    run: "r-1_A",
    trace: true,
  });
  // Options may come first; without --trace there is no trace.
  assert.equal(spec.parseArguments(["--trace", "http://127.0.0.1:7"]).trace, true);
  assert.equal(spec.parseArguments(["http://127.0.0.1:7"]).trace, false);
  // Without --run, a fresh random id, itself a valid run id.
  const first = spec.parseArguments(["http://127.0.0.1:7"]).run;
  const second = spec.parseArguments(["http://127.0.0.1:7"]).run;
  assert.match(first, /^[A-Za-z0-9_-]{1,64}$/);
  assert.notEqual(first, second);
});

test("a bad command line is a UsageError that says what is wrong", () => {
  const url = "http://127.0.0.1:1";
  for (const [args, words] of [
    [[], /FEEDS_URL is missing/],
    [["--trace"], /FEEDS_URL is missing/],
    [["http://10.0.0.1:1"], /loopback only/],
    [[url, "http://127.0.0.1:2"], /one FEEDS_URL only/],
    [["--verbose", url], /unknown option "--verbose"/],
    [[url, "-x"], /unknown option "-x"/],
    [[url, "--trace=yes"], /unknown option/],
  ]) {
    const bad = () => spec.parseArguments(args);
    assert.throws(bad, spec.UsageError, JSON.stringify(args));
    assert.throws(bad, words, JSON.stringify(args));
  }
});

test("a bad command line exits with status 2 and one line on standard error", () => {
  const before = process.exitCode;
  try {
    for (const args of [[], ["http://10.0.0.1:1"], ["http://127.0.0.1:1", "--run", "a/b"],
      ["http://127.0.0.1:1", "second\nline"]]) {
      let options;
      process.exitCode = undefined;
      const written = capturingStandardError(() => {
        options = spec.commandLine("node-test", args);
      });
      const status = process.exitCode;
      process.exitCode = before;
      assert.equal(options, null);
      assert.equal(status, 2, JSON.stringify(args));
      assert.match(written, /^node-test: [^\n]*\(usage: node-test FEEDS_URL \[--run ID\]/);
      assert.equal(written.split("\n").length, 2, `one line: ${JSON.stringify(written)}`);
    }
  } finally {
    process.exitCode = before;
  }
});

test("a good command line leaves the exit status alone and writes nothing", () => {
  const before = process.exitCode;
  try {
    process.exitCode = undefined;
    let options;
    const written = capturingStandardError(() => {
      options = spec.commandLine("node-test", ["http://127.0.0.1:1", "--run", "r"]);
    });
    assert.equal(process.exitCode, undefined);
    assert.equal(written, "");
    assert.equal(options.run, "r");
  } finally {
    process.exitCode = before;
  }
});

test("fail writes one line, whatever the message holds, and sets the given status", () => {
  // The status for a plan that cannot be fetched is 1.
  const before = process.exitCode;
  let status;
  let written;
  try {
    written = capturingStandardError(() => {
      spec.fail("node-test", "no plan from http://127.0.0.1:1:\nrefused\r\u0007", 1);
    });
    status = process.exitCode;
  } finally {
    process.exitCode = before; // or this test file would end with status 1
  }
  assert.equal(status, 1);
  assert.equal(written,
    "node-test: no plan from http://127.0.0.1:1:\\u000arefused\\u000d\\u0007\n");
});

// -------------------------------------------------------------------------------------
// The URLs of a run.

test("a feed's name is percent-encoded into one path segment, as UTF-8", () => {
  assert.equal(spec.planPath("r1"), "/runs/r1/plan.json");
  const cases = [
    ["a b", "a%20b"],
    ["a/b", "a%2Fb"], // encodeURI would keep "/", making two segments
    ["100%", "100%25"],
    ["é", "%C3%A9"], // the UTF-8 bytes; the old escape() gives "%E9"
    ["a?b#c", "a%3Fb%23c"],
    ["oslo-feed_1.~", "oslo-feed_1.~"],
  ];
  for (const [name, segment] of cases) {
    assert.equal(spec.feedPath("r1", name), `/runs/r1/feeds/${segment}`, name);
    assert.equal(decodeURIComponent(segment), name, "the server reads the same name back");
  }
  assert.equal(encodeURI("a/b"), "a/b");
});

// -------------------------------------------------------------------------------------
// The plan.

test("a plan of the right shape is read, with its times in real milliseconds", () => {
  const plan = spec.readPlan(JSON.stringify(planJson(["oslo-feed", "bergen feed"])));
  assert.equal(plan.name, "test");
  assert.equal(plan.timeScale, 0.5);
  assert.deepEqual(plan.settings, { concurrency: 2, workers: 1, timeout_ms: 400, retries: 1,
    lookup_ms: 30, channel_capacity: 1 });
  assert.deepEqual(plan.sources, ["oslo-feed", "bergen feed"]);
  assert.deepEqual(plan.registry, new Map([["Oslo", "north"]]));
  // Scenario milliseconds times the time scale.
  assert.equal(plan.timeoutMs, 200);
  assert.equal(plan.lookupMs, 15);
  // Zero retries, lookup time and timeout are counts like any other.
  const json = planJson();
  Object.assign(json.settings, { retries: 0, lookup_ms: 0 });
  assert.equal(spec.readPlan(JSON.stringify(json)).settings.retries, 0);
  // No sources, an empty registry: a plan still.
  assert.deepEqual(spec.readPlan(JSON.stringify({ ...planJson([]), registry: {} })).sources,
    []);
});

test("a plan of the wrong shape is refused, saying what is wrong", () => {
  const changed = (change) => {
    const json = planJson();
    change(json);
    return JSON.stringify(json);
  };
  const cases = [
    ["{", /not JSON/],
    ["[]", /top level is not an object/],
    ["null", /top level is not an object/],
    [changed((p) => delete p.name), /name is not a string/],
    [changed((p) => { p.time_scale = 0; }), /time_scale is not a number above 0/],
    [changed((p) => { p.settings = [1]; }), /settings are not an object/],
    [changed((p) => delete p.settings.workers), /setting workers/],
    [changed((p) => { p.settings.concurrency = 0; }), /setting concurrency/],
    [changed((p) => { p.settings.channel_capacity = 0; }), /setting channel_capacity/],
    [changed((p) => { p.settings.concurrency = "4"; }), /setting concurrency/],
    [changed((p) => { p.settings.workers = 1.5; }), /setting workers/],
    [changed((p) => { p.settings.retries = -1; }), /setting retries/],
    [changed((p) => { p.registry = { Oslo: 1 }; }), /registry is not an object of strings/],
    [changed((p) => { p.sources = "a"; }), /sources are not a list of names/],
    [changed((p) => { p.sources = ["a", 2]; }), /sources are not a list of names/],
  ];
  for (const [text, words] of cases) {
    assert.throws(() => spec.readPlan(text), words, text);
  }
});

// -------------------------------------------------------------------------------------
// Bodies.

test("a body must be UTF-8: bytes that are not are refused, not replaced", () => {
  // Buffer#toString and Response.text() replace such bytes with U+FFFD, silently.
  assert.equal(Buffer.from([0xff]).toString("utf8"), "\uFFFD");
  for (const bytes of [
    [0xff], // never in UTF-8
    [0x41, 0x3b, 0x31, 0x2e, 0x30, 0x80], // a continuation byte alone
    [0xc0, 0x80], // an overlong NUL
    [0xed, 0xa0, 0x80], // a UTF-16 surrogate, encoded
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xe2, 0x82], // cut short at the end
  ]) {
    assert.throws(() => spec.decodeBody(Buffer.from(bytes)), TypeError, String(bytes));
  }
  // The decoder is shared: a refusal leaves nothing behind for the next body.
  assert.equal(spec.decodeBody(Buffer.from("Tromsø;1.0\n")), "Tromsø;1.0\n");
});

test("a byte order mark at the start of a body is kept as text", () => {
  const bytes = Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from("Oslo;1.0")]);
  // A TextDecoder drops it by default (Rust's String::from_utf8 keeps it).
  assert.equal(new TextDecoder().decode(bytes), "Oslo;1.0");
  assert.equal(spec.decodeBody(bytes), "\uFEFFOslo;1.0");
  // So its station is "\uFEFFOslo", unknown to a registry that lists "Oslo", as in Rust.
  assert.deepEqual(parsed(spec.decodeBody(bytes)), [[1, "\uFEFFOslo", 10]]);
  // Any view of bytes will do.
  const array = new Uint8Array(bytes);
  assert.equal(spec.decodeBody(array), "\uFEFFOslo;1.0");
  assert.equal(spec.decodeBody(array.buffer), "\uFEFFOslo;1.0");
});

test("a failed attempt carries its outcome, and an error's message names its cause", () => {
  const timedOut = new spec.AttemptFailed("timeout");
  assert.equal(timedOut.outcome, "timeout");
  assert.equal(timedOut.message, "timeout");
  assert.equal(new spec.AttemptFailed("error", "status 503").message, "status 503");
  // fetch rejects with TypeError("fetch failed") and hides the reason in `cause`.
  const refused = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") });
  assert.equal(spec.describeError(refused), "fetch failed: connect ECONNREFUSED");
  assert.equal(spec.describeError(new Error("plain")), "plain");
  assert.equal(spec.describeError("a string"), "a string");
  assert.equal(spec.describeError(undefined), "undefined");
});

test("a Fifo gives items back in the order they came, across its compaction", () => {
  // Array#shift is O(n); the Fifo moves a head index instead and drops the consumed
  // front now and then (from 1024 items on). Every item must survive that.
  const fifo = new spec.Fifo();
  assert.equal(fifo.shift(), undefined);
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 50; round += 1) {
    for (let i = 0; i < 100; i += 1) fifo.push((next += 1));
    for (let i = 0; i < 60; i += 1) assert.equal(fifo.shift(), (expected += 1));
    assert.equal(fifo.length, next - expected);
  }
  while (fifo.length > 0) assert.equal(fifo.shift(), (expected += 1));
  assert.equal(expected, 5000);
  assert.equal(fifo.shift(), undefined);
  assert.ok(fifo.items.length < 2048, "the consumed front was dropped");
});

// -------------------------------------------------------------------------------------
// The trace.

test("hand-offs to one worker less than 1 ms apart share one line, counted in records", () => {
  const lines = traceLines((trace, at) => {
    for (const [ms, worker] of [[0, 0], [0.2, 1], [0.5, 0], [0.9, 1], [1.1, 0], [1.2, 1]]) {
      at(ms);
      trace.handOff(worker);
    }
    at(2);
    trace.runFinished();
  });
  assert.deepEqual(lines, [
    { trace: "handed_off", ms: 0, worker: 0, records: 2 },
    { trace: "handed_off", ms: 0.2, worker: 1, records: 2 },
    // 1.1 ms after worker 0's line opened: a new line. 1.0 after worker 1's: not "less
    // than a millisecond", a new line too.
    { trace: "handed_off", ms: 1.1, worker: 0, records: 1 },
    { trace: "handed_off", ms: 1.2, worker: 1, records: 1 },
    { trace: "run_finished", ms: 2 },
  ]);
});

test("pending hand-off lines are written before any other event, and at the end", () => {
  const lines = traceLines((trace, at) => {
    at(10);
    trace.handOff(2);
    at(10.4);
    trace.handOff(2);
    at(10.5);
    trace.attemptStarted(1, 2); // writes worker 2's line first
    at(10.6);
    trace.handOff(2); // a new line: the last one is written already
    at(10.7);
    trace.handOff(0);
    at(12);
    trace.runFinished(); // writes both, in the order they opened
  });
  assert.deepEqual(lines.map((line) => [line.trace, line.ms, line.worker, line.records]), [
    ["handed_off", 10, 2, 2],
    ["attempt_started", 10.5, undefined, undefined],
    ["handed_off", 10.6, 2, 1],
    ["handed_off", 10.7, 0, 1],
    ["run_finished", 12, undefined, undefined],
  ]);
});

test("a worker's new hand-off line first writes the lines opened before it", () => {
  // Worker 0's line opened first; when worker 1's closes, worker 0's must go out before
  // it, or `ms` would go backwards in the trace.
  const lines = traceLines((trace, at) => {
    at(0);
    trace.handOff(0);
    at(0.5);
    trace.handOff(1);
    at(1.6);
    trace.handOff(1); // worker 1's line closes: worker 0's (opened at 0) goes first
    at(1.7);
    trace.handOff(0);
    at(3);
    trace.runFinished();
  });
  assert.deepEqual(lines.map((line) => [line.ms, line.worker]), [
    [0, 0], [0.5, 1], [1.6, 1], [1.7, 0], [3, undefined]]);
  const times = lines.map((line) => line.ms);
  assert.deepEqual(times, [...times].sort((a, b) => a - b), "ms never goes backwards");
});

test("every trace line has `trace` and `ms` first, then its own fields", () => {
  const lines = traceLines((trace, at) => {
    at(1.23456789); // to the microsecond: 1.235
    trace.runStarted();
    trace.attemptStarted(0, 1);
    trace.socket(0, 1, "connected");
    trace.attemptFinished(0, 1, "answered");
    trace.lookupStarted("Tromsø");
    trace.lookupFinished("Tromsø", false);
    trace.handOff(3);
    trace.runFinished();
  });
  assert.deepEqual(lines.map((line) => Object.keys(line)), [
    ["trace", "ms"],
    ["trace", "ms", "source", "attempt"],
    ["trace", "ms", "source", "attempt", "phase"],
    ["trace", "ms", "source", "attempt", "outcome"],
    ["trace", "ms", "station"],
    ["trace", "ms", "station", "known"],
    ["trace", "ms", "worker", "records"],
    ["trace", "ms"],
  ]);
  assert.deepEqual(lines.map((line) => line.trace), ["run_started", "attempt_started",
    "socket", "attempt_finished", "lookup_started", "lookup_finished", "handed_off",
    "run_finished"]);
  assert.ok(lines.every((line) => line.ms === 1.235), JSON.stringify(lines));
  assert.deepEqual(lines[5], { trace: "lookup_finished", ms: 1.235, station: "Tromsø",
    known: false });
});

test("a disabled trace writes nothing", () => {
  const written = capturingStandardError((at) => {
    const trace = new spec.Trace(false);
    trace.runStarted();
    trace.handOff(0);
    at(5);
    trace.handOff(0);
    trace.flush();
    trace.runFinished();
  });
  assert.equal(written, "");
});
