"""The core's error hierarchy. Messages are written for the person who must act on them."""

from __future__ import annotations


class AgentConsoleError(Exception):
    """Base of every error the core raises on purpose. ``exit_code`` is the CLI's."""

    exit_code = 1


class ConfigError(AgentConsoleError):
    """A config file is unreadable or invalid; the message names the file, the key and the fix."""

    exit_code = 2


class NotFoundError(AgentConsoleError):
    """A conversation, message, contact or channel that was asked for does not exist."""

    exit_code = 3


class ConflictError(AgentConsoleError):
    """Someone else got there first (another agent owns the conversation, a lease is held)."""

    exit_code = 4


class UsageError(AgentConsoleError):
    """The request itself is malformed (bad date, unknown status, empty reply)."""

    exit_code = 2


class StoreError(AgentConsoleError):
    """The store cannot be opened, migrated, read or written.

    ``temporary`` is true for a failure that may heal without changing agentconsole (busy,
    locked, full, read-only, not reachable): a mail pipe answers EX_TEMPFAIL so the mail
    server keeps the message and tries again.
    """

    temporary = False


class StoreBusyError(StoreError):
    """Another process held the store's lock past the busy timeout."""

    temporary = True


class StoreFullError(StoreError):
    """The store cannot grow: the disk (or the store's size limit) is full."""

    temporary = True


class StoreReadOnlyError(StoreError):
    """The store's file, folder or file system is not writable by this process."""

    temporary = True


class StoreUnavailableError(StoreError):
    """The store cannot be opened or read right now (I/O error, permission, missing folder)."""

    temporary = True


class PluginLoadError(AgentConsoleError):
    """A channel plugin could not be imported or does not honour the contract."""
