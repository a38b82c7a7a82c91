"""The audit commands beyond listing: ``audit --verify`` checks the log's hash chain, and
``store allow-aliases`` / ``forbid-aliases`` say whether agents of a team store may act
under a name other than their Unix account."""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from pathlib import Path

from . import output
from .config import Config
from .errors import ConflictError, NotFoundError, UsageError
from .opening import open_store
from .sanitize import clean
from .store import Store, is_postgres, settings

#: ``audit --verify`` found the chain broken.
EXIT_TAMPERED = 5


async def verify(args: argparse.Namespace, store: Store) -> int:
    """``audit --verify``: exit 0 when the chain holds, :data:`EXIT_TAMPERED` naming the
    first entry changed, removed or inserted otherwise."""
    check = await store.verify_audit()
    if args.json:
        output.emit_json(
            {
                "intact": check.intact,
                "checked": check.checked,
                "entry": check.entry,
                "problem": check.problem,
                "message": check.message,
            }
        )
    elif check.intact:
        print(f"the audit log is intact: {check.checked} entries checked")
    else:
        print(
            clean(
                f"agentconsole: the audit log was tampered with: {check.message} "
                f"({check.checked} entries before it are intact)"
            ),
            file=sys.stderr,
        )
    return 0 if check.intact else EXIT_TAMPERED


async def set_aliases(args: argparse.Namespace, config: Config, location: str | Path) -> int:
    """``store allow-aliases`` / ``store forbid-aliases``: only the store file's owner may."""
    if is_postgres(location):
        raise UsageError(
            "aliases are a store file's setting; on PostgreSQL the agent is the role "
            "(see `store init`)"
        )
    path = Path(location)
    if not path.exists():
        raise NotFoundError(f"no store at {path}")
    owner = path.stat().st_uid
    if owner != os.geteuid():
        try:
            name = pwd.getpwuid(owner).pw_name
        except KeyError:
            name = f"uid {owner}"
        raise ConflictError(
            f"only the owner of {path} ({name}) can change whether agents may act under an alias"
        )
    allow = args.action == "allow-aliases"
    store = await open_store(config, path)
    try:
        await store.set_setting(settings.ALLOW_ALIASES, "true" if allow else "false")
    finally:
        await store.close()
    if allow:
        print(
            f"agents of {path} may act under their [agent] name; the audit log shows it as "
            "'name (account)'"
        )
    else:
        print(f"agents of {path} act as their Unix account")
    return 0
