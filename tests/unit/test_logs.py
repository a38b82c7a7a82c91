"""Log lines built from outside data cannot drive the terminal of whoever tails them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from agentconsole import logs


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure(verbose=True, stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_an_attackers_id_cannot_write_osc52_or_forge_a_line(log_output: io.StringIO) -> None:
    hostile = "m-1\x1b]52;c;ZXZpbA==\x07\nINFO agentconsole: all good"
    logging.getLogger("agentconsole.channel.api").warning("rejected message %s", hostile)
    written = log_output.getvalue()
    assert "\x1b" not in written and "\x07" not in written
    assert written.count("\n") == 1, written  # one record, one line
    assert "␛]52;c;ZXZpbA==" in written


def test_a_traceback_keeps_its_lines_but_loses_its_escapes(log_output: io.StringIO) -> None:
    try:
        raise ValueError("bad \x1b[2J value")
    except ValueError:
        logging.getLogger("agentconsole.sync").exception("fetch failed")
    written = log_output.getvalue()
    assert "Traceback" in written and "\x1b" not in written and "␛[2J" in written


def test_a_flood_of_one_error_is_one_line_with_a_count() -> None:
    now = [0.0]
    repeat = logs.RepeatFilter(interval=60, clock=lambda: now[0])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.SafeFormatter(logs.FORMAT))
    handler.addFilter(repeat)
    logger = logging.getLogger("test.flood")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for _ in range(1000):
            logger.error("accept failed: %s", "Too many open files")
        logger.error("another problem")
        now[0] = 61.0
        logger.error("accept failed: %s", "Too many open files")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "ERROR test.flood: accept failed: Too many open files",
        "ERROR test.flood: another problem",
        "ERROR test.flood: accept failed: Too many open files [999 more like this in the last 60 s]",
    ]
