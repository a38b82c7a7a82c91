"""Test helpers: an ngircd server run in the foreground with a generated config, and a
raw-socket IRC client that plays the customer."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import subprocess
import time
from pathlib import Path

from agentconsole_irc.protocol import Line, parse_line

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Ngircd:
    """``start()`` writes the config and waits for the port; ``stop()`` ends the process.
    ``restart()`` keeps the same port (for reconnect tests)."""

    def __init__(
        self,
        binary: str,
        folder: Path,
        password: str | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.password = password
        self.tls = tls  # (certificate, key), served on tls_port
        self.tls_port = free_port() if tls else 0
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)  # ngircd drops to "nobody" when started as root

    def config(self) -> str:
        password = f"Password = {self.password}\n" if self.password else ""
        return (
            "[Global]\nName = irc.test\nInfo = agentconsole test server\n"
            f"Listen = 127.0.0.1\nPorts = {self.port}\nMotdPhrase = welcome\n{password}"
            "AdminInfo1 = test\nAdminInfo2 = test\nAdminEMail = test@example.com\n"
            "[Limits]\nMaxNickLength = 30\nPingTimeout = 120\nPongTimeout = 20\n"
            "[Options]\nPAM = no\nIdent = no\nDNS = no\n"
            "[Channel]\nName = #support\nTopic = support\n"
            + (
                f"[SSL]\nCertFile = {self.tls[0]}\nKeyFile = {self.tls[1]}\nPorts = {self.tls_port}\n"
                if self.tls
                else ""
            )
        )

    def start(self) -> None:
        conf = self.folder / "ngircd.conf"
        conf.write_text(self.config())
        conf.chmod(0o644)
        log = (self.folder / "ngircd.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "-n", "-f", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"ngircd exited with {self.process.returncode}: "
                    f"{(self.folder / 'ngircd.log').read_text()[-2000:]}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"ngircd did not listen on port {self.port} within {START_TIMEOUT}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost (and its key), readable by ngircd."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    for path in (folder, cert_path, key_path):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return cert_path, key_path


class IrcClient:
    """A minimal client: registers, joins, speaks, and collects every line it receives."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.nick = ""
        self.lines: list[tuple[Line, bytes]] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def register(self, nick: str, password: str | None = None) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._task = asyncio.create_task(self._read())
        if password:
            self.send(f"PASS {password}")
        self.send(f"NICK {nick}")
        self.send(f"USER {nick.lower()} 0 * :{nick} the customer")
        welcome = await self.wait_for(lambda line: line.command in ("001", "433"))
        if welcome.command == "433":
            raise RuntimeError(f"nick {nick} is taken")
        self.nick = nick

    def send(self, text: str) -> None:
        self.send_bytes(text.encode())

    def send_bytes(self, line: bytes) -> None:
        """One line as these bytes (a client that does not send UTF-8)."""
        assert self._writer is not None
        self._writer.write(line + b"\r\n")

    async def join(self, channel: str) -> None:
        self.send(f"JOIN {channel}")
        await self.wait_for(lambda line: line.command == "366" and line.params[1] == channel)

    async def _read(self) -> None:
        assert self._reader is not None
        while data := await self._reader.readline():
            raw = data.rstrip(b"\r\n")
            line = parse_line(raw.decode("utf-8", errors="replace"))
            if line.command == "PING":
                self.send(f"PONG :{line.params[-1]}")
            self.lines.append((line, data))
            self._arrived.set()

    async def wait_for(self, match, timeout: float = 10.0, start: int = 0) -> Line:  # noqa: ANN001
        """The first received line (from index ``start``) that ``match``es."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for line, _ in self.lines[start:]:
                if match(line):
                    return line
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                seen = "\n".join(
                    raw.decode(errors="replace").rstrip() for _, raw in self.lines[-15:]
                )
                raise AssertionError(f"no matching line within {timeout}s; last lines:\n{seen}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def privmsgs(self) -> list[tuple[Line, bytes]]:
        return [(line, raw) for line, raw in self.lines if line.command == "PRIVMSG"]

    async def close(self) -> None:
        if self._writer is not None:
            try:
                self.send("QUIT :bye")
                self._writer.close()
            except OSError:
                pass
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
