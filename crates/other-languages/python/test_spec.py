"""Tests of `spec.py`: the specification's rules, one by one, with no event loop and no
socket. Run them from this folder: `python3 -W error -m unittest -v test_spec`.

The cases follow the Rust crate's own tests (`crates/pipeline/src/*.rs`) where there are
some, so that a rule the two languages could read differently is pinned in both.
"""

from __future__ import annotations

import io
import json
import unittest
import unittest.mock

import spec


def parsed(body: str) -> list[tuple[int, str, object]]:
    """`(line, station or reason, tenths or None)` for each non-empty line of `body`."""
    result: list[tuple[int, str, object]] = []
    for item in spec.parse_lines(0, body):
        if isinstance(item, spec.Rejection):
            result.append((item.line, item.reason, None))
        else:
            result.append((item.line, item.station, item.tenths))
    return result


class ParseTest(unittest.TestCase):
    def test_temperatures_in_the_exact_format(self) -> None:
        good = {"3.5": 35, "-1.0": -10, "-0.0": 0, "99.9": 999, "-99.9": -999}
        good["05.5"] = 55
        for text, tenths in good.items():
            self.assertEqual(spec.parse_tenths(text), tenths, text)
        bad = ["", "1", "1.", ".5", "1.25", "100.0", "+1.0", " 1.0", "1.0 ", "--1.0"]
        bad += ["1,0", "-", "-.5", "1.-5"]
        # Other scripts' digits, which `\d` would accept, and a final newline, which `$`
        # would accept.
        bad += ["١.٠", "1.٠", "１.0", "1.0\n"]
        for text in bad:
            self.assertIsNone(spec.parse_tenths(text), repr(text))

    def test_lines_are_split_on_newline_only(self) -> None:
        # `str.splitlines()` would split each of these stations in two.
        for separator in "\v\f\x1c\x1d\x1e\x85\u2028\u2029":
            station = f"A{separator}B"
            lines = parsed(f"{station};1.0\n")
            self.assertEqual(lines, [(1, station, 10)], repr(station))

    def test_one_carriage_return_is_removed_and_empty_lines_count(self) -> None:
        body = "Oslo;1.0\r\n\r\nOslo;2.0\r\nBergen;3.0\r\r\n\nBergen;-4.0"
        self.assertEqual(
            parsed(body),
            [
                (1, "Oslo", 10),
                (3, "Oslo", 20),
                (4, spec.BAD_TEMPERATURE, None),  # `3.0\r`: only one `\r` goes
                (6, "Bergen", -40),
            ],
        )

    def test_rejection_reasons(self) -> None:
        self.assertEqual(
            parsed("Oslo 1.0\n;1.0\nOslo;warm\nOslo;1.0;2.0\n"),
            [
                (1, spec.MISSING_SEPARATOR, None),
                (2, spec.EMPTY_STATION, None),
                (3, spec.BAD_TEMPERATURE, None),
                (4, spec.BAD_TEMPERATURE, None),  # split at the first `;`
            ],
        )

    def test_the_station_is_kept_verbatim(self) -> None:
        self.assertEqual(parsed(" Oslo ;1.0"), [(1, " Oslo ", 10)])

    def test_survey_then_enrich(self) -> None:
        body = "B;1.0\nA;2.0\nbad\nB;3.0\nX;4.0\n"
        survey = spec.survey(7, body)
        self.assertEqual(survey.stations, ["B", "A", "X"])  # first appearance
        missing = spec.Rejection(7, 3, spec.MISSING_SEPARATOR)
        self.assertEqual(survey.rejected, [missing])
        regions = {"B": "west", "A": "north", "X": None}
        items = list(spec.enrich(7, body, regions))
        self.assertEqual(
            [(item.record.line, item.region) for item in items[:3]],  # type: ignore
            [(1, "west"), (2, "north"), (4, "west")],
        )
        self.assertEqual(items[3], spec.Rejection(7, 5, spec.UNKNOWN_STATION))


class PartitionTest(unittest.TestCase):
    def test_fnv1a32_known_values(self) -> None:
        # The published FNV-1a test vectors.
        self.assertEqual(spec.fnv1a32(b""), 0x811C9DC5)
        self.assertEqual(spec.fnv1a32(b"a"), 0xE40C292C)
        self.assertEqual(spec.fnv1a32(b"foobar"), 0xBF9CF968)

    def test_worker_for_hashes_the_utf8_bytes(self) -> None:
        station = "Tromsø"
        expected = spec.fnv1a32(station.encode("utf-8")) % 3
        self.assertEqual(spec.worker_for(station, 3), expected)


