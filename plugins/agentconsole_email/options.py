"""The options of ``[channels.NAME]`` with ``type = "email"``, and their checked form."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentconsole.plugin import ChannelContext, Option, PermanentError, is_loopback

TLS_MODES = ("ssl", "starttls", "none")
AUTH_MECHANISMS = ("password", "xoauth2", "oauthbearer")

OPTIONS = (
    Option(
        "from_address",
        str,
        "our address: replies come from it, mail from it is ours",
        required=True,
    ),
    Option(
        "from_name", str, "display name on replies (default: '<agent> via <address>')", default=""
    ),
    Option(
        "aliases", list, "other addresses that are ours (mail from them is our side)", default=[]
    ),
    # inbound over IMAP
    Option("imap_host", str, "IMAP server name (or use maildir)", default=""),
    Option("imap_port", int, "IMAP port (default 993 for ssl, 143 otherwise)", default=0),
    Option(
        "imap_tls",
        str,
        "ssl (port 993), starttls (143) or none (loopback only)",
        default="ssl",
        choices=TLS_MODES,
    ),
    Option("username", str, "login name (default: from_address)", default=""),
    Option(
        "password", str, "IMAP password (and SMTP's unless smtp_password is given)", secret=True
    ),
    Option(
        "auth",
        str,
        "password, or xoauth2 / oauthbearer with oauth2_token",
        default="password",
        choices=AUTH_MECHANISMS,
    ),
    Option(
        "oauth2_token",
        str,
        "OAuth2 access token (e.g. a command printing a fresh one)",
        secret=True,
    ),
    Option("folders", list, "IMAP folders to read", default=["INBOX"]),
    Option("sent_folder", str, "where replies are filed (default: the \\Sent folder)", default=""),
    Option(
        "append_sent",
        bool,
        "file a copy of each reply in sent_folder (off for Gmail, which files it itself)",
        default=True,
    ),
    Option("mark_read", bool, "mark fetched mail read on the server", default=False),
    Option("move_to", str, "move fetched mail to this folder (default: leave it)", default=""),
    Option("idle", bool, "use IMAP IDLE for push when the server offers it", default=True),
    Option("poll_interval", float, "seconds between checks (and the longest IDLE)", default=300.0),
    Option("timeout", float, "seconds before a network operation is given up", default=60.0),
    Option(
        "tls_ca_file",
        str,
        "trust this CA certificate (PEM) instead of the system's, for servers with a private CA",
        default="",
    ),
    # inbound from a Maildir
    Option("maildir", str, "read this Maildir instead of IMAP (never modified)", default=""),
    # outbound over SMTP
    Option("smtp_host", str, "SMTP submission server (default: no replies)", default=""),
    Option("smtp_port", int, "SMTP port (default 465 for ssl, 587 for starttls)", default=0),
    Option(
        "smtp_tls",
        str,
        "ssl (465), starttls (587) or none (loopback only)",
        default="starttls",
        choices=TLS_MODES,
    ),
    Option(
        "smtp_username",
        str,
        "SMTP login (default: username when a password or token is configured; with "
        "smtp_tls = none only when given)",
        default="",
    ),
    Option("smtp_password", str, "SMTP password (default: the IMAP password)", secret=True),
)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificate and host name checked, against ``tls_ca_file`` when given."""
    if settings.tls_ca_file:
        try:
            return ssl.create_default_context(cafile=str(Path(settings.tls_ca_file).expanduser()))
        except (OSError, ssl.SSLError) as error:
            raise PermanentError(
                f"{settings.where} tls_ca_file = {settings.tls_ca_file!r} cannot be used: {error}"
            ) from error
    return ssl.create_default_context()


@dataclass(frozen=True, slots=True)
class Settings:
    """Checked options of one email channel."""

    channel: str
    from_address: str
    from_name: str
    own_addresses: frozenset[str]
    imap_host: str
    imap_port: int
    imap_tls: str
    username: str
    auth: str
    folders: tuple[str, ...]
    sent_folder: str
    append_sent: bool
    mark_read: bool
    move_to: str
    idle: bool
    poll_interval: float
    timeout: float
    maildir: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    smtp_username: str
    has_smtp_password: bool
    has_password: bool
    tls_ca_file: str = ""

    @property
    def where(self) -> str:
        return f"[channels.{self.channel}]"


