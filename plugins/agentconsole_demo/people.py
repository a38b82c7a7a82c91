"""The demo's customers: a fixed, deterministic pool of people with an address per channel.

Every address lives under a reserved domain (``*.example``, ``example.com``), so the demo can
never write to a real person.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentconsole.plugin import Identity

#: Namespaces of the demo's own chat and forum users (mail addresses use ``"email"``).
CHAT_NAMESPACE = "demo-chat"
FORUM_NAMESPACE = "demo-forum"

_FIRST_NAMES = (
    "Ana", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ivan", "Jade",
    "Kwame", "Lena", "Mateo", "Nadia", "Oskar", "Pooja", "Quentin", "Rosa", "Sven", "Tomás",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Diego",
    "Emma", "Felix", "Greta", "Hiro", "Ines", "Jonas", "Kofi", "Leila", "Marek", "Nora",
)  # fmt: skip
_LAST_NAMES = (
    "Souza", "Keller", "Dubois", "Ivanov", "Yilmaz", "Haddad", "Pereira", "Sato", "Novak",
    "Martin", "Mensah", "Fischer", "Rossi", "Karimi", "Lind", "Sharma", "Moreau", "García",
    "Berg", "Silva", "Nair", "Costa", "Zhang", "Ortiz", "Aydın", "Clarke", "Tanaka", "Romano",
    "Vega", "Morales", "Wright", "Becker", "Olsen", "Kato", "Ferreira", "Weber", "Owusu",
    "Nasser", "Kowalski", "Quinn", "Brennan",
)  # fmt: skip
_DOMAINS = (
    "mail.example", "brightlane.example", "harbourcafe.example", "example.com",
    "northwind.example", "kiosk-co.example", "fastmail.example", "example.org",
)  # fmt: skip
_ASCII = str.maketrans("éáíóúñçıİ", "eaiouncii")

#: How many people the pool holds; indices below this are valid for :func:`person`.
POOL_SIZE = 240


@dataclass(frozen=True, slots=True)
class Person:
    """A demo customer. ``vip`` customers get a tag and a faster lane."""

    name: str
    email: str
    chat_handle: str
    forum_user: str
    vip: bool = False

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    def identities(self, kind: str, *, with_email: bool) -> tuple[Identity, ...]:
        """The addresses this person writes from on a channel of ``kind``; the first is the
        one replies go to. ``with_email`` adds the mail address on chat and forum, which is
        what lets the core merge the person's contacts across channels."""
        if kind == "email":
            return (Identity("email", self.email),)
        own = (
            Identity(CHAT_NAMESPACE, self.chat_handle)
            if kind == "chat"
            else Identity(FORUM_NAMESPACE, self.forum_user)
        )
        return (own, Identity("email", self.email)) if with_email else (own,)


#: Square brackets in a name are data; the demo shows that they render literally.
BRACKETS_PERSON = Person(
    name="Robin Okafor [Northwind IT]",
    email="robin.okafor@northwind.example",
    chat_handle="robin[it]",
    forum_user="robin_[admin]",
    vip=True,
)


def person(index: int) -> Person:
    """Person ``index`` of the pool (0 is :data:`BRACKETS_PERSON`); stable across releases of
    the same demo so seeded and live messages agree on who is who."""
    if index % POOL_SIZE == 0:
        return BRACKETS_PERSON
    index %= POOL_SIZE
    first = _FIRST_NAMES[index % len(_FIRST_NAMES)]
    last = _LAST_NAMES[index % len(_LAST_NAMES)]
    local_first, local_last = first.lower().translate(_ASCII), last.lower().translate(_ASCII)
    domain = _DOMAINS[index % len(_DOMAINS)]
    return Person(
        name=f"{first} {last}",
        email=f"{local_first}.{local_last}@{domain}",
        chat_handle=f"{local_first}{local_last[0]}{index}",
        forum_user=f"{local_first}_{local_last}",
        vip=index % 11 == 3,
    )


def _build_directory() -> dict[tuple[str, str], Person]:
    directory: dict[tuple[str, str], Person] = {}
    for index in range(POOL_SIZE):
        someone = person(index)
        for kind in ("email", "chat", "forum"):
            for identity in someone.identities(kind, with_email=True):
                directory[(identity.namespace, identity.address.lower())] = someone
    return directory


_DIRECTORY = _build_directory()


def find_person(identity: Identity) -> Person | None:
    """The pool member known by ``identity``, if any (used to name the customer who answers
    an agent's reply)."""
    return _DIRECTORY.get((identity.namespace, identity.address.lower()))
