"""The pipeline in the `python-asyncio` style: coroutines and tasks on an event
loop.

Usage: python3 asyncio_pipeline.py FEEDS_URL [--run ID] [--trace]

Python's asyncio is the closest relative of Rust's async/await
(`crates/async-await`): an `async def` is a coroutine that does nothing until it
is awaited or wrapped in a task, and an event loop runs the tasks, one at a
time, on one thread, switching only at an `await`. Read this file next to
`crates/async-await/src/` (`lib.rs`, `fetch.rs`, `cache.rs`, `workers.rs`): the
steps have the same names and the same shape. What this file computes comes from
`spec.py` (parsing, hashing, tallies, the report, the trace); this file only
waits.

The tools, and why each one:

- **Tasks in a `TaskGroup`** for each source and each worker. A task starts
  running at the loop's next turn, without being awaited (unlike a Rust future,
  which does nothing until polled). The group waits for all of them, and if one
  fails it cancels the others: no task outlives the run. (Python 3.11; before
  it, `gather` did the waiting and not the cleanup.)
- **An `asyncio.Semaphore`** for the `concurrency` slots, taken by each source's
  task around its fetch only (see `process_source`).
- **`asyncio.timeout`** around each whole attempt: when the deadline passes, it
  *cancels* the task, by raising `CancelledError` inside it at the `await` where
  it waits, and turns that into a `TimeoutError` at the block's end. Rust drops
  the future instead; Python's coroutine is told, and could catch it (it must
  not).
- **asyncio streams** (`asyncio.open_connection`) for the sockets: a
  non-blocking socket registered with the loop's selector (epoll on Linux),
  behind a reader and a writer whose methods are awaited. Readiness, as in the
  Rust reactors: the loop reads when the kernel says bytes have arrived, into
  the reader's buffer.
- **A dict of tasks** as the single-flight cache: one lookup task per station,
  awaited by every source that needs that station.
- **An `asyncio.Queue(maxsize=channel_capacity)`** per worker: `put` waits while
  the queue is full, which is backpressure without a line of code.

The run is the contract in `crates/other-languages/README.md`: fetch the plan,
run the five steps against the feed server, print the report as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

import spec

#: How long the plan may take: it comes from a server on loopback, so this only
#: bounds a server that accepted the connection and never answers.
PLAN_TIMEOUT_S = 10.0

#: Every way an exchange can fail short of its deadline, all of them an `error`
#: outcome: a refused or reset connection (`OSError`), a close before the head
#: or the body is complete (`IncompleteReadError`), a head over `MAX_HEAD_BYTES`
#: (`LimitOverrunError`), a malformed head or a body that is not UTF-8
#: (`MalformedResponse`).
EXCHANGE_ERRORS = (
    OSError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    spec.MalformedResponse,
)


@dataclass(frozen=True)
class Response:
    """A complete response: its status and its body."""

    status: int
    body: str

    @property
    def is_success(self) -> bool:
        """Only a `2xx` response carries the feed."""
        return 200 <= self.status < 300


@dataclass
class RunContext:
    """Everything the tasks of one run share. Tasks on one event loop share
    memory safely: only one runs at a time, and only at an `await` can another
    take over."""

    plan: spec.Plan
    feeds: spec.FeedServer
    run_id: str
    trace: spec.Trace
    cache: SingleFlightCache
    #: Each worker's bounded queue, by worker index; `None` is the end of the
    #: records.
    queues: list[asyncio.Queue[spec.Enriched | None]]


# ANCHOR: main
async def run_pipeline(
    plan: spec.Plan, feeds: spec.FeedServer, run_id: str, trace: spec.Trace
) -> dict[str, object]:
    """The five steps: workers first, then a task per source, then the merge."""
    queues: list[asyncio.Queue[spec.Enriched | None]] = [
        asyncio.Queue(maxsize=plan.channel_capacity)
        for _ in range(plan.workers)
    ]
    cache = SingleFlightCache(plan.registry, plan.lookup_s, trace)
    run = RunContext(plan, feeds, run_id, trace, cache, queues)
    slots = asyncio.Semaphore(plan.concurrency)
    # Two groups, one inside the other: if a worker fails, the outer group
    # cancels the body below it, and so the inner group and every source,
    # instead of leaving a source waiting forever on a full queue that nobody
    # reads.
    async with asyncio.TaskGroup() as everything:
        # The workers start first, so that the first record has somewhere to go.
        workers = [everything.create_task(worker(queue)) for queue in queues]
        # Steps 1 to 4, one task per source, created in file order.
        async with asyncio.TaskGroup() as fetching:
            sources = [
                fetching.create_task(process_source(run, index, slots))
                for index in range(len(plan.sources))
            ]
        # Every source is done, so every record has been handed off: one `None`
        # per queue tells its worker that nothing follows. It queues behind the
        # records, so no record is left behind.
        for queue in queues:
            await queue.put(None)
    # 5. Merge. Both groups have ended, so every task has finished and
    #    `result()` returns at once.
    fetches = [source.result()[0] for source in sources]
    rejected = [line for source in sources for line in source.result()[1]]
    tallies = [task.result() for task in workers]
    trace.event("run_finished")
    return spec.assemble_report(plan, fetches, rejected, cache.lookups, tallies)
# ANCHOR_END: main


# ANCHOR: slots
async def process_source(
    run: RunContext, index: int, slots: asyncio.Semaphore
) -> tuple[spec.FetchSummary, list[spec.Rejection]]:
    """One source, from its first attempt to its last record handed off.

    Sources start in file order although every task waits for a slot: tasks run
    their first step in the order they were created (the loop's ready queue is
    first in, first out), so they ask for slots in file order; and a semaphore's
    waiters are woken first in, first out, so they get them in that order too.
    At most `concurrency` hold a slot, so at most `concurrency` attempts are in
    flight.
    """
    async with slots:
        # 1. Fetch, with retries and timeouts, in this slot.
        fetch, body = await fetch_with_retry(run, index)
    # The slot is given back here, when the fetch ends: the next source starts
    # fetching while this one's records are enriched and handed off.
    if body is None:
        return fetch, []
    # 2 to 4. Parse, enrich through the cache, and hand each record to its
    # worker.
    return fetch, await hand_off(run, index, body)
# ANCHOR_END: slots


# ANCHOR: fetch
async def fetch_with_retry(
    run: RunContext, index: int
) -> tuple[spec.FetchSummary, str | None]:
    """Fetches source `index`: up to `retries + 1` attempts, a failed one
    retried at once, in the same slot."""
    for number in range(1, run.plan.max_attempts + 1):
        run.trace.event("attempt_started", source=index, attempt=number)
        outcome, body = await attempt(run, index, number)
        finished = {"source": index, "attempt": number, "outcome": outcome}
        run.trace.event("attempt_finished", **finished)
        if outcome == "answered":
            return spec.FetchSummary(attempts=number, failure=None), body
    # Every attempt failed: the source fails with the reason of the last one.
    summary = spec.FetchSummary(
        attempts=run.plan.max_attempts, failure=outcome
    )
    return summary, None


async def attempt(
    run: RunContext, index: int, number: int
) -> tuple[str, str | None]:
    """Attempt `number` of source `index`: the outcome, and the body if it
    answered."""

    def reached(phase: str) -> None:
        run.trace.event("socket", source=index, attempt=number, phase=phase)

    path = spec.feed_path(run.run_id, run.plan.sources[index])
    try:
        response = await exchange(run.feeds, path, run.plan.timeout_s, reached)
    # First: since Python 3.11, `TimeoutError` (which `asyncio.timeout` raises)
    # is a subclass of `OSError`, so the next clause would also catch it.
    except TimeoutError:
        return "timeout", None
    except EXCHANGE_ERRORS:
        return "error", None
    if not response.is_success:
        return "error", None
    return "answered", response.body
# ANCHOR_END: fetch


# ANCHOR: exchange
# ANCHOR: exchange_send
async def exchange(
    feeds: spec.FeedServer,
    path: str,
    limit_s: float,
    reached: Callable[[str], None] = lambda phase: None,
) -> Response:
    """`GET path` on its own connection, all within `limit_s` seconds of now.

    One deadline over the whole exchange: connecting, writing or a server that
    trickles its answer a byte at a time cannot extend it, since no single step
    has a timeout of its own.
    """
    writer = None
    try:
        # Cancellation happens here. When the deadline passes, `asyncio.timeout`
        # calls `cancel()` on this task, and `CancelledError` is raised inside
        # it, at the `await` below that it is waiting on (connecting, draining,
        # reading). It unwinds to the end of this block, which turns it into
        # `TimeoutError`. Nothing in between may swallow it: `CancelledError` is
        # a `BaseException`, so `except Exception` lets it pass, but a bare
        # `except:` would keep the attempt waiting past its deadline.
        async with asyncio.timeout(limit_s):
            reader, writer = await asyncio.open_connection(
                feeds.host, feeds.port, limit=spec.MAX_HEAD_BYTES
            )
            reached("connected")
            writer.write(feeds.request(path))
            # Waits only if the socket's send buffer is full.
            await writer.drain()
            reached("request_sent")
            # ANCHOR_END: exchange_send
            # ANCHOR: exchange_read
            # Waits for the first byte of the answer; b"" means the server
            # closed first.
            first = await reader.read(1)
            if not first:
                raise asyncio.IncompleteReadError(partial=b"", expected=None)
            reached("first_byte")
            head = spec.parse_head(first + await reader.readuntil(b"\r\n\r\n"))
            body = await reader.readexactly(head.content_length)
            return Response(head.status, spec.decode_body(body))
    finally:
        # Outside the deadline, and on every path: answered, failed or
        # cancelled. A hanging feed server sees the close and stops waiting.
        if writer is not None:
            await close(writer)
# ANCHOR_END: exchange_read
# ANCHOR_END: exchange


async def close(writer: asyncio.StreamWriter) -> None:
    """Closes the connection and waits until the socket is closed."""
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass  # A reset, reported again here: the socket is closed all the same.


# ANCHOR: cache
# ANCHOR: cache_init
class SingleFlightCache:
    """Station to region, each station looked up once, however many sources ask
    at once.

    The cache holds a *task* per station, not a region: the first asker starts
    the lookup, and every asker, first or later, awaits the same task. No lock
    is needed: between the `get` and the assignment in `region_of` there is no
    `await`, so no other task can run in between and start a second lookup of
    the same station.
    """

    def __init__(
        self, registry: dict[str, str], lookup_s: float, trace: spec.Trace
    ):
        self._registry = registry
        self._lookup_s = lookup_s
        self._trace = trace
        self._lookups: dict[str, asyncio.Task[str | None]] = {}

    @property
    def lookups(self) -> int:
        """Lookups started: one per station ever asked for."""
        return len(self._lookups)

    # ANCHOR_END: cache_init
    # ANCHOR: cache_region_of
    def region_of(self, station: str) -> asyncio.Future[str | None]:
        """The region of `station` to await (`None`: unknown to the registry).

        A future, not a coroutine: `gather` would wrap each coroutine in a task
        of its own, and most answers are cached ones, which need no task at
        all."""
        lookup = self._lookups.get(station)
        if lookup is None:
            lookup = asyncio.create_task(self._look_up(station))
            # The dict also holds the reference that keeps the task alive: the
            # event loop itself keeps only a weak one.
            self._lookups[station] = lookup
        # `shield`: were this asker cancelled, awaiting the task directly would
        # cancel the lookup that every other asker of this station is waiting
        # for, too. (Of a finished lookup, `shield` returns the task itself:
        # nothing left to protect.)
        return asyncio.shield(lookup)

    async def _look_up(self, station: str) -> str | None:
        self._trace.event("lookup_started", station=station)
        await asyncio.sleep(self._lookup_s)
        region = self._registry.get(station)
        self._trace.event(
            "lookup_finished", station=station, known=region is not None
        )
        return region
# ANCHOR_END: cache_region_of
# ANCHOR_END: cache


# ANCHOR: workers
async def hand_off(
    run: RunContext, index: int, body: str
) -> list[spec.Rejection]:
    """Parses and enriches source `index`'s body, and hands each record to its
    worker; returns its rejected lines and records."""
    # Pass 1: the body's distinct stations, looked up all at once (`gather` runs
    # them together and returns their regions in the stations' order). Only
    # stations wait here, never records: see `rosetta_pipeline::enrich`.
    survey = spec.survey(index, body)
    found = await asyncio.gather(*map(run.cache.region_of, survey.stations))
    regions = dict(zip(survey.stations, found))
    # Each station's worker, hashed once per station rather than once per
    # record.
    workers = len(run.queues)
    worker_of = {
        station: spec.worker_for(station, workers) for station in regions
    }
    rejected = survey.rejected
    # Pass 2: each record, in line order, to its worker's queue. `put` returns
    # at once while the queue has room, and waits while it is full:
    # backpressure.
    for item in spec.enrich(index, body, regions):
        if isinstance(item, spec.Rejection):
            rejected.append(item)  # Unknown station.
            continue
        worker_index = worker_of[item.record.station]
        await run.queues[worker_index].put(item)
        run.trace.hand_off(worker_index)
    return rejected


async def worker(
    inbox: asyncio.Queue[spec.Enriched | None],
) -> spec.WorkerTally:
    """One worker: adds every record from its queue to its tally, until the
    `None`."""
    tally = spec.WorkerTally()
    while (record := await inbox.get()) is not None:
        tally.add(record)
    return tally
# ANCHOR_END: workers


async def run_program(options: spec.Options, trace: spec.Trace) -> int:
    """Fetches the plan, runs the pipeline, prints the report: the exit
    status."""
    path = spec.plan_path(options.run_id)
    url = options.feeds.base_url + path
    try:
        response = await exchange(options.feeds, path, PLAN_TIMEOUT_S)
    except TimeoutError:
        reason = f"no answer within {PLAN_TIMEOUT_S:g} s"
        return fail(f"could not fetch the plan {url}: {reason}")
    except EXCHANGE_ERRORS as error:
        return fail(f"could not fetch the plan {url}: {describe(error)}")
    try:
        if not response.is_success:
            raise spec.PlanError(f"the server answered status {response.status}")
        plan = spec.Plan.from_json(response.body)
    except spec.PlanError as error:
        return fail(f"the plan {url} cannot be used: {error}")
    trace.event("run_started")
    try:
        report = await run_pipeline(plan, options.feeds, options.run_id, trace)
    finally:
        trace.flush()  # Hand-offs not yet written, if the run failed halfway.
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


def describe(error: BaseException) -> str:
    """An exception as one line: its type, and its message when it has one."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def fail(message: str) -> int:
    """Says why on standard error, in one line, and returns the exit status
    1."""
    print(f"asyncio_pipeline.py: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """The program: the command line (exit 2 if it is wrong), then the run."""
    options = spec.parse_command_line(argv, prog="asyncio_pipeline.py")
    trace = spec.Trace(enabled=options.trace)  # `ms` counts from here.
    return asyncio.run(run_program(options, trace))


if __name__ == "__main__":
    sys.exit(main())