class MergeTest(unittest.TestCase):
    def test_mean_rounds_half_away_from_zero(self) -> None:
        cases = [(3, 2, 2), (-3, 2, -2), (5, 4, 1), (-5, 4, -1), (7, 4, 2), (-1, 3, 0)]
        # Ties that `round()` would take to the even neighbour instead: 2.5 and 0.5.
        cases += [(10, 1, 10), (5, 2, 3), (-5, 2, -3), (1, 2, 1)]
        for total, count, mean in cases:
            self.assertEqual(spec.mean_tenths(total, count), mean, (total, count))

    def test_tallies_merge_per_station(self) -> None:
        def record(station: str, tenths: int) -> spec.Enriched:
            return spec.Enriched(spec.Record(0, 1, station, tenths), "north")

        first, second = spec.WorkerTally(), spec.WorkerTally()
        first.add(record("Oslo", 10))
        first.add(record("Oslo", -20))
        second.add(record("Oslo", 50))
        second.add(record("Bergen", 1))
        merged = spec.merge([first, second])
        oslo = merged["Oslo"]
        self.assertEqual((oslo.count, oslo.min, oslo.max, oslo.sum), (3, -20, 50, 40))
        self.assertEqual((first.records, second.records), (2, 2))


def plan_json(sources: list[str]) -> dict[str, object]:
    """A plan as the feed server writes it."""
    settings = {"concurrency": 2, "workers": 1, "timeout_ms": 400, "retries": 1}
    settings |= {"lookup_ms": 30, "channel_capacity": 1}
    return {
        "time_scale": 0.5,
        "name": "test",
        "settings": settings,
        "registry": {"Oslo": "north"},
        "sources": sources,
    }


class ReportTest(unittest.TestCase):
    def plan(self, sources: list[str]) -> spec.Plan:
        return spec.Plan.from_json(json.dumps(plan_json(sources)))

    def test_keys_order_and_sorting(self) -> None:
        plan = self.plan(["a", "b", "c"])
        times = (plan.max_attempts, plan.timeout_s, plan.lookup_s)
        self.assertEqual(times, (2, 0.2, 0.015))
        tally = spec.WorkerTally()
        for station in ["Ω", "a", "Z", "Å"]:
            tally.add(spec.Enriched(spec.Record(0, 1, station, -10), "r"))
        rejected = [
            spec.Rejection(2, 1, spec.UNKNOWN_STATION),
            spec.Rejection(0, 9, spec.BAD_TEMPERATURE),
            spec.Rejection(0, 2, spec.UNKNOWN_STATION),
        ]
        fetches = [
            spec.FetchSummary(1, None),
            spec.FetchSummary(2, "timeout"),
            spec.FetchSummary(1, None),
        ]
        report = spec.assemble_report(plan, fetches, rejected, 3, [tally])
        self.assertEqual(
            list(report),
            ["scenario", "sources_ok", "sources_failed", "attempts", "accepted"]
            + ["rejected", "lookups", "cache_hits", "partitions", "stations"],
        )
        failed = {"source": "b", "reason": "timeout", "attempts": 2}
        self.assertEqual(report["sources_failed"], [failed])
        self.assertEqual((report["sources_ok"], report["attempts"]), (2, 4))
        lines = [(r["source"], r["line"]) for r in report["rejected"]]  # type: ignore
        self.assertEqual(lines, [("a", 2), ("a", 9), ("c", 1)])
        # 4 accepted + 2 unknown parsed records, 3 lookups.
        self.assertEqual(report["cache_hits"], 3)
        stations = [row["station"] for row in report["stations"]]  # type: ignore
        self.assertEqual(stations, sorted(stations, key=lambda s: s.encode("utf-8")))
        self.assertEqual(stations, ["Z", "a", "Å", "Ω"])
        self.assertIn('"min": -1.0', json.dumps(report))

    def test_a_plan_of_the_wrong_shape(self) -> None:
        wrong_type = plan_json(["a"])
        wrong_type["settings"]["concurrency"] = "4"  # type: ignore
        no_workers = plan_json(["a"])
        del no_workers["settings"]["workers"]  # type: ignore
        for text, words in [
            ("{", "not JSON"),
            ("[]", "wrong type"),
            (json.dumps(wrong_type), "wrong type"),
            (json.dumps(no_workers), "no key 'workers'"),
            (json.dumps(dict(plan_json(["a"]), sources="a")), "wrong type"),
        ]:
            with self.assertRaises(spec.PlanError, msg=text) as raised:
                spec.Plan.from_json(text)
            self.assertIn(words, str(raised.exception))


