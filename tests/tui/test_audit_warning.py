"""The console warns at start when the audit log's hash chain is broken."""

from __future__ import annotations

from .conftest import SIZE, make_app, notified, ready, settled
from .seed import open_store


async def test_a_tampered_audit_log_is_reported_on_start(seeded) -> None:
    path, _ = seeded
    # someone with write access to the store's tables rewrites history behind its back
    store = await open_store(path, "mallory")
    try:
        (first,) = await store.run_sync(
            lambda db: db.execute("SELECT min(id) FROM audit_log").fetchone()
        )
        await store.run_sync(
            lambda db: db.execute("UPDATE audit_log SET agent = 'mallory' WHERE id = ?", (first,))
        )
    finally:
        await store.close()
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
