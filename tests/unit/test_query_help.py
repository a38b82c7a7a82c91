"""``agentconsole help query``: the grammar a person reads is the grammar the parser takes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from agentconsole.query import FIELDS, parse
from agentconsole.query.help import help_text


def test_help_query_prints_the_grammar_and_exits_0() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", "help", "query"],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTCONSOLE_CONFIG": os.devnull},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == help_text()


def test_help_names_every_field_and_fits_a_terminal() -> None:
    text = help_text()
    for name in FIELDS:
        assert re.search(rf"^  {name}:", text, re.MULTILINE), name
    assert max(len(line) for line in text.splitlines()) <= 88


def test_every_example_in_help_parses() -> None:
    examples = help_text().split("Examples\n", 1)[1].splitlines()
    assert len(examples) >= 5
    for line in examples:
        query = re.split(r"\s{2,}", line.strip())[0]
        parse(query)


def test_the_query_package_stays_headless() -> None:
    probe = (
        "import sys, agentconsole.query.help; print(sorted({'textual', 'rich'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr
