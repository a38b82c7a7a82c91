"""Values the store hands to the TUI, the CLI and the services. Plain data, no behaviour.

Every class here is a frozen, slotted dataclass (:func:`record`): ``dataclasses.fields``,
``replace`` and ``asdict`` work on them, they compare and hash by their fields and repr as
dataclasses do. Every process imports this module, so :func:`record` makes them without
the ``dataclasses`` module (it loads ``inspect``, and its code generation for each class
was a sixth of a read-only command's imports): repr and the frozen refusals are shared
functions, ``__init__``, ``__eq__`` and ``__hash__`` are compiled on their first call, and
what ``dataclasses`` reads of a class (``__dataclass_fields__``) is made by ``dataclasses``
itself on its first use. :func:`mutable_record` does the same for a class whose fields may
be assigned (the config).
"""

from __future__ import annotations

from collections.abc import Callable
from reprlib import recursive_repr
from typing import TYPE_CHECKING, Any, Literal, TypeVar, dataclass_transform

if TYPE_CHECKING:
    from .plugin import Attachment

_T = TypeVar("_T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: No default (``dataclasses.MISSING``, without loading dataclasses).
_MISSING: Any = _Missing()


class _Factory:
    """What :func:`field` puts in a class body: a default made by calling ``make``; also
    the default of an argument whose field has one."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any] | None = None) -> None:
        self.make = make

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def field(*, default_factory: Callable[[], _T]) -> _T:
    """``dataclasses.field(default_factory=…)`` for a :func:`mutable_record`."""
    return _Factory(default_factory)  # type: ignore[return-value]


@dataclass_transform(frozen_default=True)
def record(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, slots=True)``, the same class to every caller and checker:
    fields, defaults, ``__match_args__``, ``__slots__``, equality and hash over the fields
    in order, repr, ``FrozenInstanceError`` on assigning or deleting a field, copying and
    pickling, ``dataclasses.fields``, ``replace``, ``asdict``. Only a field's default value
    is supported (no ``field()``, no ``__post_init__``, no base class with fields):
    :class:`TypeError` at import otherwise.

    ``__init__``, ``__eq__`` and ``__hash__`` run often: each is compiled on its first call
    as dataclass writes it (fields read one by one, as fast), and replaces itself."""
    return _made(cls, frozen=True)


@dataclass_transform(field_specifiers=(field,))
def mutable_record(cls: type[_T]) -> type[_T]:
    """``@dataclass(slots=True)`` as :func:`record` makes the frozen one: fields may be
    assigned, it is not hashable, and a field may have a :func:`field` default factory."""
    return _made(cls, frozen=False)


def replace(value: _T, **changes: Any) -> _T:
    """``dataclasses.replace`` for a record: a copy of ``value`` with ``changes``."""
    cls: Any = type(value)
    unknown = set(changes) - set(cls.__match_args__)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    return cls(**{name: changes.get(name, getattr(value, name)) for name in cls.__match_args__})  # type: ignore[no-any-return]


class _Field:
    __slots__ = ("name", "annotation", "default", "factory")

    def __init__(self, name: str, annotation: Any, default: Any, factory: Any) -> None:
        self.name, self.annotation, self.default, self.factory = name, annotation, default, factory

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING or self.factory is not _MISSING


def _fields_of(cls: type, *, frozen: bool) -> tuple[_Field, ...]:
    """The fields ``cls`` declares, checked as dataclass checks them."""
    for base in cls.__mro__[1:]:
        if "__dataclass_fields__" in vars(base):
            raise TypeError(f"{cls.__name__}: a record has no base class with fields")
    fields: list[_Field] = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if str(annotation).startswith(("ClassVar", "InitVar", "typing.Cl", "dataclasses.")):
            raise TypeError(f"{cls.__name__}.{name}: a record's fields are plain fields")
        if name in ("self", "other"):
            raise TypeError(f"{cls.__name__}.{name}: a record's field needs another name")
        default, factory = cls.__dict__.get(name, _MISSING), _MISSING
        if isinstance(default, _Factory):
            if frozen:
                raise TypeError(f"{cls.__name__}.{name}: a record takes plain defaults only")
            default, factory = _MISSING, default.make
        elif isinstance(default, (list, dict, set)):
            raise ValueError(f"mutable default {type(default)} for field {name} is not allowed")
        field = _Field(name, annotation, default, factory)
        if fields and fields[-1].has_default and not field.has_default:
            raise TypeError(f"non-default argument {name!r} follows default argument")
        fields.append(field)
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: a record has no __post_init__")
    return tuple(fields)


def _made(cls: type[_T], *, frozen: bool) -> type[_T]:
    fields = _fields_of(cls, frozen=frozen)
    names = tuple(f.name for f in fields)
    # As dataclass(slots=True) does: the same class made again with __slots__ (a class
    # attribute of a field's name would hide the slot).
    namespace = {
        key: value
        for key, value in cls.__dict__.items()
        if key not in names and key not in ("__dict__", "__weakref__")
    }
    namespace["__slots__"] = names
    namespace["__match_args__"] = names
    namespace["_record_"] = (fields, frozen)
    for attribute in ("__dataclass_fields__", "__dataclass_params__"):
        namespace[attribute] = _DataclassView(attribute)
    if not cls.__doc__:  # dataclass's own doc is the signature of its __init__
        namespace["__doc__"] = f"{cls.__name__}({', '.join(names)})"
    metaclass: Any = type(cls)
    made: Any = metaclass(cls.__name__, cls.__bases__, namespace)

    @recursive_repr()
    def __repr__(self: Any) -> str:  # noqa: N807
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({values})"

    def __setattr__(self: Any, name: str, value: Any) -> None:  # noqa: N807
        if type(self) is made or name in names:
            from dataclasses import FrozenInstanceError

            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(made, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:  # noqa: N807
        if type(self) is made or name in names:
            from dataclasses import FrozenInstanceError

            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(made, self).__delattr__(name)

    def __getstate__(self: Any) -> list[Any]:  # noqa: N807
        return [getattr(self, name) for name in names]

    def __setstate__(self: Any, state: list[Any]) -> None:  # noqa: N807
        for name, value in zip(names, state, strict=False):
            object.__setattr__(self, name, value)

    methods: tuple[Any, ...] = (__repr__,)
    if frozen:
        methods += (__setattr__, __delattr__, __getstate__, __setstate__)
    for method in methods:
        method.__qualname__ = f"{made.__qualname__}.{method.__name__}"
        setattr(made, method.__name__, method)
    for name in ("__init__", "__eq__", "__hash__") if frozen else ("__init__", "__eq__"):
        setattr(made, name, _compiled_on_first_call(made, name, fields, frozen))
    if not frozen:
        made.__hash__ = None  # as dataclass leaves a mutable class that compares by value
    return made  # type: ignore[no-any-return]


class _DataclassView:
    """``__dataclass_fields__`` and ``__dataclass_params__`` of a record, made on their
    first use (``dataclasses.fields``, ``replace``, ``asdict``, ``is_dataclass``) by
    ``dataclasses`` itself, from a class of the same fields, and kept on the record."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, instance: Any, owner: Any) -> Any:
        import dataclasses

        fields, frozen = owner._record_
        shadow: Any = type(owner.__name__, (), {})
        shadow.__annotations__ = {f.name: f.annotation for f in fields}
        for f in fields:
            if f.factory is not _MISSING:
                setattr(shadow, f.name, dataclasses.field(default_factory=f.factory))
            elif f.default is not _MISSING:
                setattr(shadow, f.name, f.default)
        shadow = dataclasses.dataclass(shadow, frozen=frozen, init=False, repr=False, eq=False)
        params = shadow.__dataclass_params__
        params.init = params.repr = params.eq = True
        type.__setattr__(owner, "__dataclass_fields__", shadow.__dataclass_fields__)
        type.__setattr__(owner, "__dataclass_params__", params)
        return getattr(owner, self.attribute)


def _compiled_on_first_call(cls: Any, name: str, fields: tuple[_Field, ...], frozen: bool) -> Any:
    def first_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        compiled = _compile(cls, name, fields, frozen)
        setattr(cls, name, compiled)
        return compiled(self, *args, **kwargs)

    first_call.__name__, first_call.__qualname__ = name, f"{cls.__qualname__}.{name}"
    return first_call


def _compile(cls: Any, name: str, fields: tuple[_Field, ...], frozen: bool) -> Any:
    """``cls``'s ``name`` method as dataclass writes it."""
    mine = "".join(f"self.{f.name}," for f in fields)
    namespace: dict[str, Any] = {"__set": object.__setattr__, "__factory": _FACTORY}
    if name == "__init__":
        arguments, body = [], []
        for f in fields:
            value = f.name
            if f.factory is not _MISSING:
                namespace[f"__make_{f.name}"] = f.factory
                arguments.append(f", {f.name}=__factory")
                value = f"__make_{f.name}() if {f.name} is __factory else {f.name}"
            elif f.default is not _MISSING:
                namespace[f"__default_{f.name}"] = f.default
                arguments.append(f", {f.name}=__default_{f.name}")
            else:
                arguments.append(f", {f.name}")
            setting = f"__set(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}"
            body.append(f"    {setting}\n")
        source = f"def __init__(self{''.join(arguments)}):\n{''.join(body) or '    pass'}\n"
    elif name == "__eq__":
        theirs = "".join(f"other.{f.name}," for f in fields)
        source = (
            "def __eq__(self, other):\n    if other.__class__ is self.__class__:\n"
            f"        return ({mine}) == ({theirs})\n    return NotImplemented\n"
        )
    else:
        source = f"def __hash__(self):\n    return hash(({mine}))\n"
    exec(source, namespace)  # noqa: S102 — the names of our own fields
    function = namespace[name]
    function.__qualname__ = f"{cls.__qualname__}.{name}"
    function.__module__ = cls.__module__
    return function


Status = Literal["open", "pending", "snoozed", "closed"]
STATUSES: tuple[Status, ...] = ("open", "pending", "snoozed", "closed")
#: The statuses of a conversation still being worked on: the backlog, the queue's default.
ACTIVE_STATUSES: tuple[Status, ...] = ("open", "pending")

#: Stored as a small integer so "urgent first" is a plain ORDER BY.
PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")
DEFAULT_PRIORITY = 2

Direction = Literal["in", "out", "note"]
DeliveryState = Literal["queued", "sending", "sent", "failed"]


def priority_name(rank: int) -> str:
    return PRIORITIES[rank] if 0 <= rank < len(PRIORITIES) else "normal"


def priority_rank(name: str) -> int:
    """The rank of a priority name; raises ``ValueError`` naming the valid ones."""
    try:
        return PRIORITIES.index(name.lower())
    except ValueError:
        raise ValueError(f"unknown priority {name!r}: use one of {', '.join(PRIORITIES)}") from None


@record
class View:
    """A saved filter of the queue: what the sidebar lists and ``list`` filters by.

    ``kind`` is one of mine, unassigned, open, pending, snoozed, closed, channel, tag, all,
    search, query; ``arg`` is the channel name, the tag or the search query. A ``query``
    view (a personal or shared saved view) carries its sidebar key in ``arg`` and runs
    ``query`` in ``order``.
    """

    kind: str
    arg: str = ""
    query: str = ""
    order: str = "urgent"

    @property
    def key(self) -> str:
        if self.kind == "query":
            return self.arg
        return f"{self.kind}:{self.arg}" if self.arg else self.kind


@record
class IdentityRecord:
    """An address of a contact in one namespace (``email``, a chat network)."""

    namespace: str
    address: str


@record
class ContactRecord:
    """A contact: its identities, and addresses claimed for it that no channel vouched for
    (shown as "claimed: … (unverified)", linked only by an agent)."""

    id: int
    name: str
    identities: tuple[IdentityRecord, ...]
    claims: tuple[IdentityRecord, ...] = ()


@record
class ChannelRecord:
    """A configured channel as the store knows it: its health and its sync lease."""

    id: int
    name: str
    type: str
    kind: str
    health: str
    health_detail: str | None
    health_at: float | None
    cursor: str | None
    lease_owner: str | None
    lease_expires: float | None
    open_count: int = 0


@record
class ConversationRow:
    """One line of the queue: everything the row shows, nothing more."""

    id: int
    channel: str
    channel_kind: str
    status: str
    priority: int
    assignee: str | None
    contact_id: int
    contact_name: str
    subject: str
    preview: str
    tags: tuple[str, ...]
    created_at: float
    updated_at: float
    last_message_at: float
    waiting_since: float | None
    snooze_until: float | None
    message_count: int
    #: The SLA policy that applies (``None``: none), its current target
    #: (``first_response``, ``next_response``, ``resolution``), since when that target's
    #: clock runs and when it falls due (``None``: nothing due — closed, pending, met).
    sla: str | None = None
    sla_target: str | None = None
    sla_started_at: float | None = None
    sla_due_at: float | None = None
    #: A target was missed (answered or closed late), as of the last change.
    sla_missed: bool = False

    def sla_breached(self, now: float) -> bool:
        """A target was missed, or the current one is past due at ``now``."""
        return self.sla_missed or (self.sla_due_at is not None and self.sla_due_at <= now)

    #: A reply of this conversation failed to send (marked in the queue).
    failed: bool = False
    #: The agent reading has an unsent reply or note draft here (marked in the queue; only
    #: rows read for an agent, :meth:`Store.queue_rows`, know it).
    draft: bool = False


@record
class AttachmentRecord:
    """A file a message carries (its bytes are in the store, by SHA-256)."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


@record
class MessageRecord:
    """One message of a conversation: inbound, a reply (with its delivery state) or a note."""

    id: int
    conversation_id: int
    direction: str
    author: str
    agent: str | None
    sent_at: float
    subject: str
    body: str
    external_id: str | None
    state: str | None
    error: str | None
    attempts: int
    parse_note: str | None
    automated: bool
    url: str | None
    attachments: tuple[AttachmentRecord, ...] = ()
    #: Why it is in this conversation (a code of :mod:`agentconsole.thread_reasons`, None
    #: for messages stored before reasons were kept) and what the reason names.
    thread_reason: str | None = None
    thread_reason_detail: str | None = None
    #: Who wrote an outbound line seen on the channel: ``bot`` or ``agent``; ``None``: as
    #: ``direction`` says (an agent's reply for ``out``).
    author_role: str | None = None


@record
class ConversationDetail:
    """A conversation with its whole thread and the contact's other conversations."""

    row: ConversationRow
    contact: ContactRecord
    channel_type: str
    messages: tuple[MessageRecord, ...]
    first_response_at: float | None
    resolved_at: float | None
    url: str | None
    other_conversations: tuple[ConversationRow, ...] = ()
    #: The id asked for when it was merged into this one (opening it redirects here).
    redirected_from: int | None = None
    #: When a bot handed the conversation to people (``None``: it never did).
    handed_off_at: float | None = None


@record
class SearchHit:
    """A message holding the words searched for, with the snippet that shows them."""

    message_id: int
    conversation_id: int
    sent_at: float
    direction: str
    author: str
    subject: str
    snippet: str


@record
class OutboxItem:
    """A reply waiting for its channel, with everything the plugin needs to send it."""

    id: int
    message_id: int
    conversation_id: int
    channel: str
    idempotency_key: str
    attempts: int
    body: str
    subject: str
    thread_key: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    recipients: tuple[IdentityRecord, ...]
    author_name: str
    #: The files to send.
    attachments: tuple[Attachment, ...] = ()
    #: The other participants of the message answered (reply-all).
    cc: tuple[IdentityRecord, ...] = ()
    #: An earlier claim was abandoned while sending (the process stopped): the channel
    #: may have it already.
    uncertain: bool = False


@record
class FollowUp:
    """The work left on a reply its channel accepted (e.g. filing it in a Sent folder)."""

    outbox_id: int
    message_id: int
    external_id: str
    data: bytes
    attempts: int


@record
class IngestReport:
    """What one committed batch did: how many messages were new, duplicates, which
    conversations were created or touched, which were reopened."""

    stored: int = 0
    duplicates: int = 0
    created: tuple[int, ...] = ()
    touched: tuple[int, ...] = ()
    reopened: tuple[int, ...] = ()


@record
class AuditEntry:
    """One audit entry: ``agent`` is the name it was done under, ``account`` the Unix account
    of the process that did it — on PostgreSQL the session's login role, written by the
    server (``None`` on entries older than the record of accounts)."""

    id: int
    at: float
    agent: str
    action: str
    conversation_id: int | None
    detail: str
    account: str | None = None

    @property
    def who(self) -> str:
        """``alice``, or ``alias (account)`` when the name is not the account."""
        if self.account is None or self.account == self.agent:
            return self.agent
        return f"{self.agent} ({self.account})"


@record
class DraftMacro:
    """A saved reply inserted into a draft, as the draft keeps it: its name and the macro
    actions it applies when the draft is sent — ``tags`` as written (``+tag``/``tag`` add,
    ``-tag`` removes) and the ``status`` it leaves the conversation in, if any. Kept with
    the draft in the store, so they apply even when the reply's file changed since."""

    name: str
    tags: tuple[str, ...] = ()
    status: str | None = None

    @property
    def tag_changes(self) -> tuple[list[str], list[str]]:
        """(tags to add, tags to remove)."""
        add = [t.removeprefix("+") for t in self.tags if not t.startswith("-")]
        remove = [t[1:] for t in self.tags if t.startswith("-")]
        return add, remove


@record
class DraftActivity:
    """Another agent's unsent draft on a conversation: who, ``"reply"`` or ``"note"``, and
    when they last touched it."""

    agent: str
    kind: str
    updated_at: float


@record
class ConversationTiming:
    """What the support measures are computed from, for one conversation."""

    channel: str
    channel_kind: str
    created_at: float
    first_response_at: float | None
    resolved_at: float | None
    #: Replies sent (or queued) by agents.
    replies: int
    status: str
    waiting_since: float | None
    #: The SLA policy, whether a target was missed, and the current due time.
    sla: str | None = None
    sla_missed: bool = False
    sla_due_at: float | None = None


@record
class Change:
    """What an agent (or a rule) does to conversations' state, one or many at once.

    ``kind`` is ``assign`` (``assignee``, ``None`` unassigns; ``force`` takes one another
    agent holds), ``status`` (``status``, ``snooze_until`` for snoozed), ``priority``
    (``rank``) or ``tags`` (``add``, ``remove``).
    """

    kind: Literal["assign", "status", "priority", "tags"]
    assignee: str | None = None
    force: bool = False
    status: str | None = None
    snooze_until: float | None = None
    rank: int | None = None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@record
class ConversationState:
    """The state a change may alter, as it was before: what an undo puts back."""

    conversation_id: int
    status: str
    snooze_until: float | None
    priority: int
    assignee: str | None
    tags: tuple[str, ...]


@record
class ChangeOutcome:
    """What a change did to one conversation: ``changed``, or why not (``error``, with the
    CLI's exit code: 3 not found, 4 held by another agent, 1 nothing to change)."""

    conversation_id: int
    changed: bool
    before: ConversationState | None = None
    error: str | None = None
    exit_code: int = 0


@record
class ThreadingChange:
    """A merge, split or move an agent made (or undid): ``source_id`` is where the messages
    came from, ``target_id`` where they went (the kept conversation of a merge, the new one
    of a split); ``message_ids`` the messages it moved."""

    id: int
    kind: Literal["merge", "split", "move"]
    source_id: int
    target_id: int
    message_ids: tuple[int, ...]
    agent: str
    at: float
    undone: bool = False
