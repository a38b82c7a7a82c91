"""One Synapse for the whole Matrix suite (it starts in a few seconds), stopped at the
end; fresh agent and customer accounts for every test so tests never see each other's
rooms."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.integration.matrix.synapse import Account, MatrixUser, Synapse, installed


def _unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail loudly in CI, where `make test` installs it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"Synapse cannot run: {reason} (pip install -e '.[test]' installs matrix-synapse)"
        )
    pytest.skip(f"Synapse cannot run: {reason} (pip install matrix-synapse)")


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    if not installed():
        _unavailable("the matrix-synapse package is not installed")
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    try:
        server.start()
    except (RuntimeError, OSError) as error:
        server.stop()
        _unavailable(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def agent_account(synapse: Synapse) -> Account:
    return synapse.register(f"agent{secrets.token_hex(4)}")


@pytest.fixture
async def customer(synapse: Synapse) -> AsyncIterator[MatrixUser]:
    user = MatrixUser(synapse, synapse.register(f"customer{secrets.token_hex(4)}"))
    try:
        yield user
    finally:
        await user.close()
