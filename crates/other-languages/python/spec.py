"""The specification as Python: all that the pipeline computes, and nothing that waits.

This module is to `asyncio_pipeline.py` what `crates/pipeline` is to the Rust styles:
the rules of Appendix D (`book/src/specification.md`) written once, as pure functions
and plain data, with no event loop, no socket and no sleep in them. The style file holds
orchestration only (tasks, streams, queues, timeouts), so reading it shows how asyncio
waits, not how a line of a feed is parsed.

What is here, in the pipeline's order:

- the command line (`parse_command_line`): `FEEDS_URL [--run ID] [--trace]`, loopback
  only;
- the plan (`Plan.from_json`), the request and its URL path (`percent_encode`), and the
  head of an HTTP/1.1 response (`parse_head`), read the way `rosetta_pipeline::http`
  reads it;
- step 2, parsing (`parse_lines`), and the two passes of `rosetta_pipeline::enrich`
  (`survey` and `enrich`);
- step 4, partitioning (`fnv1a32`, `worker_for`) and a worker's tally (`WorkerTally`);
- step 5, merging (`merge`, `mean_tenths`) and the report (`assemble_report`);
- the trace writer (`Trace`): one JSON object per line on standard error.

Read next: `asyncio_pipeline.py`, which runs these steps on an asyncio event loop.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn, TextIO, TypeVar

T = TypeVar("T")

# --------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------

#: The hosts a feed server may be on. These programs talk to loopback only: a URL naming
#: any other host is refused before a single socket is opened.
LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}

#: A run id: 1 to 64 characters of `A-Z a-z 0-9 _ -`. Written with explicit ASCII ranges
#: and matched with `re.fullmatch`, for the reasons given at `TEMPERATURE` below.
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class FeedServer:
    """Where the feed server is: an address to connect to, and a URL to name it by."""

    #: The address to connect to, an IP literal (`localhost` is mapped to `127.0.0.1`
    #: once here: resolving it for every attempt would cost a thread-pool round trip
    #: each time, and a hosts file could point it somewhere else).
    host: str
    #: The TCP port.
    port: int
    #: `http://127.0.0.1:7878`, without a final `/`: for messages.
    base_url: str

    @property
    def host_header(self) -> str:
        """The `Host` header's value: `127.0.0.1:7878`, or `[::1]:7878` for IPv6."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def request(self, path: str) -> bytes:
        """The whole request for `path`: one `GET` on a connection of its own."""
        return (
            f"GET {path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
            "Connection: close\r\n\r\n"
        ).encode("ascii")