def settings_from(context: ChannelContext) -> Settings:
    """Check what ``check_channel_options`` cannot: combinations and loopback-only
    plaintext. Raises :class:`PermanentError` with a message naming the key to change."""

    channel, options = context.name, context.options

    def get(name: str) -> Any:
        value = options.get(name)
        if value is None:
            return next(o.default for o in OPTIONS if o.name == name)
        return value

    where = f"[channels.{channel}]"
    from_address = str(get("from_address")).strip().lower()
    if "@" not in from_address:
        raise PermanentError(f"{where} from_address = {from_address!r} is not a mail address")
    imap_host = str(get("imap_host")).strip()
    maildir = str(get("maildir")).strip()
    if bool(imap_host) == bool(maildir):
        raise PermanentError(
            f"{where} needs either imap_host (read mail over IMAP) or maildir (read a local "
            "Maildir), not " + ("both" if imap_host else "neither")
        )
    imap_tls = str(get("imap_tls"))
    if imap_host and imap_tls == "none" and not is_loopback(imap_host):
        raise PermanentError(
            f'{where} imap_tls = "none" would send the password in clear to {imap_host}; '
            'it is allowed only to a loopback address — use "ssl" or "starttls"'
        )
    smtp_host = str(get("smtp_host")).strip()
    smtp_tls = str(get("smtp_tls"))
    if smtp_host and smtp_tls == "none" and not is_loopback(smtp_host):
        raise PermanentError(
            f'{where} smtp_tls = "none" is allowed only to a loopback address, not '
            f'{smtp_host} — use "starttls" (port 587) or "ssl" (port 465)'
        )
    auth = str(get("auth"))
    has_password = context.has_secret("password")
    has_token = context.has_secret("oauth2_token")
    if imap_host and auth == "password" and not has_password:
        raise PermanentError(
            f"{where} needs password_command (or password_env / password_keyring) to log in to IMAP"
        )
    if auth != "password" and not has_token:
        raise PermanentError(
            f"{where} auth = {auth!r} needs oauth2_token_command "
            "(a command printing a fresh access token)"
        )
    username = str(get("username")).strip() or from_address
    folders = tuple(str(f) for f in get("folders")) or ("INBOX",)
    poll_interval = float(get("poll_interval"))
    timeout = float(get("timeout"))
    if poll_interval <= 0 or timeout <= 0:
        raise PermanentError(f"{where} poll_interval and timeout must be more than 0")
    imap_port = int(get("imap_port")) or (993 if imap_tls == "ssl" else 143)
    smtp_port = int(get("smtp_port")) or {"ssl": 465, "starttls": 587, "none": 25}[smtp_tls]
    has_smtp_password = context.has_secret("smtp_password")
    # Log in to SMTP with what is configured; a plaintext loopback relay (smtp_tls = none)
    # only when smtp_username or smtp_password is given for it.
    explicit_smtp_username = str(get("smtp_username")).strip()
    credentials = has_password if auth == "password" else has_token
    smtp_login = (
        bool(explicit_smtp_username) or has_smtp_password or (smtp_tls != "none" and credentials)
    )
    smtp_username = (explicit_smtp_username or username) if smtp_login else ""
    aliases = {str(a).strip().lower() for a in get("aliases") if str(a).strip()}
    return Settings(
        channel=channel,
        from_address=from_address,
        from_name=str(get("from_name")),
        own_addresses=frozenset({from_address, *aliases}),
        imap_host=imap_host,
        imap_port=imap_port,
        imap_tls=imap_tls,
        username=username,
        auth=auth,
        folders=folders,
        sent_folder=str(get("sent_folder")).strip(),
        append_sent=bool(get("append_sent")),
        mark_read=bool(get("mark_read")),
        move_to=str(get("move_to")).strip(),
        idle=bool(get("idle")),
        poll_interval=poll_interval,
        timeout=timeout,
        maildir=maildir,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_tls=smtp_tls,
        smtp_username=smtp_username,
        has_smtp_password=has_smtp_password,
        has_password=has_password,
        tls_ca_file=str(get("tls_ca_file")).strip(),
    )
