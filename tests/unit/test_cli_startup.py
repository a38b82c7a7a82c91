"""Scripts start like C tools: a command imports only what it needs, and a read command
served on a plain read-only connection prints exactly what it prints through the store.

A check on imports, not a timed test: the real command runs in a fresh interpreter that
lists, at exit, every module whose code ran (a module registered to load on first use and
never touched is not loaded). ``bench/cli_startup.py`` measures the time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentconsole import __version__, cli_read
from agentconsole.cli_parser import build_parser, terminal_columns
from agentconsole.config import load
from agentconsole.store import Store
from tests.conftest import inbound
from tests.unit.test_cli import lines, run

#: Listed by :data:`PROBE` when the command tokenized Python source.
TOKENIZED = "<python source tokenized>"
#: What a script's read must never load: the screen, HTTP, date parsing, the event loop
#: and the async driver, the mail parser, the channel plugins, the write paths, and what
#: only they use (the network, temporary files, reading migrations' SQL from a package,
#: hashing); the log (set up only when there is a warning), the dataclasses module and the
#: inspect module it loads (records are made without them) and, for a blank config, the
#: TOML parser; nor does it tokenize Python source (inspect.signature does, for a dataclass
#: without a docstring).
NEVER_ON_A_READ = (
    "logging",
    "tomllib",
    "dataclasses",
    "inspect",
    "socket",
    "shutil",
    "tempfile",
    "zipfile",
    "importlib.resources",
    "textual",
    "rich",
    "aiohttp",
    "dateutil",
    "asyncio",
    "aiosqlite",
    "email",
    "agentconsole_",
    "agentconsole.tui",
    "agentconsole.plugin",
    "agentconsole.rules",
    "agentconsole.sla",
    "agentconsole.sync",
    "agentconsole.store.actions",
    "agentconsole.store.ingest_sql",
    "agentconsole.store.writes",
    "agentconsole.store.audit_chain",
    "hashlib",
    "difflib",  # a did-you-mean, only for a misspelt word
    "decimal",  # a duration of fractional seconds, only when one is printed
    TOKENIZED,
)
#: What ``--version`` and ``--help`` need not load either: the store, the config, the models,
#: the sanitizer (its patterns), the type hints' module.
NEVER_FOR_HELP = (
    *NEVER_ON_A_READ,
    "agentconsole.store",
    "agentconsole.config",
    "agentconsole.models",
    "agentconsole.sanitize",
    "typing",
)

PROBE = f"""
import atexit, json, sys

def loaded():
    names = sorted(
        name for name, module in list(sys.modules.items())
        if type(module).__name__ != "_LazyModule"
    )
    # Python source tokenized (its patterns compiled: milliseconds), as inspect.signature
    # does for a dataclass without a docstring: a pseudo-module name, listed when it was.
    tokenize = sys.modules.get("tokenize")
    if tokenize is not None and tokenize._compile.cache_info().currsize:
        names.append({TOKENIZED!r})
    sys.__stderr__.write("LOADED " + json.dumps(names) + "\\n")