def feed_server(url: str) -> FeedServer:
    """Reads a feed server's base URL, refusing anything but plain HTTP on loopback.

    Raises `ValueError` with a one-line message saying what is wrong.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"{url!r} is not an http:// URL")
    try:
        port = parts.port  # `ValueError` if the port is not a number from 0 to 65535
    except ValueError:
        raise ValueError(f"{url!r} has no valid port") from None
    if port == 0:
        raise ValueError(f"{url!r} has port 0, which nothing listens on")
    if parts.username is not None or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: a feed server's URL has no user, query or fragment")
    if parts.path not in ("", "/"):
        raise ValueError(f"{url!r}: give the server's base URL, without a path")
    # `hostname` is lowercased and has IPv6 brackets removed: `[::1]` reads as `::1`.
    host = LOOPBACK_HOSTS.get(parts.hostname or "")
    if host is None:
        raise ValueError(
            f"{url!r} is not on loopback: these programs connect to 127.0.0.1, "
            "localhost or [::1] only"
        )
    base_url = f"http://{parts.netloc}"
    return FeedServer(host=host, port=port or 80, base_url=base_url)


@dataclass(frozen=True)
class Options:
    """The command line, checked."""

    feeds: FeedServer
    run_id: str
    trace: bool


class OneLineParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line, as the contract asks.

    argparse prints the usage, then the error, on two lines; `rosetta` shows a failing
    program's standard error to people, and one line reads best there.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def parse_command_line(
    argv: list[str] | None = None, prog: str | None = None
) -> Options:
    """`FEEDS_URL [--run ID] [--trace]`; a wrong one exits with status 2 and a line."""
    parser = OneLineParser(
        prog=prog,
        description="The pipeline, fetching from a feed server on loopback.",
    )
    parser.add_argument("feeds_url", metavar="FEEDS_URL", help="http://127.0.0.1:PORT")
    parser.add_argument(
        "--run",
        metavar="ID",
        help="the run to fetch (1 to 64 of A-Z a-z 0-9 _ -); default: a new random one",
    )
    parser.add_argument(
        "--trace", action="store_true", help="write trace events to standard error"
    )
    arguments = parser.parse_args(argv)
    try:
        feeds = feed_server(arguments.feeds_url)
    except ValueError as error:
        parser.error(str(error))
    run_id = arguments.run
    if run_id is None:
        # A server started with a default scenario serves any unknown id as a fresh run.
        run_id = f"py-{secrets.token_hex(8)}"
    elif not RUN_ID.fullmatch(run_id):
        parser.error(f"--run {run_id!r}: a run id is 1 to 64 of A-Z a-z 0-9 _ -")
    return Options(feeds=feeds, run_id=run_id, trace=arguments.trace)


# --------------------------------------------------------------------------------------
# The plan, the request paths, and the response head
# --------------------------------------------------------------------------------------


class PlanError(ValueError):
    """The plan is not JSON, or not shaped like a plan."""


@dataclass(frozen=True)
class Plan:
    """What the feed server tells a client of one run: `GET /runs/{ID}/plan.json`.

    The settings were filled in and validated once, in Rust, when the server was given
    its scenario; so this checks only that each key is there with the right type, and
    carries no second copy of the defaults or of the validation.
    """

    time_scale: float
    name: str
    concurrency: int
    workers: int
    timeout_ms: int
    retries: int
    lookup_ms: int
    channel_capacity: int
    #: Station to region.
    registry: dict[str, str]
    #: The sources' names, in file order.
    sources: list[str]

    @property
    def max_attempts(self) -> int:
        """A first attempt, then up to `retries` more."""
        return self.retries + 1

    @property
    def timeout_s(self) -> float:
        """The limit of one attempt in real seconds: scenario ms times the scale."""
        return self.timeout_ms * self.time_scale / 1000

    @property
    def lookup_s(self) -> float:
        """How long one registry lookup takes, in real seconds."""
        return self.lookup_ms * self.time_scale / 1000

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Reads a plan; raises `PlanError` saying what is missing or wrong."""
        try:
            plan = json.loads(text)
            settings = plan["settings"]
            return cls(
                time_scale=_number(plan["time_scale"]),
                name=_typed(plan["name"], str),
                **{key: _count(settings[key]) for key in _SETTINGS},
                registry={
                    _typed(station, str): _typed(region, str)
                    for station, region in _typed(plan["registry"], dict).items()
                },
                sources=[_typed(name, str) for name in _typed(plan["sources"], list)],
            )
        except json.JSONDecodeError as error:
            raise PlanError(f"not JSON: {error}") from None
        except KeyError as error:
            raise PlanError(f"no key {error} in the plan") from None
        except (TypeError, ValueError) as error:
            raise PlanError(f"a value of the wrong type: {error}") from None


_SETTINGS = (
    "concurrency",
    "workers",
    "timeout_ms",
    "retries",
    "lookup_ms",
    "channel_capacity",
)


def _typed(value: object, kind: type[T]) -> T:
    if not isinstance(value, kind):
        raise TypeError(f"{value!r} is not a {kind.__name__}")
    return value


def _count(value: object) -> int:
    # `bool` is a subclass of `int` in Python: `true` is not a count.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{value!r} is not a whole number")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise TypeError(f"{value!r} is not a time scale")
    return float(value)


def percent_encode(name: str) -> str:
    """A name as one URL path segment, as the Rust styles write it: each byte of its
    UTF-8 outside `A-Z a-z 0-9 - . _ ~` becomes `%XX`. `safe=""` matters: by default
    `quote` leaves `/` alone, which would split a feed named `a/b` into two segments."""
    return urllib.parse.quote(name, safe="")


