"""Reading mail: quoted history and signatures fold; attachments are saved only under a
name the agent confirms."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from agentconsole.plugin import Attachment
from agentconsole.tui.thread_text import split_folded

from .conftest import make_app, ready, screen_text, wait_for
from .seed import message, open_store

SIZE = (140, 45)

REPLY = "Thanks, the refund arrived.\n\nBest,\n-- \nDana Doe\nHead of Ops, Example Corp\n"

QUOTED = """Still broken after the update.

On Mon, 3 Mar 2025 at 10:00, Acme Support <support@acme.example> wrote:
> Please update to 4.2 and try again.
>
> Kind regards
"""


def test_split_folded_finds_quotes_and_signatures() -> None:
    assert split_folded(REPLY) == ("Thanks, the refund arrived.\n\nBest,", 3)
    assert split_folded(QUOTED) == ("Still broken after the update.", 5)
    whole_quote = "> only a quote\n> nothing new"
    assert split_folded(whole_quote) == (whole_quote, 0)
    outlook = "Yes please.\n\n-----Original Message-----\nFrom: Support\nSent: Monday"
    assert split_folded(outlook) == ("Yes please.", 4)
    assert split_folded("no quote here\n> but this is inline\nand more") == (
        "no quote here\n> but this is inline\nand more",
        0,
    )


async def test_quotes_fold_and_z_shows_them(store_path: Path) -> None:
    store = await open_store(store_path)
    await store.ingest("support", [message("q-1", QUOTED, subject="Update did not help")])
    await store.close()
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "5 quoted or signature lines" in screen_text(app))
        text = screen_text(app)
        assert "Still broken after the update." in text
        assert "Please update to 4.2" not in text and "5 quoted or signature lines" in text
        await pilot.press("z")
        await wait_for(pilot, lambda: "Please update to 4.2" in screen_text(app))
        await pilot.press("z")
        await wait_for(pilot, lambda: "Please update to 4.2" not in screen_text(app))


async def test_an_attachment_is_saved_where_the_agent_says(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    store = await open_store(store_path)
    await store.ingest(
        "support",
        [
            message(
                "a-1",
                "see attached",
                subject="Invoice copy",
                attachments=(Attachment("../../.bashrc", "text/plain", b"echo pwned"),),
            )
        ],
    )
    await store.close()
    app = make_app(store_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: app.main_screen.pane.detail is not None)
        await pilot.press("w")
        await wait_for(pilot, lambda: prompt_value(app) == str(downloads / "bashrc"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: (downloads / "bashrc").exists())
        assert (downloads / "bashrc").read_bytes() == b"echo pwned"
        assert not (tmp_path / ".bashrc").exists()
        # A second save proposes the same name, which now exists: refused, nothing replaced.
        (downloads / "bashrc").write_bytes(b"mine")
        await pilot.press("w")
        await wait_for(pilot, lambda: prompt_value(app) == str(downloads / "bashrc"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "exists: choose another name" in screen_text(app))
        assert (downloads / "bashrc").read_bytes() == b"mine"


def prompt_value(app: object) -> str:
    return app.screen.query_one(Input).value  # type: ignore[attr-defined]
