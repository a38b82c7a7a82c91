"""The command line's grammar: every command, its arguments and its help, and which
handler runs it — named ``"module:function"`` of this package and imported only when that
command runs, so ``--version``, ``--help`` and a read command load nothing they do not use.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType

from . import __version__

# Not ``typing`` (a few ms of ``--help``): its names are only for the type checker here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    #: ``"module:function"`` in this package (imported when the command runs), or the
    #: function.
    Handler: TypeAlias = str | Callable[..., Any]


class _Later(Sequence[str]):
    """Choices kept in another module, read only when argparse checks a value or prints a
    command's help (with an explicit metavar it never lists them before)."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load
        self._items: tuple[str, ...] | None = None

    def _all(self) -> tuple[str, ...]:
        if self._items is None:
            self._items = tuple(self._load())
        return self._items

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __contains__(self, value: object) -> bool:
        return value in self._all()


class _Unbuilt:
    """Stands in for the sub-parser of a command not on the command line, which is not made:
    argparse's sub-parsers cost a gettext lookup and a formatter per argument each, most
    of the start of a script otherwise."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        pass

    def add_mutually_exclusive_group(self, **kwargs: Any) -> _Unbuilt:
        return self

    def set_defaults(self, **kwargs: Any) -> None:
        pass


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: ``$COLUMNS``, else the width of the terminal
    on standard output, else 80 — without importing shutil and the compression modules it
    loads (a millisecond or two of every command's start)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, given the width it would ask shutil for."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


#: The options that take a value before the command (``--store PATH list``).
_GLOBAL_VALUES = ("--config", "--store")


def command_named(argv: Sequence[str]) -> str:
    """The command word of ``argv`` as argparse reads it ("" when there is none): the first
    word that is neither an option nor the value of ``--config`` / ``--store``."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, "")
        if not word.startswith("-") or word == "-":
            return word
        # argparse takes an unambiguous prefix of a long option (--sto for --store).
        if "=" not in word and len(word) > 2 and any(o.startswith(word) for o in _GLOBAL_VALUES):
            next(words, None)
    return ""


def _models() -> ModuleType:
    from . import models

    return models