atexit.register(loaded)
from agentconsole.cli import main
sys.exit(main())
"""


def loaded_by(
    *args: str, store: str | Path | None = None, config: str | Path = os.devnull
) -> tuple[int, str, list[str]]:
    """Run ``agentconsole ARGS`` for real; (exit code, stdout, the modules it loaded)."""
    argv = ["--store", str(store), *args] if store is not None else list(args)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "AGENTCONSOLE_AGENT": "alice", "AGENTCONSOLE_CONFIG": str(config)},
        timeout=60,
    )
    [report] = [line for line in result.stderr.splitlines() if line.startswith("LOADED ")]
    return result.returncode, result.stdout, json.loads(report.removeprefix("LOADED "))


def forbidden(loaded: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [
        name
        for name in loaded
        if any(name == p or name.startswith(p if p.endswith("_") else p + ".") for p in prefixes)
    ]


@pytest.fixture
async def seeded(store: Store, store_location: str | Path) -> tuple[str | Path, int]:
    report = await store.ingest(
        "mail",
        [
            inbound("My invoice is wrong, refund please", subject="Invoice \x1b]0;pwned\x07"),
            inbound("Second note about the refund", external_id="<b@x>", minutes=3),
        ],
    )
    await store.ingest("chat", [inbound("hello? refund?", thread_key="r1", minutes=5)])
    return store_location, report.touched[0]


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_load_neither_the_store_nor_the_config(args: list[str]) -> None:
    code, out, loaded = loaded_by(*args)
    assert code == 0 and out.startswith(("agentconsole ", "usage:"))
    assert forbidden(loaded, NEVER_FOR_HELP) == []


def test_version_loads_nothing_but_the_command_line_module() -> None:
    code, out, loaded = loaded_by("--version")
    assert (code, out) == (0, f"agentconsole {__version__}\n")
    ours = [name for name in loaded if name.split(".")[0].startswith("agentconsole")]
    assert ours == ["agentconsole", "agentconsole.cli"]
    assert "argparse" not in loaded and "typing" not in loaded


@pytest.mark.parametrize("columns", ["80", "123", "40"])
def test_help_without_sub_parsers_is_the_whole_grammars_help(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)  # argparse wraps to the terminal's width
    for argv in (["--help"], ["-h"], ["--json", "-v", "--help"]):
        assert build_parser(argv).format_help() == build_parser().format_help(), argv
        assert build_parser(argv).format_usage() == build_parser().format_usage(), argv


@pytest.mark.parametrize("columns", [None, "100", "0", "-3", "wide"])
def test_help_is_as_wide_as_shutil_says_the_terminal_is(
    columns: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns


def test_options_without_a_command_parse_as_with_the_whole_grammar() -> None:
    for argv in (["--json", "-v"], ["--store", "list", "--config", "x"], []):
        assert build_parser(argv).parse_args(argv) == build_parser().parse_args(argv), argv


@pytest.mark.sqlite_only
async def test_read_commands_on_a_store_file_load_only_what_they_read(
    seeded: tuple[Path, int],
) -> None:
    path, conversation = seeded
    for args in (
        ["list", "--json", "--limit", "50"],
        ["list"],
        ["search", "refund", "--json"],
        ["search", "refund"],
        ["show", str(conversation), "--json"],
        ["show", str(conversation)],
    ):
        code, out, loaded = loaded_by(*args, store=path)
        assert code == 0 and out, args
        assert "agentconsole.store.queries" in loaded  # it did read the store
        assert forbidden(loaded, NEVER_ON_A_READ) == [], args


#: A config as a team writes one: business hours, an SLA policy, a rule.
CONFIGURED = """
[business_hours]
timezone = "Europe/Warsaw"
week = { mon = "08:00-18:00", tue = "08:00-18:00" }

[[sla]]
name = "standard"
first_response = "4h"

