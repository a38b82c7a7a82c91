"""The models are made by :func:`agentconsole.models.record`, which must give every class
exactly what ``@dataclass(frozen=True, slots=True)`` gives it: the same module made the
standard way is the reference, and each class's behaviour is compared with it."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentconsole import models

SOURCE = Path(models.__file__).read_text(encoding="utf-8")
CLASSES = [
    name
    for name, value in vars(models).items()
    if isinstance(value, type)
    and dataclasses.is_dataclass(value)
    and value.__module__ == models.__name__
]


@pytest.fixture(scope="module")
def reference() -> Iterator[types.ModuleType]:
    """models.py with each ``@record`` spelt ``@dataclass(frozen=True, slots=True)``."""
    module = types.ModuleType("reference_models")
    sys.modules[module.__name__] = module
    try:
        source = SOURCE.replace(
            "\n@record\n", "\n@dataclasses.dataclass(frozen=True, slots=True)\n"
        )
        assert source.count("dataclasses.dataclass(frozen=True, slots=True)") == len(CLASSES)
        module.dataclasses = dataclasses  # type: ignore[attr-defined]  # models.py loads it not
        exec(compile(source, "reference_models", "exec"), module.__dict__)
        yield module
    finally:
        del sys.modules[module.__name__]


def test_every_model_is_a_record() -> None:
    assert len(CLASSES) == SOURCE.count("\n@record\n") >= 19


def sample(cls: type, salt: int) -> dict[str, Any]:
    """A value for every field (``salt`` makes another, unequal one)."""
    return {f.name: (f.name, salt) for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("name", CLASSES)
def test_a_record_is_what_the_frozen_slotted_dataclass_is(
    name: str, reference: types.ModuleType
) -> None:
    ours, theirs = getattr(models, name), getattr(reference, name)
    assert [
        (f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash, f.kw_only)
        for f in dataclasses.fields(ours)
    ] == [
        (f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash, f.kw_only)
        for f in dataclasses.fields(theirs)
    ]
    assert ours.__slots__ == theirs.__slots__ and ours.__match_args__ == theirs.__match_args__
    assert repr(ours.__dataclass_params__) == repr(theirs.__dataclass_params__)
    assert not hasattr(ours(**sample(ours, 1)), "__dict__")

    values, other = sample(ours, 1), sample(ours, 2)
    for make in (ours, theirs):  # positional and keyword arguments alike
        assert make(*values.values()) == make(**values)
    a, b = ours(**values), theirs(**values)
    assert repr(a) == repr(b).replace(theirs.__qualname__, ours.__qualname__)
    assert hash(a) == hash(b) == hash(ours(**values))
    assert a == ours(**values) and a != ours(**other) and a != b and (a == b) is False
    for field in values:
        changed = dataclasses.replace(a, **{field: "changed"})
        assert changed != a and getattr(changed, field) == "changed"
    assert dataclasses.asdict(a) == dataclasses.asdict(b) == values
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    for copied in (copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert copied == a and copied is not a

    first = next(iter(values))
    refusals = []
    for target in (a, b):
        with pytest.raises(dataclasses.FrozenInstanceError) as assigned:
            setattr(target, first, 0)
        with pytest.raises(dataclasses.FrozenInstanceError) as deleted:
            delattr(target, first)
        refusals.append((str(assigned.value), str(deleted.value)))
    assert refusals[0] == refusals[1]
    # Another attribute: refused too (the standard class's refusal is Python 3.11's
    # TypeError from its __setattr__, made before slots=True replaced the class).
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.not_a_field = 0  # type: ignore[attr-defined]
    with pytest.raises((TypeError, AttributeError)):
        b.not_a_field = 0


@pytest.mark.parametrize("name", CLASSES)
def test_a_record_refuses_wrong_arguments_as_the_dataclass_does(
    name: str, reference: types.ModuleType
) -> None:
    ours, theirs = getattr(models, name), getattr(reference, name)
    values = sample(ours, 1)
    required = [f.name for f in dataclasses.fields(ours) if f.default is dataclasses.MISSING]
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {**values, "unknown": 1}),
        ((*values.values(), "one too many"), {}),
        ((*values.values(),), {next(iter(values)): "twice"}),
    ]
    if required:
        calls.append(((), {k: v for k, v in values.items() if k != required[-1]}))
    for args, kwargs in calls:
        errors = []
        for make in (ours, theirs):
            with pytest.raises(TypeError) as raised:
                make(*args, **kwargs)
            errors.append(str(raised.value).replace(theirs.__qualname__, ours.__qualname__))
        assert errors[0] == errors[1], (args, kwargs)


def test_replace_without_dataclasses_is_dataclasses_replace() -> None:
    row = models.View("tag", "vip")
    assert models.replace(row, arg="x", order="newest") == dataclasses.replace(
        row, arg="x", order="newest"
    )
    assert models.replace(row) == row and models.replace(row) is not row
    with pytest.raises(TypeError, match="no field colour"):
        models.replace(row, colour="red")


def test_a_record_is_checked_as_dataclass_checks_it() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @models.record
        class Backwards:
            a: int = 1
            b: int

    with pytest.raises(ValueError, match="mutable default"):

        @models.mutable_record
        class Shared:
            items: list[int] = []  # noqa: RUF012 — what the check refuses

    @models.mutable_record
    class Fresh:
        items: list[int] = models.field(default_factory=list)

    assert Fresh().items == [] and Fresh().items is not Fresh().items


def test_equal_records_are_one_key() -> None:
    rows = {models.View("tag", "vip"), models.View("tag", "vip"), models.View("mine")}
    assert rows == {models.View("mine"), models.View(kind="tag", arg="vip")}
    assert models.View("mine") != ("mine", "", "", "urgent")


def test_the_config_is_what_the_slotted_dataclass_is() -> None:
    """``mutable_record`` (the config's two classes) against ``@dataclass(slots=True)``."""
    from agentconsole import config

    source = Path(config.__file__).read_text(encoding="utf-8")
    reference = types.ModuleType("agentconsole.reference_config")
    reference.__dict__.update(__package__="agentconsole", dataclasses=dataclasses)
    sys.modules[reference.__name__] = reference
    try:
        made = source.replace("\n@mutable_record\n", "\n@dataclasses.dataclass(slots=True)\n")
        made = made.replace(
            "from .models import field, mutable_record\n",
            "from dataclasses import field\n\nfrom .models import mutable_record\n",
        )
        assert "from dataclasses import field" in made
        assert made.count("@dataclasses.dataclass(slots=True)") == 2
        exec(compile(made, reference.__name__, "exec"), reference.__dict__)
        ours, theirs = config.parse({}, "c.toml"), reference.parse({}, "c.toml")
    finally:
        del sys.modules[reference.__name__]
    for cls in (config.Config, config.ChannelConfig):
        other = getattr(reference, cls.__name__)
        assert [
            (f.name, f.type, f.default, f.default_factory) for f in dataclasses.fields(cls)
        ] == [(f.name, f.type, f.default, f.default_factory) for f in dataclasses.fields(other)]
        assert cls.__slots__ == other.__slots__ and cls.__match_args__ == other.__match_args__
        assert repr(cls.__dataclass_params__) == repr(other.__dataclass_params__)
        assert cls.__hash__ is None and other.__hash__ is None
    assert repr(ours) == repr(theirs).replace("reference_config.", "")
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    again = config.parse({}, "c.toml")
    assert ours == again and ours.channels is not again.channels  # a new dict each
    again.agent = "someone else"
    assert ours != again and dataclasses.replace(again, agent=ours.agent) == ours
    channel = config.ChannelConfig("mail", "email", True, {"a": 1}, "c.toml")
    assert channel == config.ChannelConfig(*dataclasses.astuple(channel))
    assert pickle.loads(pickle.dumps(channel)) == channel == copy.deepcopy(channel)
    with pytest.raises(TypeError) as ours_error:
        config.ChannelConfig("mail")  # type: ignore[call-arg]
    with pytest.raises(TypeError) as their_error:
        reference.ChannelConfig("mail")
    assert str(ours_error.value) == str(their_error.value)
