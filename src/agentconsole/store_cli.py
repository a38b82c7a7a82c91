"""``agentconsole store migrate SRC DST``: copy a store into another backend (SQLite to
PostgreSQL or back), with progress on stderr, resumable, verified by counts and digests."""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

from . import output
from .errors import StoreError, UsageError
from .sanitize import clean
from .store import Store, connect, copying, init_team_roles, is_postgres

#: Rows per transaction: large enough to amortize a commit, small enough to resume often.
BATCH = 2000


def _location(text: str) -> str | Path:
    return text if is_postgres(text) else Path(text).expanduser()


async def migrate(args: argparse.Namespace, agent: str) -> int:
    if not args.source or not args.destination:
        raise UsageError(
            "store migrate needs SRC and DST: a store file or a postgresql:// URL each"
        )
    source_location, destination_location = _location(args.source), _location(args.destination)
    if isinstance(source_location, Path) and not source_location.exists():
        raise UsageError(f"no store at {source_location}")
    source = await connect(source_location, agent=agent)
    try:
        destination = await connect(destination_location, agent=agent)
        try:
            if source.backend == destination.backend and source.location == destination.location:
                raise UsageError("SRC and DST are the same store")
            counts, seconds = await _copy(source, destination, quiet=args.json)
        finally:
            await destination.close()
    finally:
        await source.close()
    if args.json:
        output.emit_json(
            {
                "source": source.location,
                "destination": destination.location,
                "counts": counts,
                "seconds": round(seconds, 2),
            }
        )
    else:
        print(
            clean(
                f"copied {source.location} to {destination.location}: "
                + ", ".join(f"{name} {n}" for name, n in counts.items() if n)
                + f"; raw messages and attachments verified ({seconds:.1f} s)"
            )
        )
    return 0


async def _copy(source: Store, destination: Store, *, quiet: bool) -> tuple[dict[str, int], float]:
    started = time.monotonic()
    totals = {
        t.name: await source.run_sync(partial(copying.count, table=t)) for t in copying.TABLES
    }
    missing = await source.run_sync(copying.schema_tables) - {t.name for t in copying.TABLES}
    if missing:
        raise StoreError(f"this agentconsole cannot copy tables {', '.join(sorted(missing))}")
    grand_total = sum(totals.values()) or 1
    done = 0
    for table in copying.TABLES:
        after = await destination.run_sync(partial(copying.last_key, table=table))
        already = await destination.run_sync(partial(copying.count, table=table))
        done += already
        while True:
            columns, rows = await source.run_sync(
                partial(copying.read_batch, table=table, after=after, limit=BATCH)
            )
            if not rows:
                break
            await destination.run_sync(
                partial(copying.write_batch, table=table, columns=columns, rows=rows)
            )
            after = tuple(rows[-1][columns.index(k)] for k in table.key)
            done += len(rows)
            if not quiet:
                _progress(table.name, done, grand_total)
    await destination.run_sync(copying.finish)
    if not quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    counts = {
        t.name: await destination.run_sync(partial(copying.count, table=t)) for t in copying.TABLES
    }
    wrong = [name for name, n in counts.items() if n != totals[name]]
    if wrong:
        raise StoreError(
            f"the copy differs in {', '.join(wrong)} (source {[totals[n] for n in wrong]}, copy "
            f"{[counts[n] for n in wrong]}); run the same command again to resume"
        )
    for table in copying.TABLES:
        if table.checked and (
            await source.run_sync(partial(copying.digest, table=table))
            != await destination.run_sync(partial(copying.digest, table=table))
        ):
            raise StoreError(f"the copy of {table.name} differs from the source's bytes")
    return counts, time.monotonic() - started


def _progress(table: str, done: int, total: int) -> None:
    share = min(done / total, 1.0)
    if sys.stderr.isatty():
        bar = "#" * int(share * 30)
        print(f"\r[{bar:<30}] {share:6.1%}  {table:<18}", end="", file=sys.stderr, flush=True)
    else:
        print(f"{table}: {done} of {total} rows", file=sys.stderr)


async def init(args: argparse.Namespace, location: str | Path) -> int:
    """``store init [--agent NAME …]`` on a PostgreSQL store."""
    done = await init_team_roles(location, args.agent or [])
    if args.json:
        output.emit_json({"store": str(location), "done": done})
    else:
        for line in done:
            print(clean(line))
    return 0
