// Chapter 13: fetch-with-retry with Promise chains. Run: node promises.js
// Executed and checked by `cargo test -p rosetta-book-examples --test listings`.
"use strict";

const TIMEOUT_MS = 100;
const MAX_ATTEMPTS = 2;
const SOURCES = [
  { name: "oslo-feed", latencyMs: 30, fault: "none" },
  { name: "flaky-feed", latencyMs: 40, fault: "first" },
  { name: "down-feed", latencyMs: 10, fault: "always" },
  { name: "hanging-feed", latencyMs: 12, fault: "hang" },
  { name: "too-slow-feed", latencyMs: 225, fault: "none" },
];

// The "network" as a Promise. It is eager: the timer starts here, when the Promise is made.
// It returns its timer too, because a Promise cannot be cancelled: only its timer can be.
function callFeed(source, attempt) {
  let timer;
  const promise = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      if (source.fault === "hang") return; // never settles
      const fails = source.fault === "always" || (source.fault === "first" && attempt === 1);
      if (fails) reject(new Error("error"));
      else resolve(`body of ${source.name}`);
    }, source.latencyMs);
  });
  return { promise, timer };
}

// One attempt: Promise.race against a timeout. The loser is not cancelled by the race; we
// clear both timers in `finally` so that nothing keeps running for nobody.
function attemptOnce(source, attempt) {
  const feed = callFeed(source, attempt);
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), TIMEOUT_MS);
  });
  return Promise.race([feed.promise, timeout]).finally(() => {
    clearTimeout(timer);
    clearTimeout(feed.timer);
  });
}

// The retry as a chain: `.then` on success, `.catch` to try again or give up.
function fetchWithRetry(source, attempt = 1) {
  return attemptOnce(source, attempt)
    .then((body) => ({ outcome: "answered", attempts: attempt, body }))
    .catch((err) =>
      attempt === MAX_ATTEMPTS
        ? { outcome: err.message, attempts: attempt }
        : fetchWithRetry(source, attempt + 1),
    );
}

// Promise.all keeps the input order, whatever order the fetches finish in.
Promise.all(SOURCES.map((source) => fetchWithRetry(source))).then((results) => {
  results.forEach((result, index) => {
    const plural = result.attempts === 1 ? "" : "s";
    console.log(`${SOURCES[index].name}: ${result.outcome} after ${result.attempts} attempt${plural}`);
  });
});
