"""[[sla]] policies in the config: read in order, checked strictly, errors that name the
file, the policy and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agentconsole import config as config_module
from agentconsole.errors import ConfigError
from agentconsole.query import parse

ROOT = Path(__file__).resolve().parents[2]
HOURS = """
[business_hours]
timezone = "Europe/Warsaw"
week = { mon = "08:00-18:00", fri = "08:00-16:00" }
holidays = ["2026-12-24"]
"""


def load(text: str) -> config_module.Config:
    return config_module.parse(tomllib.loads(text), "team.toml")


def test_policies_are_read_in_order_with_the_default_last() -> None:
    config = load(
        HOURS
        + """
[[sla]]
name = "urgent"
if = "priority:urgent"
first_response = "1h"
resolution = "8h"
business_hours = false

[[sla]]
name = "standard"
first_response = "4h"
next_response = "2h"
"""
    )
    assert config.sla is not None
    urgent, standard = config.sla.policies
    assert (urgent.name, urgent.query, urgent.first_response, urgent.resolution) == (
        "urgent",
        parse("priority:urgent"),
        3600.0,
        28800.0,
    )
    assert urgent.business_hours is False and standard.business_hours is True
    assert (standard.query, standard.next_response, standard.resolution) == (None, 7200.0, None)
    assert config.sla.calendar is not None
    assert config.first_response_target is None


def test_the_old_sla_table_still_sets_the_reports_target() -> None:
    config = load('[sla]\nfirst_response = "4h"\n')
    assert (config.first_response_target, config.sla) == (14400.0, None)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            'name = "x"\nfrist_response = "1h"',
            "team.toml: unknown key 'frist_response' in [[sla]] 'x'; did you mean "
            "'first_response'?",
        ),
        ('first_response = "1h"', "team.toml: [[sla]] number 1 needs a name"),
        ('name = "x"', "[[sla]] 'x' sets no target"),
        ('name = "x"\nfirst_response = "soon"', "[[sla]] 'x' first_response: cannot read"),
        ('name = "x"\nfirst_response = "1h"\nbusiness_hours = "no"', "business_hours must be true or false"),
        ('name = "x"\nfirst_response = "1h"\nif = "priority:urgnt"', "[[sla]] 'x' if: "),
        ('name = "x"\nfirst_response = "1h"\nif = "sla:breached"', "cannot be chosen by sla:"),
        ('name = "x"\nfirst_response = "1h"\nif = "assignee:me"', "'me' differs for each agent"),
    ],
)  # fmt: skip
def test_a_bad_policy_is_an_error_naming_the_file_policy_and_key(policy: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(HOURS + "[[sla]]\n" + policy + "\n")
    assert message in str(error.value)


def test_business_hours_policies_need_the_business_hours_table() -> None:
    with pytest.raises(ConfigError, match=r"no \[business_hours\] table.*business_hours = false"):
        load('[[sla]]\nname = "standard"\nfirst_response = "4h"\n')


def test_the_default_policy_must_come_last_and_names_are_unique() -> None:
    default_first = """
[[sla]]
name = "everyone"
first_response = "4h"
[[sla]]
name = "urgent"
if = "priority:urgent"
first_response = "1h"
"""
    with pytest.raises(ConfigError, match="'urgent' after it would never apply; move it"):
        load(HOURS + default_first)
    twice = '[[sla]]\nname = "a"\nfirst_response = "1h"\nif = "tag:x"\n' * 2
    with pytest.raises(ConfigError, match="a second policy named 'a'"):
        load(HOURS + twice)


def test_a_typo_in_business_hours_is_reported_without_policies() -> None:
    with pytest.raises(ConfigError, match=r"team.toml \[business_hours\]: unknown key 'timzone'"):
        load('[business_hours]\ntimzone = "Europe/Warsaw"\nweek = { mon = "08:00-18:00" }\n')


def test_the_example_config_holds_valid_policies() -> None:
    text = (ROOT / "src" / "agentconsole" / "config.example.toml").read_text(encoding="utf-8")
    config = config_module.parse(tomllib.loads(text), "config.example.toml")
    assert config.sla is not None and [p.name for p in config.sla.policies]
