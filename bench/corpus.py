"""The generated support mailbox the email benchmarks read, made once per size.

The generator is the shared ``gen_corpus.py`` (it lives outside this repository). It is found,
first hit wins, at:

1. the path given with a bench script's ``--generator PATH``;
2. ``$AGENTCONSOLE_CORPUS_GENERATOR``;
3. ``shared/tools/gen_corpus.py`` or ``tools/gen_corpus.py`` in this repository's folder or
   any folder above it (a checkout next to the shared tools, or a worktree below them).

A corpus already generated is reused without looking for the generator. When one must be
made and no generator is found, :class:`ToolNotFound` says where it looked and how to point
at one. The same search finds the other shared tools (``tui_drive.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
ENVIRONMENT = "AGENTCONSOLE_CORPUS_GENERATOR"
NAME = "gen_corpus.py"
_PLACES = (Path("shared") / "tools", Path("tools"))

#: The ``--generator`` option's help, for every bench script that has one.
GENERATOR_HELP = (
    f"the corpus generator {NAME} (default: ${ENVIRONMENT}, else shared/tools/{NAME} or "
    f"tools/{NAME} in a folder above this repository)"
)

#: Set by a bench script's ``--generator`` option (before the first :func:`corpus` call).
generator_option: Path | None = None


class ToolNotFound(RuntimeError):
    """No such shared tool where the option, the variable or the folders above point."""


def find_tool(name: str, option: Path | None, flag: str, variable: str) -> Path:
    """A shared tool script ``name``: ``option`` (given as ``flag PATH``) if set, else
    ``$variable``, else ``shared/tools/NAME`` or ``tools/NAME`` in this repository's folder
    or any folder above it. Raises :class:`ToolNotFound` naming the fix."""
    if option is not None:
        if not Path(option).is_file():
            raise ToolNotFound(f"{flag} {option}: no such file")
        return Path(option)
    if from_environment := os.environ.get(variable):
        if not Path(from_environment).is_file():
            raise ToolNotFound(f"${variable}={from_environment}: no such file")
        return Path(from_environment)
    for folder in (ROOT, *ROOT.parents):
        for place in _PLACES:
            if (candidate := folder / place / name).is_file():
                return candidate
    raise ToolNotFound(
        f"cannot find {name}: it is not in shared/tools/ or tools/ of {ROOT} or any folder "
        f"above it. Pass {flag} /path/to/{name} or set {variable}=/path/to/{name}"
    )


def find_generator(option: Path | None = None) -> Path:
    """The corpus generator (``--generator``, ``$AGENTCONSOLE_CORPUS_GENERATOR``, upward)."""
    return find_tool(NAME, option or generator_option, "--generator", ENVIRONMENT)


def corpus_folder(size: int) -> Path:
    """Where the corpus of ``size`` messages lives: ``Maildir/`` and ``manifest.json``."""
    return OUT / f"corpus-{size}"


def corpus(size: int) -> Path:
    """The Maildir of ``size`` generated messages (generated once into bench/out/)."""
    folder = corpus_folder(size)
    maildir = folder / "Maildir"
    if not (folder / "manifest.json").exists():
        generator = find_generator()
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  generating a {size:,}-message corpus into {folder} …", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(generator),
                str(size),
                "--maildir",
                str(maildir),
                "--manifest",
                str(folder / "manifest.json"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return maildir


def manifest(size: int) -> dict[str, object]:
    """The generator's manifest of the corpus (counts, suggested query words)."""
    corpus(size)
    return dict(json.loads((corpus_folder(size) / "manifest.json").read_text()))
