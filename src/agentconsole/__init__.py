"""agentconsole: a keyboard-driven terminal console for customer support."""

__version__ = "0.1.0"
