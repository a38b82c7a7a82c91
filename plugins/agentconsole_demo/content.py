"""What the demo's customers and agents write, beyond the topics (:mod:`.topics`): greetings,
thanks, nudges, template values and attachments, for "Lumio", a small SaaS that does invoicing
and point of sale and ships card readers.

Texts are ``str.format`` templates over the fields of :func:`fill_ins`. No I/O.
"""

from __future__ import annotations

import random

COMPANY = "Lumio"
SUPPORT_DOMAIN = "lumio.example"


#: Short customer answers after an agent's reply, by outcome.
THANKS = (
    "Thanks, that fixed it!",
    "Perfect, it works now. Thank you!",
    "Great, all good on our side. Have a nice day.",
    "That did it, thanks for the quick help {agent_first}!",
)
FOLLOW_UP_QUESTIONS = (
    "Thanks! One more question: does this also apply to our second store?",
    "That helped, but now I see a different error: {error}. What does it mean?",
    "OK, done. How long until I see the change?",
    "Thanks. Is there a way to avoid this next time?",
)
NUDGES = ("Any update on this?", "Hello? Still waiting.", "Just following up on this.")
FORUM_ME_TOO = (
    "Same here since this morning.",
    "+1, we see exactly the same thing.",
    "Following, we have this too on {version}.",
)
GREETINGS = ("Hello,", "Hi there,", "Hi {company} team,", "Good morning,", "Hey,")
SIGN_OFFS = ("Thanks,\n{customer}", "Best regards,\n{customer}", "Cheers,\n{customer}",
             "Thank you!\n{customer}\n{customer_company}")  # fmt: skip
AGENT_SIGN_OFF = "\n\nBest,\n{agent_name}\n{company} Support"
FAILURE_REASONS = {
    "email": "550 5.2.2 mailbox full: the customer's mailbox is over its quota",
    "chat": "chat session ended: the visitor left before the reply was delivered",
    "forum": "403 topic locked: a moderator closed the topic",
}

_CUSTOMER_COMPANIES = ("Harbour Café", "Kiosk & Co", "Northwind Books", "Pixel Bikes",
                       "Green Fork Bistro", "Studio Mira", "Alder Hardware", "Copper Kettle")  # fmt: skip
_BROWSERS = ("Firefox 128", "Chrome 126", "Safari 17.5", "Edge 126")
_ERRORS = ("ERR_SESSION_EXPIRED", "SAML_INVALID_SIGNATURE", "E401: invalid code", "E_CLOCK_SKEW")
_PLANS = ("Starter", "Team", "Business")
_MONTHS = ("March", "April", "May", "June")


def fill_ins(rng: random.Random, customer_name: str, email: str) -> dict[str, str]:
    """The values one conversation's templates are formatted with (stable for the thread)."""
    minor = rng.randint(1, 9)
    return {
        "company": COMPANY,
        "customer": customer_name,
        "first": customer_name.split()[0],
        "email": email,
        "customer_company": rng.choice(_CUSTOMER_COMPANIES),
        "invoice": f"INV-{rng.randint(20000, 29999)}",
        "order": f"#{rng.randint(40000, 49999)}",
        "amount": f"${rng.choice((29, 49, 99, 149, 490, 990))}.00",
        "plan": rng.choice(_PLANS),
        "browser": rng.choice(_BROWSERS),
        "error": rng.choice(_ERRORS),
        "month": rng.choice(_MONTHS),
        "version": f"4.{minor}.0",
        "version_fix": f"4.{minor}.1",
        "count": str(rng.randint(3, 12)),
        "time": f"{rng.randint(8, 17):02d}:{rng.choice((5, 12, 20, 41, 50)):02d}",
    }


def render(template: str, values: dict[str, str]) -> str:
    return template.format_map(values)


def customer_body(kind: str, text: str, values: dict[str, str], rng: random.Random) -> str:
    """A customer's message as people write it on ``kind``: mail has a greeting and a
    sign-off, chat and forum posts are bare."""
    body = render(text, values)
    if kind != "email":
        return body
    greeting = render(rng.choice(GREETINGS), values)
    sign_off = render(rng.choice(SIGN_OFFS), values)
    return f"{greeting}\n\n{body}\n\n{sign_off}"


def agent_body(kind: str, text: str, values: dict[str, str]) -> str:
    """An agent's reply: mail is signed, chat and forum are not."""
    body = render(text, values)
    return body + render(AGENT_SIGN_OFF, values) if kind == "email" else body


# Tiny but real files, so "open attachment" shows something sensible.
_PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d7d0c30000000049454e44ae426082"
)
_ATTACHMENTS = {
    ".png": ("image/png", _PNG_1X1),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00demo photo\xff\xd9"),
    ".pdf": ("application/pdf", b"%PDF-1.4\n% demo bank statement\n%%EOF\n"),
    ".txt": ("text/plain", b"Lumio Register crash report\nthread 0: ReaderHandshake.timeout\n"),
}


def attachment_file(filename: str) -> tuple[str, bytes]:
    """(content type, bytes) of a demo attachment named ``filename``."""
    extension = filename[filename.rfind(".") :]
    return _ATTACHMENTS[extension]
