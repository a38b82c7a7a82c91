"""Rules: what the team automates — tags, priority, status, assignment, saved replies,
notes, spam, hooks — on events (a message in, a new conversation, an agent's change, every
minute), conditions in the query language. Headless: no Textual, no Rich, no SQL.

This package's root holds only the definitions (:mod:`.definition`), which the store
imports to run rules in its transactions; reading the config (:mod:`.loading`) and the
background work (:mod:`.runner`) are imported from their modules.
"""

from __future__ import annotations

from .definition import (
    EVENTS,
    Actions,
    Assignment,
    Event,
    Rule,
    RuleProblem,
    RuleReplay,
    RuleSet,
    rule_agent,
)

__all__ = [
    "EVENTS",
    "Actions",
    "Assignment",
    "Event",
    "Rule",
    "RuleProblem",
    "RuleReplay",
    "RuleSet",
    "rule_agent",
]
