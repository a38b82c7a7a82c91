"""The Textual TUI. Only modules under this package import Textual; start it with
:func:`agentconsole.tui.app.run` (or ``python -m agentconsole.tui STORE``)."""