def _views() -> ModuleType:
    from . import views

    return views


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole grammar; with ``argv`` naming a command, that command alone, which is all
    parsing ``argv`` needs (:func:`parse` checks that, and builds everything when not).
    Without a command (``--help``, ``--version``, the console) or with ``help``, every
    command, for the list of them."""
    chosen = None if argv is None else command_named(argv)
    # No command (``--help``, the console): the commands are only listed, so each is one
    # line of help, no sub-parser (argparse lists the same lines for the ones it builds).
    listed_only = chosen == ""
    if chosen in ("", "help"):  # the list of every command is printed
        chosen = None
    names: list[str] = []

    def common_options(suppress: bool) -> argparse.ArgumentParser:
        # Sub-commands repeat the global options with SUPPRESS defaults, so both
        # `agentconsole --json list` and `agentconsole list --json` work.
        extra: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
        flags: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {"default": False}
        options = argparse.ArgumentParser(add_help=False, formatter_class=_Formatter)
        options.add_argument(
            "--config",
            metavar="FILE",
            **extra,
            help="config file (default: $AGENTCONSOLE_CONFIG or "
            "~/.config/agentconsole/config.toml)",
        )
        options.add_argument(
            "--store",
            metavar="STORE",
            **extra,
            help="store file or postgresql:// URL (default: $AGENTCONSOLE_STORE, the config's store, "
            "or ~/.local/share/agentconsole/store.db)",
        )
        options.add_argument(
            "--json", action="store_true", **flags, help="print JSON Lines (schema in the README)"
        )
        options.add_argument(
            "-v", "--verbose", action="store_true", **flags, help="log diagnostics to stderr"
        )
        return options

    common = common_options(False)
    sub_common = None if listed_only else common_options(True)

    parser = argparse.ArgumentParser(
        prog="agentconsole",
        description="Triage and answer email, chat and forum messages in one keyboard-driven queue. "
        "With no command, opens the console on your store.",
        parents=[common],
        formatter_class=_Formatter,
        epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict.",
    )
    parser.add_argument("--version", action="version", version=f"agentconsole {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Handler | None, help_text: str) -> argparse.ArgumentParser:
        names.append(name)
        if listed_only:
            # What add_parser(name, help=...) adds to the list of commands, and nothing else.
            sub._choices_actions.append(sub._ChoicesPseudoAction(name, (), help_text))  # noqa: SLF001
        if listed_only or (chosen is not None and name != chosen):
            return _Unbuilt()  # type: ignore[return-value]  # the methods the grammar calls
        assert sub_common is not None
        p = sub.add_parser(
            name,
            parents=[sub_common],
            help=help_text,
            description=help_text,
            formatter_class=_Formatter,
        )
        p.set_defaults(handler=handler)
        return p

    def with_id(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("id", type=int, help="conversation id")
        return p

    p = command("demo", None, "open the console on a throwaway demo store, live")
    p.add_argument(
        "--seed-only", action="store_true", help="write the demo store (needs --store) and exit"
    )
    p.add_argument("--agent", help="act as this agent (default: your user name)")
    p.add_argument(
        "--force",
        action="store_true",
        help="seed a --store that holds other channels' conversations too (mixes them)",
    )

    p = command("list", "cli_read:run", "list conversations matching a query (default: not closed)")
    p.add_argument(
        "query", nargs="*", help="a query (`agentconsole help query`), e.g. 'tag:billing -is:mine'"
    )
    p.add_argument(
        "--status",
        choices=_Later(lambda: [*_models().STATUSES, "any"]),
        metavar="STATUS",
        help="status:S, one of %(choices)s (any: include closed)",
    )
    p.add_argument("--channel", help="only this channel")
    p.add_argument("--assignee", help="only conversations assigned to this agent")
    p.add_argument("--mine", action="store_true", help="the Mine view: mine, open or pending")
    p.add_argument("--unassigned", action="store_true", help="the Unassigned view: nobody's, open")
    p.add_argument("--tag", help="only conversations with this tag")
    p.add_argument("--limit", type=int, help="at most this many")

    with_id(command("show", "cli_read:run", "show a conversation with its messages"))
    p = command("search", "cli_read:run", "messages holding the words of a query, newest first")
    p.add_argument(
        "query",
        nargs="+",
        help='a query: words all in one message ("quoted phrase", word* a prefix) and fields '
        "its conversation must match (`agentconsole help query`)",
    )
    p.add_argument("--limit", type=int, default=50, help="at most this many hits (default 50)")

    p = command(
        "reply",
        "cli_actions:cmd_reply",
        "queue a reply (text on stdin or --body-file, or a saved reply: --template NAME)",
    )
    p.add_argument(
        "targets", nargs="*", metavar="ID…", help="conversation id (several with --template)"
    )
    p.add_argument(
        "--query",
        metavar="QUERY",
        help="with --template: also every conversation this query selects (as `list QUERY` shows)",
    )
    p.add_argument("--body-file", metavar="FILE")
    p.add_argument(
        "--template",
        metavar="NAME",
        help="send saved reply NAME (its file name without .md; `agentconsole replies` lists "
        "them), filled in for each conversation, with its tags and status",
    )
    p.add_argument(
        "--attach",
        action="append",
        metavar="FILE",
        help="attach a file (repeat for several)",
    )
    p.add_argument(
        "--expect-last",
        type=int,
        metavar="MESSAGE_ID",
        help="refuse (exit 4) if another agent replied after this message",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--close", action="store_true", help="close the conversation after replying")
    group.add_argument(
        "--pending", action="store_true", help="mark it pending (waiting on the customer)"
    )
    p = with_id(
        command(
            "note", "cli_actions:cmd_note", "add an internal note (text on stdin or --body-file)"
        )
    )
    p.add_argument("--body-file", metavar="FILE")
    p = command("replies", None, "saved replies: list them (and broken files), or show one")
    p.add_argument(
        "action", nargs="?", choices=["list", "show"], default="list", help="default: list"
    )
    p.add_argument("name", nargs="?", help="the reply's name (its file name without .md)")

    def several(p: argparse.ArgumentParser, words: str) -> argparse.ArgumentParser:
        p.add_argument("targets", nargs="*", metavar=f"ID… {words}".strip())
        p.add_argument(
            "--query",
            metavar="QUERY",
            help="also every conversation this query selects (as `list QUERY` shows them)",
        )
        return p

    p = several(command("assign", "cli_actions:cmd_assign", "assign conversations"), "[AGENT]")
    p.add_argument("--me", action="store_true", help="assign to me")
    p.add_argument("--force", action="store_true", help="take them even if another agent holds one")
    p = several(command("unassign", "cli_actions:cmd_unassign", "remove the assignee"), "")
    p.add_argument("--force", action="store_true", help="even if another agent holds one")
    several(command("close", "cli_actions:cmd_close", "close conversations"), "")
    several(command("reopen", "cli_actions:cmd_reopen", "reopen conversations"), "")
    several(command("pending", "cli_actions:cmd_pending", "mark as waiting on the customer"), "")
    several(
        command(
            "snooze",
            "cli_actions:cmd_snooze",
            "snooze until a time ('tomorrow 9am', 'in 2h', 'mon')",
        ),
        "WHEN",
    )
    p = several(
        command("tag", "cli_actions:cmd_tag", "add (+tag or tag) and remove (-tag) tags"),
        "[+-]TAG…",
    )
    p.add_argument("--remove", action="append", metavar="TAG", help="remove a tag (same as -TAG)")
    several(
        command(
            "priority", "cli_actions:cmd_priority", "set the priority: urgent, high, normal, low"
        ),
        "LEVEL",
    )
    p = command(
        "store",
        None,
        "the store itself: `store share --group G` makes a team store file; "
        "`store migrate SRC DST` copies a store into another (SQLite <-> PostgreSQL)",
    )
    p.add_argument(
        "action",
        choices=["share", "allow-aliases", "forbid-aliases", "migrate", "init"],
        help="share: folder 2770, files 0660 for a group; allow-aliases / forbid-aliases: "
        "whether agents of a team store may act under their [agent] name (owner only); "
        "migrate: copy SRC into DST; init: a PostgreSQL store's owner and agents roles "
        "(audit log append-only)",
    )
    p.add_argument("source", nargs="?", metavar="SRC", help="migrate: the store to copy")
    p.add_argument("destination", nargs="?", metavar="DST", help="migrate: where to copy it")
    p.add_argument("--group", help="share: the Unix group of the team's agents")
    p.add_argument(
        "--agent", action="append", metavar="ROLE", help="init: make this login role an agent"
    )
    p = command(
        "views", "views_cli:run", "sidebar views with their queries and counts; add or remove one"
    )
    p.add_argument("action", nargs="?", choices=["list", "add", "remove"], help="default: list")
    p.add_argument("name", nargs="?", help="the view's name")
    p.add_argument("query", nargs="?", help="its query (views add), e.g. 'tag:vip -is:mine'")
    p.add_argument("--shared", action="store_true", help="the team's view, kept in the store")
    p.add_argument(
        "--order",
        choices=_Later(lambda: _views().ORDERS),
        metavar="ORDER",
        default="urgent",
        help="row order: %(choices)s",
    )
    p.add_argument("--key", help="a key that jumps to the view in the console")
    p.add_argument("--replace", action="store_true", help="change a view of that name")
    several(command("spam", "cli_actions:cmd_spam", "into Spam; the sender is blocked there"), "")
    several(command("unspam", "cli_actions:cmd_unspam", "not spam: back, sender unblocked"), "")
    p = command(
        "rules", "rules_cli:run", "rules: list them, test one on the history (writes nothing), undo"
    )
    p.add_argument("action", choices=["list", "test", "undo"], help="list, test [RULE], undo ID")
    p.add_argument("rule", nargs="?", help="test: the rule's name (default: all); undo: an id")
    p.add_argument(
        "--since", default="30d", metavar="DURATION", help="test: the period replayed (30d)"
    )
    p = command(
        "raw",
        "cli_actions:cmd_raw",
        "write a message's original bytes, as received, to stdout (email)",
    )
    p.add_argument("message_id", type=int, help="message id (ids are in show --json)")
    p = command("retry", "cli_actions:cmd_retry", "send a failed reply again")
    p.add_argument("message_id", type=int)
    from . import threading_cli

    threading_cli.add_commands(command)
    p = command(
        "unsend",
        "cli_actions:cmd_unsend",
        "take replies back during their undo window (each becomes a draft again)",
    )
    p.add_argument(
        "message_ids",
        metavar="message_id",
        type=int,
        nargs="+",
        help="the reply's message id (the console shows it); several: each one still in its"
        " window is taken back",
    )
    p = command(
        "link", "cli_actions:cmd_link", "link two contacts as one person (undo with unlink)"
    )
    p.add_argument("keep", type=int, help="contact id to keep")
    p.add_argument("merge", type=int, help="contact id merged into it")
    p = command(
        "unlink", "cli_actions:cmd_unlink", "undo a link of two contacts (give either of them)"
    )
    p.add_argument(
        "contact", type=int, help="the contact merged away or the one kept (ids in show --json)"
    )
    p = command(
        "save", "cli_actions:cmd_save", "save an attachment (ids are in `show`) to a file you name"
    )
    p.add_argument("attachment_id", type=int)
    p.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        help="where to write it (default: a cleaned version of its name in the download "
        "folder: $XDG_DOWNLOAD_DIR, user-dirs.dirs, ~/Downloads, else the current folder)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p = command(
        "report",
        "cli_admin:cmd_report",
        "backlog, first response, resolution, first-contact resolution and SLA breaches",
    )
    p.add_argument(
        "--since",
        default="7d",
        metavar="DURATION",
        help="the period: conversations created in the last 24h, 7d (default), 4w…",
    )
    p = command("audit", "cli_admin:cmd_audit", "the audit log (of a conversation, or all)")
    p.add_argument("id", type=int, nargs="?")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the log's hash chain; exit 5 naming the first entry changed, removed or "
        "inserted",
    )
    p = command("sync", "cli_admin:cmd_sync", "run the configured channels (fetch and send)")
    p.add_argument("--once", action="store_true", help="fetch and send once, then exit")
    p = command(
        "deliver", "cli_admin:cmd_deliver", "ingest one message from standard input (mail pipe)"
    )
    p.add_argument("--channel", required=True, help="the configured channel it arrived on")
    command("channels", "cli_admin:cmd_channels", "configured channels and their health")
    p = command("help", None, "explain a topic: query (the query language)")
    p.add_argument("topic", nargs="?", choices=["query"])
    command("plugins", None, "installed channel plugins, their capabilities and options")
    p = command("config", None, "the config file: `config example` prints a commented one")
    p.add_argument(
        "action",
        choices=["example"],
        help="example: print a commented example config (every key; every channel off), "
        "e.g. `agentconsole config example > ~/.config/agentconsole/config.toml`",
    )
    if chosen is not None and chosen not in names:
        return build_parser()  # argparse says it is no command, naming them all
    return parser


def parse(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """(the parser, the arguments) of a command line, building the parser of its command
    only (exits with argparse's message and code 2 on a usage error, 0 after --help)."""
    argv = tag_removals(list(argv))
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if (args.command or "") != command_named(argv):  # read otherwise than foreseen
        parser = build_parser()
        args = parser.parse_args(argv)
    return parser, args


def tag_removals(argv: list[str]) -> list[str]:
    """``tag ID +a -b``: argparse would read ``-b`` as an option, so spell it ``--remove=b``
    (the value of an option that takes one, such as ``--query '-status:closed'``, stays)."""
    if "tag" not in argv:
        return argv
    at = argv.index("tag")
    known = {"-v", "-h"}
    taking_value = {"--query", "--store", "--config", "--remove"}
    rest: list[str] = []
    for token in argv[at + 1 :]:
        if rest and rest[-1] in taking_value:
            rest.append(token)
        elif (
            token.startswith("-")
            and not token.startswith("--")
            and token not in known
            and len(token) > 1
        ):
            rest.append(f"--remove={token[1:]}")
        else:
            rest.append(token)
    return [*argv[: at + 1], *rest]