[[rules]]
name = "refunds to billing"
on = "inbound"
if = "subject:refund"
then = { tags = ["+billing"] }
"""
#: What a read loads for such a config, beside what it loads for an empty one: its parser,
#: the rules (a broken one is reported) and the SLA policies (the store's due times must
#: follow them; their fingerprint is a hash), whose loaders import their did-you-mean up
#: front.
FOR_THE_CONFIG = (
    "agentconsole.rules",
    "agentconsole.sla",
    "hashlib",
    "difflib",
    "tomllib",
    "dataclasses",  # the rules' and policies' own classes
    "inspect",
)


@pytest.mark.sqlite_only
async def test_a_read_with_rules_and_sla_policies_configured_loads_no_mail_parser(
    seeded: tuple[Path, int], tmp_path: Path
) -> None:
    path, conversation = seeded
    config = tmp_path / "config.toml"
    config.write_text(CONFIGURED)
    # The first run opens the store the normal way: its due times follow the policies then.
    assert loaded_by("list", store=path, config=config)[0] == 0
    never = tuple(name for name in NEVER_ON_A_READ if name not in FOR_THE_CONFIG)
    for args in (["list", "--json"], ["search", "refund"], ["show", str(conversation)]):
        code, out, loaded = loaded_by(*args, store=path, config=config)
        assert code == 0 and out, args
        assert "agentconsole.rules.loading" in loaded  # it did read the rules
        assert forbidden(loaded, never) == [], args


@pytest.mark.sqlite_only
async def test_a_read_that_fails_says_so_as_before(seeded: tuple[Path, int]) -> None:
    path, _ = seeded
    code, _, loaded = loaded_by("show", "99999", store=path)
    assert code == 3
    assert forbidden(loaded, NEVER_ON_A_READ) == []
    result = run(path, "search", "status:nonsense")
    assert result.returncode == 2 and "status" in result.stderr


async def _through_the_store(store: Store, argv: list[str]) -> str:
    args = build_parser().parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert await cli_read.run(args, load(os.devnull), store) == 0
    return out.getvalue()


async def test_a_read_prints_the_same_on_a_read_only_connection_and_through_the_store(
    store: Store, seeded: tuple[str | Path, int]
) -> None:
    location, conversation = seeded
    for argv in (
        ["list", "--json"],
        ["list", "--json", "--limit", "1", "refund OR tag:billing"],
        ["list"],
        ["list", "--channel", "mail", "refund"],
        ["search", "refund", "--json"],
        ["search", "refund"],
        ["show", str(conversation), "--json"],
        ["show", str(conversation)],
    ):
        result = run(location, *argv)
        assert result.returncode == 0, result.stderr
        assert result.stdout, argv  # something to compare
        assert result.stdout == await _through_the_store(store, argv), argv
    # Customer text stays neutralised on the direct path too.
    assert "\x1b" not in run(location, "show", str(conversation)).stdout


async def test_list_wakes_a_snoozed_conversation_whose_time_came(
    store: Store, seeded: tuple[str | Path, int]
) -> None:
    location, conversation = seeded
    assert await store.set_status(conversation, "snoozed", snooze_until=1.0)
    [listed] = [c for c in lines(run(location, "list", "--json")) if c["id"] == conversation]
    assert listed["status"] == "open"
    # Woken in the store, not only shown so: the audit log says the system did it.
    assert (await store.conversation_rows([conversation]))[conversation].status == "open"
    assert "wake" in [entry.action for entry in await store.audit_log(conversation)]


@pytest.mark.sqlite_only
async def test_deliver_loads_no_screen_and_no_other_plugin(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[channels.mail]\ntype = "email"\nfrom_address = "support@example.org"\n'
        'imap_host = "imap.invalid"\npassword_command = "false"\n'  # the pipe never connects
    )
    message = b"From: Ada <ada@example.com>\r\nSubject: hi\r\nMessage-ID: <d@x>\r\n\r\nhello\r\n"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            "--store",
            str(tmp_path / "s.db"),
            "deliver",
            "--channel",
            "mail",
        ],
        input=message,
        capture_output=True,
        env={**os.environ, "AGENTCONSOLE_AGENT": "alice", "AGENTCONSOLE_CONFIG": str(config)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    [report] = [line for line in result.stderr.decode().splitlines() if line.startswith("LOADED ")]
    loaded = json.loads(report.removeprefix("LOADED "))
    assert "agentconsole_email" in loaded
    assert forbidden(loaded, ("textual", "rich", "agentconsole.tui", "agentconsole_demo")) == []


@pytest.mark.parametrize("package", ["agentconsole.store.sqlite", "agentconsole.store.postgres"])
def test_the_schema_a_store_is_checked_against_is_the_newest_bundled_migration(
    package: str,
) -> None:
    """``latest`` reads the file names only (a read-only command checks it on each start)."""
    import importlib

    from agentconsole.store import migration_files

    importlib.import_module(package)
    assert migration_files.latest(package) == migration_files.bundled(package)[-1][0] >= 15
