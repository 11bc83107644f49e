"""One log line per outage of a backing service: the first failure, a reminder per interval
while it lasts, one line when it answers again; nothing while it is up."""

from __future__ import annotations

import logging

import pytest

from dockyard.registry._outages import Outage


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _outage(clock: Clock) -> Outage:
    return Outage(
        "PostgreSQL at db:5432",
        "check database.url",
        interval=60,
        clock=clock,
        logger=logging.getLogger("test.outages"),
    )


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "test.outages"]


def test_one_line_per_outage_and_one_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    outage = _outage(clock)
    outage.succeeded()  # up: nothing to say
    assert _lines(caplog) == [] and not outage.down

    for _ in range(500):
        outage.failed(ConnectionRefusedError("connection refused\n  is the server running?"))
        clock.now += 0.01
    assert outage.down and outage.failures == 500
    [(level, line)] = _lines(caplog)
    assert level == "ERROR"
    assert line == (
        "PostgreSQL at db:5432 does not answer: connection refused is the server running?; "
        "requests that need it get 503 until it does (check database.url)"
    )

    clock.now += 2
    outage.succeeded()
    outage.succeeded()
    assert not outage.down and outage.failures == 0
    assert _lines(caplog)[1:] == [
        ("WARNING", "PostgreSQL at db:5432 answers again after 7.0 s (500 failed requests)")
    ]

    outage.failed("refused")  # a second outage: a line of its own
    assert outage.outages == 2
    assert len(_lines(caplog)) == 3


def test_a_long_outage_is_recalled_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    outage = _outage(clock)
    for _ in range(3 * 60):  # three minutes, a failure a second
        outage.failed("refused")
        clock.now += 1
    lines = _lines(caplog)
    assert len(lines) == 3, lines
    assert lines[1][1] == (
        "PostgreSQL at db:5432 still does not answer after 60 s (61 failed requests): "
        "refused (check database.url)"
    )
    assert "after 120 s (121 failed requests)" in lines[2][1]
