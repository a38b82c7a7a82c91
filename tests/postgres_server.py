"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package (installed by
``scripts/install-test-servers``), a throwaway cluster in a temporary folder, reached over
its Unix socket with peer authentication — the Unix account is the database role, as on a
team's server. initdb refuses root, so as root the cluster runs as the ``postgres`` system
user and the root account gets a role of its own.

Each test store is a database copied from a migrated template (``CREATE DATABASE …
TEMPLATE``), so a test starts from an empty, current schema in milliseconds.
"""

from __future__ import annotations

import getpass
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE = "agentconsole_template"


class PostgresUnavailable(RuntimeError):
    """The server could not be found or started (the message says why)."""


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL is not installed: run ./scripts/install-test-servers postgresql"
        )
    return Path(found[-1]).parent


def _version(path: str) -> int:
    return int(Path(path).parent.parent.name.split(".")[0])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    folder: Path
    bindir: Path
    port: int
    run_as: list[str]
    role: str
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    def url(self, database: str, **extra: str) -> str:
        query = urllib.parse.urlencode(
            {"host": str(self.socket_dir), "port": str(self.port), **extra}
        )
        return f"postgresql:///{database}?{query}"

    def psql(self, sql: str, database: str = "postgres", *, as_admin: bool = False) -> str:
        """Run ``sql`` with psql (as the cluster's owner with ``as_admin``)."""
        prefix = self.run_as if as_admin else []
        user = ["-U", "postgres"] if as_admin and self.run_as else []
        result = subprocess.run(
            [*prefix, str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", str(self.socket_dir), "-p", str(self.port), *user, "-d", database, "-c", sql],
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if result.returncode:
            raise PostgresUnavailable(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def new_database(self) -> str:
        """A fresh, migrated store database; returns its URL."""
        name = f"store_{os.getpid()}_{next(self._names)}"
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = urllib.parse.urlsplit(url).path.lstrip("/")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"),
             "-m", "immediate", "-w", "stop"],
            capture_output=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


#: The tests' settings: nothing they check survives a crash of the machine, so nothing is
#: flushed to disk. Not settings to measure the product with (see bench/store_backends.py).
THROWAWAY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def start(settings: dict[str, str] | None = None) -> PostgresServer:
    """Initialize and start a cluster with ``settings`` (server parameters; the tests'
    :data:`THROWAWAY` ones by default); raises :class:`PostgresUnavailable` saying why not."""
    bindir = _bindir()
    folder = Path(tempfile.mkdtemp(prefix="agentconsole-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as error:
            raise PostgresUnavailable("running as root needs the postgres system user") from error
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    (folder / "socket").mkdir()
    if run_as:
        os.chown(folder / "socket", pwd.getpwnam("postgres").pw_uid, -1)
    port = _free_port()
    server = PostgresServer(folder, bindir, port, run_as, getpass.getuser())

    def run(*command: str) -> None:
        result = subprocess.run(
            [*run_as, *command], capture_output=True, text=True, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if result.returncode:
            server.stop()
            raise PostgresUnavailable(f"{Path(command[0]).name} failed: {result.stderr.strip()}")

    run(str(bindir / "initdb"), "-D", str(folder / "data"), "-E", "UTF8", "--locale=C.UTF-8",
        "--auth-local=peer", "--auth-host=reject", *(["-U", "postgres"] if run_as else []))  # fmt: skip
    given = THROWAWAY if settings is None else settings
    options = (
        f"-c listen_addresses='' -c port={port} -c unix_socket_directories={folder / 'socket'}"
        " -c max_connections=200" + "".join(f" -c {name}={value}" for name, value in given.items())
    )
    run(str(bindir / "pg_ctl"), "-D", str(folder / "data"), "-o", options,
        "-l", str(folder / "server.log"), "-w", "-t", "60", "start")  # fmt: skip
    if run_as:
        server.psql(f'CREATE ROLE "{server.role}" LOGIN SUPERUSER', as_admin=True)
    server.psql(f"CREATE DATABASE {TEMPLATE}")
    return server
