"""The console warns at start when the audit log's hash chain is broken."""

from __future__ import annotations

import sqlite3

from .conftest import SIZE, make_app, notified, ready, settled


async def test_a_tampered_audit_log_is_reported_on_start(seeded) -> None:
    path, _ = seeded
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        (first,) = conn.execute("SELECT min(id) FROM audit_log").fetchone()
        conn.execute("UPDATE audit_log SET agent = 'mallory' WHERE id = ?", (first,))
    finally:
        conn.close()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await settled(pilot)
        assert notified(app, f"audit entry {first} was changed")


async def test_an_intact_audit_log_is_not_reported(seeded) -> None:
    path, _ = seeded
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await settled(pilot)
        assert not notified(app, "tampered")
