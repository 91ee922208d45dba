// Chapter 13: fetch-with-retry with async/await. Run: node async_await.js
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

// The feed, cancellable through an AbortSignal (Promises have no cancellation of their own).
function callFeed(source, attempt, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (source.fault === "hang") return;
      const fails = source.fault === "always" || (source.fault === "first" && attempt === 1);
      if (fails) reject(new Error("error"));
      else resolve(`body of ${source.name}`);
    }, source.latencyMs);
    signal.addEventListener("abort", () => clearTimeout(timer));
  });
}

// One attempt with a deadline: AbortSignal.timeout is the standard timer that aborts.
async function attemptOnce(source, attempt) {
  const deadline = AbortSignal.timeout(TIMEOUT_MS);
  const timedOut = new Promise((_, reject) =>
    deadline.addEventListener("abort", () => reject(new Error("timeout"))),
  );
  const cancel = new AbortController();
  try {
    return await Promise.race([callFeed(source, attempt, cancel.signal), timedOut]);
  } finally {
    cancel.abort(); // stop the feed's timer if it lost
  }
}

// Reads like the sequential reference: a loop, a try, a return.
async function fetchWithRetry(source) {
  for (let attempt = 1; ; attempt++) {
    try {
      const body = await attemptOnce(source, attempt);
      return { outcome: "answered", attempts: attempt, body };
    } catch (err) {
      if (attempt === MAX_ATTEMPTS) return { outcome: err.message, attempts: attempt };
    }
  }
}

async function main() {
  const results = await Promise.all(SOURCES.map(fetchWithRetry));
  results.forEach((result, index) => {
    const plural = result.attempts === 1 ? "" : "s";
    console.log(`${SOURCES[index].name}: ${result.outcome} after ${result.attempts} attempt${plural}`);
  });
}

main();
