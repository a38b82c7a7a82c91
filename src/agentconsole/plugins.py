"""Finding channel plugins: the ``agentconsole.channels`` entry-point group, plus single-file
plugins in the user's plugin folder (a ``.py`` file defining ``PLUGIN = <class>``).

Names are listed without importing anything; a plugin is imported only when a channel of its
type is configured or when ``agentconsole plugins`` asks. A plugin that fails to import or
breaks the contract is reported with the reason — it never takes the rest down.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from .errors import PluginLoadError
from .plugin import API_VERSION, ChannelPlugin

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "agentconsole.channels"


@dataclass(frozen=True, slots=True)
class PluginSource:
    """Where a plugin comes from, before it is imported."""

    type_name: str
    origin: str  # "entry point <dist>:<target>" or a file path
    entry_point: EntryPoint | None = None
    path: Path | None = None


def discover(plugin_dir: Path | None = None) -> dict[str, PluginSource]:
    """Every installed plugin by type name. A file in the plugin folder wins over an entry
    point of the same name, so a user can override a bundled plugin."""
    found: dict[str, PluginSource] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(point.dist, "name", "?") if point.dist else "?"
        found[point.name] = PluginSource(point.name, f"{dist}: {point.value}", entry_point=point)
    if plugin_dir and plugin_dir.is_dir():
        for file in sorted(plugin_dir.glob("*.py")):
            if not file.name.startswith("_"):
                found[file.stem] = PluginSource(file.stem, str(file), path=file)
    return found


def load(source: PluginSource) -> type[ChannelPlugin]:
    """Import a plugin and check it against the contract; raises :class:`PluginLoadError`
    naming the plugin and the reason."""
    try:
        if source.path is not None:
            module_name = f"agentconsole_userplugin_{source.type_name}"
            spec = importlib.util.spec_from_file_location(module_name, source.path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot read {source.path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            candidate = getattr(module, "PLUGIN", None)
            if candidate is None:
                raise PluginLoadError(
                    f"plugin file {source.path} defines no PLUGIN = <ChannelPlugin subclass>"
                )
        else:
            assert source.entry_point is not None  # a source is a file or an entry point
            candidate = source.entry_point.load()
    except PluginLoadError:
        raise
    except Exception as error:  # any import-time failure is the plugin's, not ours
        raise PluginLoadError(
            f"channel plugin {source.type_name!r} ({source.origin}) failed to load: "
            f"{type(error).__name__}: {error}"
        ) from error
    return check(source.type_name, candidate)


def check(type_name: str, candidate: object) -> type[ChannelPlugin]:
    """The static part of the contract: a concrete ChannelPlugin of the right API version.
    Returns ``candidate``, now known to be one; raises :class:`PluginLoadError`."""
    if not (inspect.isclass(candidate) and issubclass(candidate, ChannelPlugin)):
        raise PluginLoadError(f"channel plugin {type_name!r} is not a ChannelPlugin subclass")
    if inspect.isabstract(candidate):
        raise PluginLoadError(f"channel plugin {type_name!r} does not implement fetch()")
    if getattr(candidate, "api_version", None) != API_VERSION:
        raise PluginLoadError(
            f"channel plugin {type_name!r} was written for plugin API "
            f"{getattr(candidate, 'api_version', '?')}, this agentconsole speaks {API_VERSION}"
        )
    if getattr(candidate, "type_name", None) != type_name:
        raise PluginLoadError(
            f"channel plugin registered as {type_name!r} calls itself "
            f"{getattr(candidate, 'type_name', None)!r}"
        )
    if candidate.kind not in ("email", "chat", "forum"):
        raise PluginLoadError(f"channel plugin {type_name!r} has unknown kind {candidate.kind!r}")
    return candidate


def load_all(
    plugin_dir: Path | None = None,
) -> tuple[dict[str, type[ChannelPlugin]], dict[str, str]]:
    """(loaded plugins, errors by type name): broken plugins are reported, not fatal."""
    loaded: dict[str, type[ChannelPlugin]] = {}
    errors: dict[str, str] = {}
    for type_name, source in discover(plugin_dir).items():
        try:
            loaded[type_name] = load(source)
        except PluginLoadError as error:
            log.warning("%s", error)
            errors[type_name] = str(error)
    return loaded, errors
