// Chapter 13: fetch-with-retry with Node-style callbacks. Run: node callbacks.js
// Executed and checked by `cargo test -p rosetta-book-examples --test listings`.
"use strict";

const TIMEOUT_MS = 100;
const MAX_ATTEMPTS = 2; // the first attempt and one retry
const SOURCES = [
  { name: "oslo-feed", latencyMs: 30, fault: "none" },
  { name: "flaky-feed", latencyMs: 40, fault: "first" },
  { name: "down-feed", latencyMs: 10, fault: "always" },
  { name: "hanging-feed", latencyMs: 12, fault: "hang" },
  { name: "too-slow-feed", latencyMs: 225, fault: "none" },
];

// The "network": calls back (err, body) after the latency; a hanging feed never calls back.
function callFeed(source, attempt, callback) {
  return setTimeout(() => {
    if (source.fault === "hang") return;
    const fails = source.fault === "always" || (source.fault === "first" && attempt === 1);
    if (fails) callback(new Error("error"));
    else callback(null, `body of ${source.name}`);
  }, source.latencyMs);
}

// One attempt: the feed raced against a timer. The winner clears the loser's timer.
function attemptOnce(source, attempt, callback) {
  let done = false;
  const answer = callFeed(source, attempt, (err, body) => {
    if (done) return;
    done = true;
    clearTimeout(timeout);
    callback(err, body);
  });
  const timeout = setTimeout(() => {
    if (done) return;
    done = true;
    clearTimeout(answer); // a hanging feed's timer must not keep the process alive
    callback(new Error("timeout"));
  }, TIMEOUT_MS);
}

// Error-first continuation; the retry is a named function calling itself (no nesting).
function fetchWithRetry(source, attempt, callback) {
  attemptOnce(source, attempt, (err, body) => {
    if (!err) return callback(null, { attempts: attempt, body });
    if (attempt === MAX_ATTEMPTS) return callback(err, { attempts: attempt });
    fetchWithRetry(source, attempt + 1, callback);
  });
}

// All sources at once; a countdown calls `done` when the last one has answered.
function fetchAll(sources, done) {
  const results = new Array(sources.length);
  let remaining = sources.length;
  sources.forEach((source, index) => {
    fetchWithRetry(source, 1, (err, result) => {
      results[index] = { err, result };
      remaining -= 1;
      if (remaining === 0) done(results);
    });
  });
}

fetchAll(SOURCES, (results) => {
  results.forEach(({ err, result }, index) => {
    const outcome = err ? err.message : "answered";
    const plural = result.attempts === 1 ? "" : "s";
    console.log(`${SOURCES[index].name}: ${outcome} after ${result.attempts} attempt${plural}`);
  });
});
