"""ngircd on a free loopback port, started for each test (it starts in milliseconds) and
stopped after; and the customer, a raw-socket IRC client."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.integration.irc.ircd import IrcClient, Ngircd


def _unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail loudly in CI, where `make test` installs ngircd."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"ngircd cannot run: {reason} (make test installs it with apt-get)")
    pytest.skip(f"ngircd cannot run: {reason} (apt-get install ngircd)")


def ngircd_binary() -> str | None:
    return shutil.which("ngircd") or next(
        (p for p in ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd") if Path(p).exists()), None
    )


def start_ngircd(
    folder: Path, password: str | None = None, tls: tuple[Path, Path] | None = None
) -> Ngircd:
    binary = ngircd_binary()
    if binary is None:
        _unavailable("the ngircd binary is not installed")
    assert binary is not None
    server = Ngircd(binary, folder, password, tls)
    try:
        server.start()
    except RuntimeError as error:
        server.stop()
        _unavailable(str(error))
    return server


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[Ngircd]:
    server = start_ngircd(tmp_path / "ngircd")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def customer(ngircd: Ngircd) -> AsyncIterator[IrcClient]:
    client = IrcClient("127.0.0.1", ngircd.port)
    await client.register("Customer")
    await client.join("#support")
    try:
        yield client
    finally:
        await client.close()
