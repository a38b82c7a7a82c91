"""The numbered migrations a backend bundles: one list of numbers for both backends, a file
per number in each backend's ``migrations/`` folder (``NNN_what.sql``)."""

from __future__ import annotations

import os
import sys


def bundled(package: str) -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration in ``package``'s ``migrations/``, in
    order."""
    from importlib import resources  # its readers import zipfile and tempfile: only here

    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest(package: str) -> int:
    """The number of the newest migration of ``package`` (an imported package; 0: none),
    from the file names alone: what opening a store compares its schema with, without
    reading any SQL (a read-only command checks it on every start)."""
    numbers = [
        int(name.split("_", 1)[0])
        for folder in sys.modules[package].__path__
        for name in os.listdir(os.path.join(folder, "migrations"))
        if name.endswith(".sql")
    ]
    return max(numbers, default=0)
