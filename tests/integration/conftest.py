"""Real servers for integration tests, started on free loopback ports and stopped after.

* ``dovecot`` (session): Debian's Dovecot in the foreground with a generated config — IMAP
  on 127.0.0.1 without TLS, passwd-file users, Maildir storage under a temp folder, IDLE.
  ``imap_user`` (per test) adds a fresh user to it.
* ``smtp_server`` (per test): aiosmtpd recording every message it accepts.
* ``tcp_proxy`` (per test): a loopback TCP relay that can cut its connections, to test
  what a client does when the network drops mid-command.

A server that cannot start skips its tests on a developer machine and fails them under
CI (``CI=true``), where the test command has installed it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STARTUP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_greeting(port: int, prefix: bytes, timeout: float = STARTUP_SECONDS) -> bool:
    """True once a server on ``port`` greets with ``prefix``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if sock.recv(256).startswith(prefix):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI: there the server must be installed and must start."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (its own CA): (cert, key).
    Raises RuntimeError when openssl is not installed."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is not installed (make test installs it with apt-get)")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def find_binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (
            str(p)
            for d in ("/usr/sbin", "/usr/local/sbin", "/sbin")
            if (p := Path(d) / name).exists()
        ),
        None,
    )


# -- Dovecot -------------------------------------------------------------------------------

DOVECOT_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u/Maildir
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 10 secs
mail_max_userip_connections = 100

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
{chroot}
}}
service anvil {{
{chroot}
}}
service auth {{
  user = {me}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass
class Dovecot:
    """A running Dovecot; ``restart`` keeps its port, users and mail."""

    root: Path
    port: int
    binary: str
    mail_uid: int = -1
    mail_gid: int = -1
    #: IMAP over TLS (the plain port also offers STARTTLS); trust ``ca_file``.
    tls_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    users: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def ca_file(self) -> Path:
        return self.root / "cert.pem"

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if not wait_for_greeting(self.port, b"* OK"):
            process = self.process
            exited = process is not None and process.poll() is not None
            self.stop()
            log = self.root / "dovecot.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            if exited and process is not None and process.stderr is not None:
                # It ended by itself: what it said before its log was open (a port taken,
                # a bad setting). Read only then, when nothing holds the pipe open.
                detail += process.stderr.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"dovecot did not start on port {self.port}: {detail}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def add_user(self) -> str:
        """A user nobody used yet (an empty mailbox); returns the user name. Users are
        written to the passwd file before Dovecot starts: it may not notice a file that
        changes twice within a second."""
        name = f"user{next(self._names)}"
        if name not in self.users:
            raise RuntimeError(f"only {len(self.users)} test users were prepared")
        return name

    def prepare_users(self, count: int, password: str = "secret") -> None:
        self.users = {f"user{n}": f"{password}{n}" for n in range(1, count + 1)}
        (self.root / "passwd").write_text(
            "".join(f"{name}:{{PLAIN}}{pw}::::::\n" for name, pw in self.users.items())
        )

    def client(self, user: str):  # noqa: ANN201 - imapclient is imported lazily
        from imapclient import IMAPClient

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user, self.users[user])
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        with contextlib.closing(_Logout(self.client(user))) as session:
            session.client.append(folder, raw)

    def doveadm(self, *args: str) -> str:
        result = subprocess.run(
            [find_binary("doveadm") or "doveadm", "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr}")
        return result.stdout


class _Logout:
    def __init__(self, client) -> None:  # noqa: ANN001
        self.client = client

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()


def launch_dovecot(root: Path | None = None, users: int = 500) -> Dovecot:
    """Start a Dovecot in ``root`` (a new temp folder by default); raises RuntimeError
    when it cannot. Also used by bench/email_ingest.py."""
    binary = find_binary("dovecot")
    if binary is None:
        raise RuntimeError("dovecot is not installed (make test installs dovecot-imapd)")
    import grp
    import pwd

    is_root = os.geteuid() == 0
    me = pwd.getpwuid(os.geteuid()).pw_name
    my_group = grp.getgrgid(os.getegid()).gr_name
    if root is None:
        # Dovecot never gives mail access to uid 0: as root, mail belongs to nobody, so it
        # lives in a folder every user may enter.
        root = Path(tempfile.mkdtemp(prefix="agentconsole-dovecot-"))
    if is_root:
        mail_uid, mail_gid = pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid
    else:
        mail_uid, mail_gid = os.geteuid(), os.getegid()
    os.chmod(root, 0o755)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(exist_ok=True)
    os.chown(root / "mail", mail_uid, mail_gid)
    make_certificate(root)
    # The ports are free when picked, but another server starting meanwhile (the suite
    # starts several) may take one first: then Dovecot cannot bind, and new ones are tried.
    for attempt in range(3):
        server = Dovecot(
            root, free_port(), binary, mail_uid=mail_uid, mail_gid=mail_gid, tls_port=free_port()
        )
        server.prepare_users(users)
        server.config.write_text(
            DOVECOT_CONFIG.format(
                root=root,
                port=server.port,
                tls_port=server.tls_port,
                uid=mail_uid,
                gid=mail_gid,
                internal_user="dovecot" if is_root else me,
                internal_group="dovecot" if is_root else my_group,
                login_user="dovenull" if is_root else me,
                chroot="" if is_root else "  chroot =",
                me=me,
            )
        )
        try:
            server.start()
        except RuntimeError:
            if attempt == 2:
                raise
            continue
        return server
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    try:
        server = launch_dovecot()
    except (RuntimeError, OSError) as error:
        unavailable(str(error))
        raise
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@dataclass(frozen=True)
class ImapUser:
    name: str
    password: str
    server: Dovecot

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        self.server.append(self.name, raw, folder)

    def client(self):  # noqa: ANN201
        return self.server.client(self.name)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapUser:
    name = dovecot.add_user()
    return ImapUser(name, dovecot.users[name], dovecot)


# -- SMTP (aiosmtpd) -----------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.received = threading.Condition()
        #: SMTP replies to give instead of accepting the next DATA commands.
        self.refuse_next: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if self.refuse_next:
            return self.refuse_next.pop(0)
        with self.received:
            self.messages.append(
                ReceivedMail(
                    envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)
                )
            )
            self.received.notify_all()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: _Recorder
    #: With TLS (``smtp_tls_server``): the CA to trust.
    ca_file: Path | None = None
    #: none, starttls or ssl.
    tls: str = "none"

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.recorder.messages

    def refuse_next(self, reply: str) -> None:
        self.recorder.refuse_next.append(reply)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[ReceivedMail]:
        with self.recorder.received:
            self.recorder.received.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)


