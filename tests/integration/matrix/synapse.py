"""A real Synapse on a free loopback port (SQLite, no rate limits, shared-secret
registration), and a minimal client-server API user to play the customer.

Used by the integration tests and by ``bench/matrix_ingest.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

START_TIMEOUT = 60.0
SERVER_NAME = "localhost"
UNLIMITED = {"per_second": 10000, "burst_count": 10000}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def installed() -> bool:
    return importlib.util.find_spec("synapse") is not None


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    password: str
    access_token: str


class Synapse:
    """``start()`` generates a config in ``folder`` and waits until the client API answers;
    ``stop()`` ends the process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def _overrides(self) -> dict[str, Any]:
        return {
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "registration_shared_secret": self.secret,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "report_stats": False,
            "presence": {"enabled": False},
            "enable_metrics": False,
            "media_store_path": str(self.folder / "media"),
            "rc_message": UNLIMITED,
            "rc_registration": UNLIMITED,
            "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
            "rc_joins": {"local": UNLIMITED, "remote": UNLIMITED},
            "rc_joins_per_room": UNLIMITED,
            "rc_invites": {"per_room": UNLIMITED, "per_user": UNLIMITED, "per_issuer": UNLIMITED},
            "rc_room_creation": UNLIMITED,
            "rc_media_create": UNLIMITED,
        }

    def start(self) -> None:
        config = self.folder / "homeserver.yaml"
        log = self.folder / "synapse.log"
        with log.open("ab") as output:
            generated = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "synapse.app.homeserver",
                    "--server-name",
                    SERVER_NAME,
                    "--config-path",
                    str(config),
                    "--data-directory",
                    str(self.folder),
                    "--generate-config",
                    "--report-stats=no",
                ],
                cwd=self.folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=120,
            )
        if generated.returncode != 0:
            raise RuntimeError(f"synapse --generate-config failed: {log.read_text()[-2000:]}")
        log_config = self.folder / f"{SERVER_NAME}.log.config"
        if log_config.exists():  # keep the suite's output and the disk quiet
            log_config.write_text(log_config.read_text().replace("INFO", "WARNING"))
        # JSON is YAML: a second config file overrides the generated one key by key.
        overrides = self.folder / "overrides.yaml"
        overrides.write_text(json.dumps(self._overrides()))
        output = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(config),
                "-c",
                str(overrides),
            ],
            cwd=self.folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        output.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"synapse exited with {self.process.returncode}: {log.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"synapse did not answer on {self.url} within {START_TIMEOUT}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
            method="POST" if body is not None else "GET",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def register(self, localpart: str, password: str | None = None) -> Account:
        """Register a user with the admin shared-secret API."""
        password = password or secrets.token_hex(8)
        nonce = self._post("/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(f"{nonce}\0{localpart}\0{password}\0notadmin".encode())
        answer = self._post(
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": False,
                "mac": mac.hexdigest(),
            },
        )
        return Account(answer["user_id"], password, answer["access_token"])


class MatrixUser:
    """The customer's side: the client-server API with the customer's access token."""

    def __init__(self, server: Synapse, account: Account) -> None:
        self.base = server.url + "/_matrix/client/v3"
        self.media = server.url + "/_matrix/media/v3"
        self.account = account
        self.user_id = account.user_id
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {account.access_token}"},
            timeout=aiohttp.ClientTimeout(total=30),
        )
        self._txn = 0

    async def close(self) -> None:
        await self._session.close()

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        async with self._session.request(
            method, self.base + path, json=body, params=params
        ) as response:
            data = await response.json()
            if response.status >= 300:
                raise AssertionError(f"{method} {path}: {response.status} {data}")
            return data  # type: ignore[no-any-return]

    async def create_room(
        self, invite: list[str] = (), encrypted: bool = False, **extra: Any
    ) -> str:  # type: ignore[assignment]
        body: dict[str, Any] = {"preset": "private_chat", "invite": list(invite), **extra}
        if encrypted:
            body["initial_state"] = [
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ]
        return str((await self.call("POST", "/createRoom", body))["room_id"])

    async def join(self, room_id: str) -> None:
        await self.call("POST", f"/join/{quote(room_id, safe='')}", {})

    async def send(
        self, room_id: str, content: dict[str, Any] | str, event_type: str = "m.room.message"
    ) -> str:
        if isinstance(content, str):
            content = {"msgtype": "m.text", "body": content}
        self._txn += 1
        txn = f"t{time.monotonic_ns()}-{self._txn}"
        path = f"/rooms/{quote(room_id, safe='')}/send/{event_type}/{txn}"
        return str((await self.call("PUT", path, content))["event_id"])

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        async with self._session.post(
            self.media + "/upload",
            data=data,
            params={"filename": filename},
            headers={"Content-Type": content_type},
        ) as response:
            return str((await response.json())["content_uri"])

    async def messages(self, room_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The room's recent timeline, oldest first."""
        page = await self.call(
            "GET", f"/rooms/{quote(room_id, safe='')}/messages", dir="b", limit=str(limit)
        )
        return list(reversed(page["chunk"]))
