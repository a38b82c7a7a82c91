"""The numbered migrations a backend bundles: one list of numbers for both backends, a file
per number in each backend's ``migrations/`` folder (``NNN_what.sql``)."""

from __future__ import annotations

from importlib import resources


def bundled(package: str) -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration in ``package``'s ``migrations/``, in
    order."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)
