"""Hostile mail, built here: each header and each MIME part fails alone, with a note naming
it, and everything readable is still shown. Modelled on what public corpora of broken mail
contain (nested comments in addresses, RFC 2231 parameters, header-less input, MIME bombs,
bad charsets, ``From: name address``); the messages are generated, not copied."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest

from agentconsole.plugin import Identity
from agentconsole_email import mime
from agentconsole_email import parse as parse_module
from agentconsole_email.parse import MAX_DEPTH, ParseSettings, parse_message, parse_safely

SETTINGS = ParseSettings(frozenset({"support@acme.example"}))
ARRIVED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def build(headers: dict[str, str], body: str = "My router blinks orange.\n") -> bytes:
    """An ordinary message, with ``headers`` replacing or adding to its headers."""
    fields = {
        "From": "Ada Lovelace <ada@example.org>",
        "To": "Acme Support <support@acme.example>",
        "Subject": "Router problem",
        "Date": "Tue, 01 Dec 2026 09:00:00 +0000",
        "Message-ID": "<hostile@example.org>",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
    }
    fields.update(headers)
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return (head + "\r\n" + body).encode("utf-8", "surrogateescape")


def multipart(parts: list[tuple[str, str]], boundary: str = "b0", **headers: str) -> bytes:
    """A multipart/mixed message of ``(part headers, part body)`` pairs."""
    body = "".join(f"--{boundary}\r\n{head}\r\n\r\n{text}\r\n" for head, text in parts)
    return build(
        {"Content-Type": f'multipart/mixed; boundary="{boundary}"', **headers},
        body + f"--{boundary}--\r\n",
    )


def nested_comments(depth: int) -> str:
    return "(" * depth + "hi" + ")" * depth


def deep_multipart(depth: int, innermost: str = "the text at the bottom") -> bytes:
    opening = "".join(
        f'--d{level}\r\nContent-Type: multipart/mixed; boundary="d{level + 1}"\r\n\r\n'
        for level in range(depth)
    )
    closing = "".join(f"--d{level}--\r\n" for level in range(depth, -1, -1))
    body = (
        "--d0\r\nContent-Type: text/plain\r\n\r\nThe customer's words come first.\r\n"
        + opening
        + f"--d{depth}\r\nContent-Type: text/plain\r\n\r\n{innermost}\r\n"
        + closing
    )
    return build({"Content-Type": 'multipart/mixed; boundary="d0"'}, body)


def read(raw: bytes):  # noqa: ANN201
    return parse_safely(raw, SETTINGS, fallback_date=ARRIVED)


# -- each header alone ---------------------------------------------------------------------


@pytest.mark.parametrize("header", ["To", "Cc"])
def test_nested_comments_in_a_recipient_header_cost_only_that_header(header: str) -> None:
    raw = build({header: f"{nested_comments(5000)} Bob <bob@example.org>"})
    message = read(raw)
    assert message.author.identities == (Identity("email", "ada@example.org"),)
    assert message.author.name == "Ada Lovelace"
    assert message.subject == "Router problem" and message.body == "My router blinks orange.\n"
    assert message.external_id == "<hostile@example.org>" and message.raw == raw
    assert f"the {header} header could not be read" in message.parse_note
    # The address in it is still found, read without the comments.
    assert Identity("email", "bob@example.org") in message.participants


def test_nested_comments_in_from_still_find_the_sender() -> None:
    message = read(build({"From": f"Ada {nested_comments(3000)} <ada@example.org>"}))
    assert message.author.identities == (Identity("email", "ada@example.org"),)
    assert "the From header could not be read; the addresses in it were kept" in (
        message.parse_note
    )
    assert message.body == "My router blinks orange.\n"


def test_an_unreadable_reply_to_falls_back_to_from() -> None:
    message = read(build({"Reply-To": nested_comments(4000)}))
    assert message.author.identities == (Identity("email", "ada@example.org"),)
    assert "the Reply-To header could not be read" in message.parse_note


@pytest.mark.parametrize(
    ("value", "name", "address"),
    [
        ("Ada Lovelace ada@example.org", "Ada Lovelace", "ada@example.org"),
        ('"Lovelace, Ada" ada@example.org', "Lovelace, Ada", "ada@example.org"),
        ("=?utf-8?q?Ren=C3=A9e?= renee@example.org", "Renée", "renee@example.org"),
        ("ADA@Example.ORG", "", "ada@example.org"),
    ],
)
def test_from_name_address_without_angle_brackets(value: str, name: str, address: str) -> None:
    message = read(build({"From": value}))
    assert message.author.identities == (Identity("email", address),)
    assert message.author.name == (name or address)
    assert message.parse_note is None


def test_an_unreadable_date_shows_the_arrival_time_with_a_note() -> None:
    message = read(build({"Date": "Tuesday, sometime after lunch"}))
    assert message.sent_at == ARRIVED
    assert "the Date header could not be read: the time it arrived is shown instead" in (
        message.parse_note
    )
    assert message.subject == "Router problem"


def test_a_message_id_without_an_id_gets_one_from_the_content_with_a_note() -> None:
    message = read(build({"Message-ID": "(none)"}))
    assert message.external_id.endswith("@synthetic.agentconsole.invalid>")
    assert "the Message-ID header could not be read" in message.parse_note
    assert read(build({"Message-ID": "(none)"})).external_id == message.external_id


@pytest.mark.parametrize(
    ("reader", "label"),
    [
        ("_content_type", "Content-Type"),
        ("_date", "Date"),
    ],
)
def test_a_header_reader_that_raises_costs_only_its_header(
    monkeypatch: pytest.MonkeyPatch, reader: str, label: str
) -> None:
    """The guard itself, for readers no input we know of breaks today (the next CPython or
    the next mailer may)."""

    def explode(*args: object, **kwargs: object) -> None:
        raise RecursionError("simulated")

    monkeypatch.setattr(parse_module, reader, explode)
    message = read(build({}))
    assert f"the {label} header could not be read" in message.parse_note
    assert message.author.identities == (Identity("email", "ada@example.org"),)
    assert message.body == "My router blinks orange.\n" and message.subject == "Router problem"


@pytest.mark.parametrize(
    ("function", "label"),
    [
        ("references", "References or In-Reply-To"),
        ("message_id", "Message-ID"),
        ("is_automated", "Auto-Submitted"),
    ],
)
def test_a_threading_header_reader_that_raises_costs_only_its_header(
    monkeypatch: pytest.MonkeyPatch, function: str, label: str
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise ValueError("simulated")

    monkeypatch.setattr(parse_module.threads, function, explode)
    message = read(build({"In-Reply-To": "<parent@acme.example>"}))
    assert f"the {label} header could not be read" in message.parse_note
    assert message.author.name == "Ada Lovelace" and message.subject == "Router problem"


def test_a_subject_that_cannot_be_decoded_costs_only_the_subject(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = parse_module.decode_words

    def fussy(value: str) -> str:
        if "Router" in value:
            raise RecursionError("simulated")
        return real(value)

    monkeypatch.setattr(parse_module, "decode_words", fussy)
    message = read(build({}))
    assert message.subject == "" and "the Subject header could not be read" in message.parse_note
    assert message.body == "My router blinks orange.\n"


# -- RFC 2231 parameters and charsets ------------------------------------------------------


def test_rfc2231_charset_on_a_single_part_body() -> None:
    raw = build({"Content-Type": "text/plain; charset*=utf-8'en'utf-8"}, "Grüße aus München\n")
    message = read(raw)
    assert message.body == "Grüße aus München\n" and message.parse_note is None


def test_rfc2231_parameters_in_parts_names_and_boundaries() -> None:
    raw = build(
        {"Content-Type": "multipart/mixed; boundary*=us-ascii''rfc2231"},
        "--rfc2231\r\nContent-Type: text/plain; charset*=iso-8859-1''iso-8859-1\r\n\r\n"
        "Caf\xe9 cr\xe8me\r\n"
        "--rfc2231\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9sum; filename*1*=%C3%A9.pdf"
        "\r\n\r\n" + base64.b64encode(b"%PDF-1.4 tiny").decode() + "\r\n--rfc2231--\r\n",
    )
    raw = raw.replace("Caf\xe9 cr\xe8me".encode(), "Caf\xe9 cr\xe8me".encode("latin-1"))
    message = read(raw)
    assert message.body.strip() == "Café crème"
    (attachment,) = message.attachments
    assert attachment.filename == "résumé.pdf" and attachment.data == b"%PDF-1.4 tiny"
    assert message.parse_note is None


@pytest.mark.parametrize(
    ("charset", "note"),
    [
        ("x-no-such-charset", "unknown charset 'x-no-such-charset'"),
        ("rot13", "charset 'rot13'"),
        ("unicode_escape", "unknown charset 'unicode_escape'"),
        ("raw-unicode-escape", "unknown charset 'raw-unicode-escape'"),
        ("utf-16", "text is not valid utf-16"),
    ],
)
def test_bad_charsets_keep_the_text_readable(charset: str, note: str) -> None:
    message = read(build({"Content-Type": f"text/plain; charset={charset}"}, "Grüße, Ada\n"))
    assert "Grüße, Ada" in message.body and note in message.parse_note


# -- header-less input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"<html><body><p>Just a web page saved as mail</p></body></html>\n",
        b"\x78\x9f\x3e\x22\x01\x00\x00binary TNEF-like blob\x00\xff\xfe",
        b"just one line without any header",
    ],
    ids=["html", "binary", "one-line"],
)
def test_header_less_input_is_kept_with_a_note_and_shown_as_text(raw: bytes) -> None:
    message = read(raw)
    assert message.raw == raw and "no mail headers" in message.parse_note
    assert message.author.name == "(unknown sender)" and message.body
    assert message.external_id.endswith("@synthetic.agentconsole.invalid>")


# -- MIME bombs ----------------------------------------------------------------------------


def test_a_thousand_deep_multipart_gives_a_short_note_and_no_boundary_lines() -> None:
    raw = deep_multipart(1000)
    started = time.perf_counter()
    message = read(raw)
    assert time.perf_counter() - started < 2.0
    assert message.body.strip() == "The customer's words come first."
    assert "--d" not in message.body and "Content-Type" not in message.body
    assert message.parse_note.startswith(f"nested deeper than {MAX_DEPTH} levels")
    assert "they are in the original" in message.parse_note and len(message.parse_note) < 200
    assert message.raw == raw and message.subject == "Router problem"


def test_nesting_within_the_bound_is_read_to_the_bottom() -> None:
    message = read(deep_multipart(MAX_DEPTH - 2))
    assert "the text at the bottom" in message.body and message.parse_note is None


def test_a_hundred_thousand_parts_are_bounded_in_time_and_noted() -> None:
    parts = [("Content-Type: text/plain", "The customer's text comes first.")]
    parts += [("Content-Type: application/octet-stream", f"x{i}") for i in range(100_000)]
    raw = multipart(parts)
    started = time.perf_counter()
    message = read(raw)
    assert time.perf_counter() - started < 2.5
    assert message.body.strip() == "The customer's text comes first."
    assert f"more than {mime.MAX_PARTS} parts: only the first were read" in message.parse_note
    assert len(message.attachments) < mime.MAX_PARTS and message.raw == raw


# -- each part alone -----------------------------------------------------------------------


def test_a_part_that_cannot_be_read_costs_only_that_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTML converter that recurses out on a hostile HTML part (lxml, inscriptis) must
    not take the plain text or the attachment with it."""

    def explode(html: str) -> str:
        raise RecursionError("simulated")

    monkeypatch.setattr(mime, "html_to_text", explode)
    raw = multipart(
        [
            ("Content-Type: text/plain", "The plain words."),
            ("Content-Type: text/html", "<div>" * 50 + "deep" + "</div>" * 50),
            (
                'Content-Type: image/png\r\nContent-Disposition: attachment; filename="shot.png"',
                "PNGDATA",
            ),
        ]
    )
    message = read(raw)
    assert message.body.strip() == "The plain words."
    assert [a.filename for a in message.attachments] == ["shot.png"]
    assert "part 3 (text/html) could not be read and was left out" in message.parse_note
    assert message.author.name == "Ada Lovelace"


def test_many_unreadable_parts_make_one_short_note(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(html: str) -> str:
        raise ValueError("simulated")

    monkeypatch.setattr(mime, "html_to_text", explode)
    raw = multipart([("Content-Type: text/html", f"<p>{i}</p>") for i in range(40)])
    note = read(raw).parse_note
    assert "part 2 (text/html), part 3 (text/html), part 4 (text/html) and 37 more" in note
    assert len(note) < 200


def test_a_large_base64_attachment_is_decoded_whole() -> None:
    data = bytes(range(256)) * 8192  # 2 MB
    encoded = base64.encodebytes(data).decode().replace("\n", "\r\n")
    raw = multipart(
        [
            ("Content-Type: text/plain", "See the capture."),
            (
                "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
                'Content-Disposition: attachment; filename="capture.bin"',
                encoded,
            ),
        ]
    )
    message = parse_message(raw, SETTINGS)
    (attachment,) = message.attachments
    assert attachment.data == data and attachment.filename == "capture.bin"
    assert message.body.strip() == "See the capture." and message.parse_note is None
