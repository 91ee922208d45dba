"""Chapter 13: fetch-with-retry with Python's asyncio. Run: python3 asyncio_pipeline.py

Executed and checked by `cargo test -p rosetta-book-examples --test listings`.
"""

import asyncio

TIMEOUT_S = 0.100
MAX_ATTEMPTS = 2
SOURCES = [
    ("oslo-feed", 0.030, "none"),
    ("flaky-feed", 0.040, "first"),
    ("down-feed", 0.010, "always"),
    ("hanging-feed", 0.012, "hang"),
    ("too-slow-feed", 0.225, "none"),
]


class FeedError(Exception):
    """The feed answered with an error."""


async def call_feed(name, latency_s, fault, attempt):
    """The "network": answers after the latency; a hanging feed never does."""
    await asyncio.sleep(latency_s)
    if fault == "hang":
        await asyncio.Event().wait()  # never set
    if fault == "always" or (fault == "first" and attempt == 1):
        raise FeedError("error")
    return f"body of {name}"


async def fetch_with_retry(name, latency_s, fault):
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            # wait_for cancels the feed's coroutine when the timeout wins, like dropping a
            # Rust future (but by raising CancelledError inside it, which it could catch).
            body = await asyncio.wait_for(call_feed(name, latency_s, fault, attempt), TIMEOUT_S)
            return ("answered", attempt, body)
        except asyncio.TimeoutError:
            outcome = "timeout"
        except FeedError:
            outcome = "error"
    return (outcome, MAX_ATTEMPTS, None)


async def main():
    # gather returns the results in argument order; awaiting the tasks again is not needed.
    results = await asyncio.gather(*(fetch_with_retry(*source) for source in SOURCES))
    for (name, _, _), (outcome, attempts, _) in zip(SOURCES, results):
        plural = "" if attempts == 1 else "s"
        print(f"{name}: {outcome} after {attempts} attempt{plural}")


if __name__ == "__main__":
    asyncio.run(main())