class HttpTest(unittest.TestCase):
    def test_heads(self) -> None:
        head = b"HTTP/1.1 200 OK\r\ncontent-length: 12 \r\nX: y\r\n\r\n"
        self.assertEqual(spec.parse_head(head), spec.Head(200, 12))
        head = b"HTTP/1.0 503 \r\nContent-Length: 0\r\n\r\n"
        self.assertEqual(spec.parse_head(head).status, 503)
        for bad in [
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\n",
            b"HTTP/2 200 OK\r\nContent-Length: 1\r\n\r\n",
            b"HTTP/1.1 20 OK\r\nContent-Length: 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        ]:
            with self.assertRaises(spec.MalformedResponse, msg=bad):
                spec.parse_head(bad)
        with self.assertRaises(spec.MalformedResponse):
            spec.decode_body(b"\xff")

    def test_requests_and_paths(self) -> None:
        self.assertEqual(spec.percent_encode("a/b é~_.-"), "a%2Fb%20%C3%A9~_.-")
        self.assertEqual(spec.feed_path("r1", "a b"), "/runs/r1/feeds/a%20b")
        feeds = spec.feed_server("http://[::1]:7878/")
        where = (feeds.host, feeds.port, feeds.host_header)
        self.assertEqual(where, ("::1", 7878, "[::1]:7878"))
        request = b"GET /x HTTP/1.1\r\nHost: [::1]:7878\r\nConnection: close\r\n\r\n"
        self.assertEqual(feeds.request("/x"), request)


class CommandLineTest(unittest.TestCase):
    def test_loopback_only(self) -> None:
        self.assertEqual(spec.feed_server("http://localhost:1").host, "127.0.0.1")
        url = "http://127.0.0.1:1"
        self.assertEqual(spec.feed_server(url).base_url, url)
        for url in [
            "http://10.0.0.1:1",
            "http://example.com:1",
            "https://127.0.0.1:1",
            "http://127.0.0.1:1/path",
            "http://127.0.0.1:0",
            "http://127.0.0.1:x",
        ]:
            with self.assertRaises(ValueError, msg=url):
                spec.feed_server(url)

    def test_bad_command_lines_exit_with_2(self) -> None:
        for argv in [[], ["http://10.0.0.1:1"], ["http://127.0.0.1:1", "--run", "a/b"]]:
            with self.assertRaises(SystemExit) as raised:
                stderr = io.StringIO()
                with unittest.mock.patch("sys.stderr", stderr):
                    spec.parse_command_line(argv, prog="test")
            self.assertEqual(raised.exception.code, 2)
            self.assertEqual(stderr.getvalue().count("\n"), 1, stderr.getvalue())

    def test_a_good_command_line(self) -> None:
        argv = ["http://127.0.0.1:7", "--run", "r-1_A", "--trace"]
        options = spec.parse_command_line(argv)
        got = (options.run_id, options.trace, options.feeds.port)
        self.assertEqual(got, ("r-1_A", True, 7))
        random_id = spec.parse_command_line(["http://127.0.0.1:7"]).run_id
        self.assertRegex(random_id, r"\Apy-[0-9a-f]{16}\Z")


class TraceTest(unittest.TestCase):
    def test_hand_offs_group_per_worker_within_a_millisecond(self) -> None:
        now = [0.0]
        out = io.StringIO()
        trace = spec.Trace(enabled=True, out=out, clock=lambda: now[0])
        hand_offs = [(0.0, 0), (0.2, 1), (0.5, 0), (0.9, 1), (1.1, 0), (1.2, 1)]
        for at_ms, worker in hand_offs:
            now[0] = at_ms / 1000
            trace.hand_off(worker)
        now[0] = 0.002
        trace.event("run_finished")
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual(
            [(ln["trace"], ln.get("worker"), ln.get("records")) for ln in lines],
            [
                ("handed_off", 0, 2),
                ("handed_off", 1, 2),
                ("handed_off", 0, 1),
                ("handed_off", 1, 1),
                ("run_finished", None, None),
            ],
        )
        times = [line["ms"] for line in lines]
        self.assertEqual(times, sorted(times), "ms never goes backwards")

    def test_a_disabled_trace_writes_nothing(self) -> None:
        out = io.StringIO()
        trace = spec.Trace(enabled=False, out=out)
        trace.event("run_started")
        trace.hand_off(0)
        trace.flush()
        self.assertEqual(out.getvalue(), "")


if __name__ == "__main__":
    unittest.main()