@contextlib.contextmanager
def running_smtp_server(tls: str = "none", folder: Path | None = None) -> Iterator[SmtpServer]:
    """aiosmtpd on a free loopback port; ``tls`` is none, starttls (offered, 587-style) or
    ssl (implicit TLS, 465-style) with a self-signed certificate made in ``folder``."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        unavailable("aiosmtpd is not installed (pip install -e '.[test]')")
        raise
    import ssl

    recorder = _Recorder()
    port = free_port()
    options: dict[str, object] = {}
    ca_file = None
    if tls != "none":
        assert folder is not None
        try:
            ca_file, key = make_certificate(folder)
        except RuntimeError as error:
            unavailable(str(error))
            raise
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(ca_file, key)
        options = {"tls_context": context} if tls == "starttls" else {"ssl_context": context}
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, recorder, ca_file, tls)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture(params=["starttls", "ssl"])
def smtp_tls_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmtpServer]:
    """aiosmtpd with STARTTLS (submission, 587-style) and with implicit TLS (465-style)."""
    with running_smtp_server(request.param, tmp_path) as server:
        yield server


# -- a TCP relay that can cut connections --------------------------------------------------


class TcpProxy:
    """Relays 127.0.0.1:``port`` to ``target``; ``cut_after(n)`` drops every open
    connection once ``n`` more bytes went from the server to the client."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._cut_budget: int | None = None
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.cuts = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(self, server_bytes: int) -> None:
        with self._lock:
            self._cut_budget = server_bytes

    def cut_now(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
            self.cuts += 1
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            cut = False
            if from_server:
                with self._lock:
                    if self._cut_budget is not None:
                        if len(data) >= self._cut_budget:
                            data, cut = data[: self._cut_budget], True
                            self._cut_budget = None
                        else:
                            self._cut_budget -= len(data)
            try:
                sink.sendall(data)
            except OSError:
                break
            if cut:
                self.cut_now()
                return
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.listener.close()
        self.cut_now()


@pytest.fixture
def tcp_proxy() -> Iterator[type[TcpProxy]]:
    """A factory: ``proxy = tcp_proxy(target_port)``; every proxy is closed after the test."""
    made: list[TcpProxy] = []

    class Factory(TcpProxy):
        def __init__(self, target_port: int) -> None:
            super().__init__(target_port)
            made.append(self)

    try:
        yield Factory
    finally:
        for proxy in made:
            proxy.close()