def plan_path(run_id: str) -> str:
    """The plan's path on the feed server."""
    return f"/runs/{run_id}/plan.json"


def feed_path(run_id: str, source: str) -> str:
    """A feed's path on the feed server."""
    return f"/runs/{run_id}/feeds/{percent_encode(source)}"


#: The longest response head accepted, as `rosetta_pipeline::http::MAX_HEAD_BYTES`.
MAX_HEAD_BYTES = 16 * 1024
#: The largest body accepted (the largest scenario file), checked before a byte is read.
MAX_BODY_BYTES = 64 * 1024 * 1024

#: `HTTP/1.1 200 OK`: the version, a three-digit status, and a reason (possibly empty).
STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: [^\r\n]*)?")
#: `Name: value`: a token, a colon, the value with the spaces around it not kept.
HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")


class MalformedResponse(ValueError):
    """The response is not one this client reads: an `error` outcome."""


@dataclass(frozen=True)
class Head:
    """A response head: its status, and how many body bytes follow it."""

    status: int
    content_length: int

    @property
    def is_success(self) -> bool:
        """Only a `2xx` response carries the feed."""
        return 200 <= self.status < 300


def parse_head(head: bytes) -> Head:
    """Reads a response head: the bytes up to and including the empty line that ends it.

    Accepts what the feed server sends and nothing looser, like
    `rosetta_pipeline::http`: a `Content-Length` (repeated only with the same value), no
    `Transfer-Encoding`, a body of at most `MAX_BODY_BYTES`. Raises `MalformedResponse`
    otherwise.
    """
    lines = head.split(b"\r\n")
    status_line = STATUS_LINE.fullmatch(lines[0])
    if status_line is None:
        raise MalformedResponse(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    lengths = set()
    # The head ends with an empty line, so the last two pieces of the split are empty.
    for line in lines[1:-2]:
        header = HEADER_LINE.fullmatch(line)
        if header is None:
            raise MalformedResponse(f"not a header line: {line[:80]!r}")
        name, value = header[1].lower(), header[2]
        if name == b"transfer-encoding":
            raise MalformedResponse("a Transfer-Encoding; this client reads by length")
        if name == b"content-length":
            if not re.fullmatch(rb"[0-9]{1,20}", value):
                raise MalformedResponse(f"Content-Length {value[:80]!r}: not a number")
            lengths.add(int(value))
    if len(lengths) != 1:
        problem = "two different" if lengths else "no"
        raise MalformedResponse(f"{problem} Content-Length")
    (length,) = lengths
    if length > MAX_BODY_BYTES:
        raise MalformedResponse(f"a body of {length} bytes, over {MAX_BODY_BYTES}")
    return Head(status=int(status_line[1]), content_length=length)


def decode_body(body: bytes) -> str:
    """A feed is UTF-8 text; a body that is not is a malformed response."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedResponse("the body is not UTF-8") from None


# --------------------------------------------------------------------------------------
# Step 2: parse
# --------------------------------------------------------------------------------------

MISSING_SEPARATOR = "missing ';'"
EMPTY_STATION = "empty station"
BAD_TEMPERATURE = "bad temperature"
UNKNOWN_STATION = "unknown station"

#: `-?[0-9]{1,2}\.[0-9]`, used with `re.fullmatch`, never `re.match` and `$`: `$` also
#: matches just before a final `\n`, so `"1.0\n"` would pass. And `[0-9]`, not `\d`: on
#: `str`, `\d` matches every script's decimal digits, so `"١.٠"` (Arabic-Indic) would
#: pass, and `int()` would even read it as 1.0.
TEMPERATURE = re.compile(r"-?[0-9]{1,2}\.[0-9]")


@dataclass(frozen=True, slots=True)
class Record:
    """One parsed line: a station and its temperature in integer tenths (`-3.5` is -35).

    Integers, never floats: float sums depend on the order of addition, and in a
    concurrent program that order changes from run to run.
    """

    source: int
    line: int
    station: str
    tenths: int


@dataclass(frozen=True, slots=True, order=True)
class Rejection:
    """A line (or record) left out of the statistics. `order=True` compares the fields
    in order, so sorting rejections sorts them by source, then line: the report's
    order."""

    source: int
    line: int
    reason: str


def parse_tenths(text: str) -> int | None:
    """`-3.5` as -35, or `None` if it is not written `-?[0-9]{1,2}\\.[0-9]`."""
    if not TEMPERATURE.fullmatch(text):
        return None
    # Without its point the text is a whole number of tenths: "-3.5" -> "-35", "05.5" ->
    # "055" (55), "-0.0" -> "-00" (0, Python has no negative zero integer).
    return int(text.replace(".", ""))


def parse_line(source: int, number: int, line: str) -> Record | Rejection:
    """Parses one non-empty line, `<station>;<temperature>`, split at the first `;`."""
    station, separator, temperature = line.partition(";")
    if not separator:
        return Rejection(source, number, MISSING_SEPARATOR)
    if not station:
        return Rejection(source, number, EMPTY_STATION)
    tenths = parse_tenths(temperature)
    if tenths is None:
        return Rejection(source, number, BAD_TEMPERATURE)
    return Record(source, number, station, tenths)  # The station verbatim, spaces too.


def parse_lines(source: int, body: str) -> Iterator[Record | Rejection]:
    """The non-empty lines of source number `source`'s body, parsed one at a time.

    Split on `"\\n"` only. `str.splitlines()` would be wrong here: it also splits on
    `\\r`, `\\v`, `\\f`, `\\x1c` to `\\x1e`, `\\x85`, `\\u2028` and `\\u2029`, so a
    station named with one of those would become two lines, and the line numbers would
    drift.
    """
    for number, line in enumerate(body.split("\n"), start=1):
        line = line.removesuffix("\r")  # One `\r` (CRLF files), not every trailing one.
        if not line:
            continue  # Skipped, but counted: line numbers stay those of the file.
        yield parse_line(source, number, line)


@dataclass
class Survey:
    """Pass 1 over a body: its distinct stations and rejected lines, nothing per record.

    The stations are what the body needs looked up (all at once, through the cache);
    pass 2 (`enrich`) then reads the body again, one record at a time. So only a
    *station* ever waits, never a record: see `rosetta_pipeline::enrich`.
    """

    #: Each station some record names, once, in order of first appearance.
    stations: list[str] = field(default_factory=list)
    #: The lines that did not parse, in line order.
    rejected: list[Rejection] = field(default_factory=list)


def survey(source: int, body: str) -> Survey:
    """Pass 1 over the body of source number `source`."""
    found = Survey()
    # A dict is a set that remembers insertion order, so its keys are the stations in
    # order of first appearance.
    stations: dict[str, None] = {}
    for parsed in parse_lines(source, body):
        if isinstance(parsed, Rejection):
            found.rejected.append(parsed)
        else:
            stations[parsed.station] = None
    found.stations = list(stations)
    return found


@dataclass(frozen=True, slots=True)
class Enriched:
    """A record that passed the registry lookup, with its region."""

    record: Record
    region: str


def enrich(
    source: int, body: str, regions: dict[str, str | None]
) -> Iterator[Enriched | Rejection]:
    """Pass 2: the body's records, parsed again line by line, each with its region.

    `regions` maps every surveyed station to its region, or to `None` when the registry
    does not know it: those records come out as `unknown station` rejections. Lines that
    did not parse are skipped: the survey already has them.
    """
    for parsed in parse_lines(source, body):
        if isinstance(parsed, Rejection):
            continue
        region = regions.get(parsed.station)
        if region is None:
            yield Rejection(parsed.source, parsed.line, UNKNOWN_STATION)
        else:
            yield Enriched(parsed, region)


# --------------------------------------------------------------------------------------
# Step 4: partition, and what a worker keeps
# --------------------------------------------------------------------------------------

FNV_OFFSET_BASIS = 2166136261
FNV_PRIME = 16777619


def fnv1a32(data: bytes) -> int:
    """FNV-1a, 32 bits: for each byte, xor it in, then multiply, wrapping at 2**32.

    Python's integers never overflow, so the wrapping is the `& 0xFFFFFFFF`.
    """
    hash_value = FNV_OFFSET_BASIS
    for byte in data:
        hash_value = ((hash_value ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return hash_value


def worker_for(station: str, workers: int) -> int:
    """The worker a station's records go to: its UTF-8 bytes' hash, modulo `workers`.

    Not Python's `hash()`: that is salted per process (PYTHONHASHSEED), and every style
    in every language must send a station to the same worker.
    """
    return fnv1a32(station.encode("utf-8")) % workers


@dataclass(slots=True)
class StationStats:
    """Running totals for one station, in integer tenths."""

    region: str
    count: int
    min: int
    max: int
    sum: int

    def combine(self, other: StationStats) -> None:
        """Adds another set of totals for the same station."""
        self.count += other.count
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.sum += other.sum


@dataclass
class WorkerTally:
    """Everything one worker has aggregated."""

    #: Totals per station.
    stations: dict[str, StationStats] = field(default_factory=dict)
    #: Records this worker received: its entry in the report's `partitions`.
    records: int = 0

    def add(self, enriched: Enriched) -> None:
        """Adds one enriched record."""
        self.records += 1
        station, tenths = enriched.record.station, enriched.record.tenths
        stats = self.stations.get(station)
        if stats is None:
            self.stations[station] = StationStats(
                enriched.region, count=1, min=tenths, max=tenths, sum=tenths
            )
        else:
            stats.count += 1
            stats.min = min(stats.min, tenths)
            stats.max = max(stats.max, tenths)
            stats.sum += tenths


# --------------------------------------------------------------------------------------
# Step 5: merge, and the report
# --------------------------------------------------------------------------------------


def merge(tallies: list[WorkerTally]) -> dict[str, StationStats]:
    """The workers' tallies combined per station (a station is in one partition only,
    but merging does not rely on it). Integer addition is associative: the totals do not
    depend on the order in which records arrived."""
    merged: dict[str, StationStats] = {}
    for tally in tallies:
        for station, stats in tally.stations.items():
            total = merged.get(station)
            if total is None:
                merged[station] = StationStats(
                    stats.region, stats.count, stats.min, stats.max, stats.sum
                )
            else:
                total.combine(stats)
    return merged


def mean_tenths(total: int, count: int) -> int:
    """`total / count` rounded to the nearest tenth, ties away from zero, in integers.

    `round()` would not do: it rounds ties to even (`round(0.5) == 0`), and through a
    float. `floor((2|s| + c) / 2c)` is `|s| / c` rounded half up; the sign goes back
    afterwards.
    """
    magnitude = (2 * abs(total) + count) // (2 * count)
    return -magnitude if total < 0 else magnitude


def temperature(tenths: int) -> float:
    """Tenths as the report's number: -35 -> -3.5. `json` writes a float with its
    shortest round-tripping form, so -10 is written `-1.0` and 20 is `2.0`, as the Rust
    report does."""
    return tenths / 10


@dataclass(frozen=True)
class FetchSummary:
    """How fetching one source went."""

    #: Attempts made, from 1.
    attempts: int
    #: `None` if the last attempt answered, else its outcome: `"timeout"` or `"error"`.
    failure: str | None


def assemble_report(
    plan: Plan,
    fetches: list[FetchSummary],
    rejected: list[Rejection],
    lookups: int,
    tallies: list[WorkerTally],
) -> dict[str, object]:
    """The report, with the specification's keys in its order (a `dict` keeps insertion
    order, and `json.dumps` writes the keys in that order).

    `fetches` has one summary per source in plan order, `tallies` one per worker by
    index; `rejected` may be in any order: it is sorted here.
    """
    accepted = sum(tally.records for tally in tallies)
    unknown = sum(1 for rejection in rejected if rejection.reason == UNKNOWN_STATION)
    merged = merge(tallies)
    return {
        "scenario": plan.name,
        "sources_ok": sum(1 for fetch in fetches if fetch.failure is None),
        "sources_failed": [
            {
                "source": plan.sources[index],
                "reason": fetch.failure,
                "attempts": fetch.attempts,
            }
            for index, fetch in enumerate(fetches)
            if fetch.failure is not None
        ],
        "attempts": sum(fetch.attempts for fetch in fetches),
        "accepted": accepted,
        "rejected": [
            {"source": plan.sources[r.source], "line": r.line, "reason": r.reason}
            for r in sorted(rejected)
        ],
        "lookups": lookups,
        # Parsed records (accepted, or rejected as unknown) whose region came from the
        # cache. Never below zero: a cache that looked up too often shows in `lookups`.
        "cache_hits": max(0, accepted + unknown - lookups),
        "partitions": [tally.records for tally in tallies],
        # Sorted by name "bytewise": Python compares `str` by code point, and UTF-8 was
        # designed so that code point order is the order of the encoded bytes (a body
        # read as strict UTF-8 holds no lone surrogates, the one exception).
        "stations": [
            {
                "station": station,
                "region": stats.region,
                "count": stats.count,
                "min": temperature(stats.min),
                "mean": temperature(mean_tenths(stats.sum, stats.count)),
                "max": temperature(stats.max),
            }
            for station, stats in sorted(merged.items())
        ],
    }


# --------------------------------------------------------------------------------------
# The trace
# --------------------------------------------------------------------------------------

#: Hand-offs to one worker less than this apart (in ms) share a line, as in Rust.
HAND_OFF_WINDOW_MS = 1.0


@dataclass(slots=True)
class HandOffGroup:
    """Hand-offs to one worker that share a trace line."""

    #: When the first of them happened.
    ms: float
    #: How many records.
    records: int


class Trace:
    """Writes trace events, one JSON object per line, `ms` counted from the start.

    Each line leaves at once: since Python 3.9 standard error is line-buffered even when
    it is not a terminal, so a run that is killed still shows every event up to that
    moment.

    A feed of a million lines hands off a million records; a line each would flood
    standard error with marks no timeline can tell apart. So hand-offs are grouped per
    worker: one less than `HAND_OFF_WINDOW_MS` after its worker's open group joins it
    (`records` counts them), and open groups are written before any other line and at
    the end, in the order they were opened, so that `ms` never goes backwards.
    """

    def __init__(
        self,
        enabled: bool,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A monotonic clock: the wall clock (`time.time()`) may jump. The tests pass a
        # fake one.
        self._clock = clock
        self._start = clock()
        self.enabled = enabled
        self._out = out if out is not None else sys.stderr
        #: Each worker's open group, in the order the groups were opened.
        self._open_hand_offs: dict[int, HandOffGroup] = {}

    def _ms(self) -> float:
        return round((self._clock() - self._start) * 1000, 3)

    def _write(self, line: dict[str, object]) -> None:
        self._out.write(json.dumps(line) + "\n")

    def event(self, kind: str, **fields: object) -> None:
        """Writes one event: `trace` (its kind), `ms`, then `fields` in order."""
        if not self.enabled:
            return
        self.flush()
        self._write({"trace": kind, "ms": self._ms(), **fields})

    def hand_off(self, worker: int) -> None:
        """Counts one record handed to `worker`."""
        if not self.enabled:
            return
        now = self._ms()
        group = self._open_hand_offs.get(worker)
        if group is not None and now - group.ms < HAND_OFF_WINDOW_MS:
            group.records += 1
            return
        if group is not None:
            # This worker's group has closed: write it, and those opened before it.
            self.flush()
        self._open_hand_offs[worker] = HandOffGroup(ms=now, records=1)

    def flush(self) -> None:
        """Writes the open hand-off groups, oldest first."""
        for worker, group in self._open_hand_offs.items():
            line = {"worker": worker, "records": group.records}
            self._write({"trace": "handed_off", "ms": group.ms, **line})
        self._open_hand_offs.clear()
