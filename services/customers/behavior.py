"""Behaviour patterns: a small, ordered rule engine over a finished journey.

Rules are tried in order; the first whose conditions all hold gives the journey its label, and a
journey that matches none gets the rule set's ``default``. Conditions (every one optional):

``min_duration`` / ``max_duration``
    Total visit duration in seconds (``min <= d < max``).
``min_zones`` / ``max_zones``
    Number of *distinct* zones visited (inclusive bounds).
``zones_all`` / ``zones_any`` / ``zones_none``
    Zone names that must all / at least one / none appear among the zones visited.
``sequence``
    Zone names that must have been entered in this order (other zones may come in between).
``min_dwell`` / ``max_dwell``
    ``{zone: seconds}``: time spent in each named zone must be ``>=`` (resp. ``<``) the value; a zone
    never visited has a dwell of 0. The key ``"*"`` means "the zone with the longest dwell".

Rule sets load from JSON or TOML, for example::

    default = "browser"

    [[rules]]
    label = "quick visit"
    max_duration = 60

    [[rules]]
    label = "VIP"
    zones_all = ["vip_area"]
    min_duration = 600

A rule may also be any callable ``journey -> str | None`` (``None``: does not apply), for the
seed's ``custom_behavior_classification(journey)`` style.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from footfall.services.core.errors import InvalidArgument


class JourneyFacts(Protocol):
    """What rules look at (``CustomerJourney`` has these fields)."""

    zones_visited: list[str]
    dwell_times: dict[str, float]
    total_duration: float | None


_CONDITIONS = {
    "min_duration", "max_duration", "min_zones", "max_zones", "zones_all", "zones_any", "zones_none",
    "sequence", "min_dwell", "max_dwell",
}


@dataclass(frozen=True)
class BehaviorRule:
    """One ordered rule: ``label`` when every given condition holds (see the module docstring)."""

    label: str
    min_duration: float | None = None
    max_duration: float | None = None
    min_zones: int | None = None
    max_zones: int | None = None
    zones_all: tuple[str, ...] = ()
    zones_any: tuple[str, ...] = ()
    zones_none: tuple[str, ...] = ()
    sequence: tuple[str, ...] = ()
    min_dwell: Mapping[str, float] = field(default_factory=dict)
    max_dwell: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise InvalidArgument("a behaviour rule needs a non-empty label")
        for name in ("zones_all", "zones_any", "zones_none", "sequence"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(str(v) for v in value))
        for name in ("min_dwell", "max_dwell"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise InvalidArgument(f"rule {self.label!r}: {name} must map zone names to seconds")
            object.__setattr__(self, name, {str(k): float(v) for k, v in value.items()})
        for name in ("min_duration", "max_duration"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or math.isnan(value) or value < 0):
                raise InvalidArgument(f"rule {self.label!r}: {name} must be a number of seconds >= 0")
        for name in ("min_zones", "max_zones"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidArgument(f"rule {self.label!r}: {name} must be an integer >= 0")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BehaviorRule:
        unknown = set(data) - _CONDITIONS - {"label"}
        if unknown:
            raise InvalidArgument(f"unknown behaviour rule keys: {', '.join(sorted(unknown))}")
        if "label" not in data:
            raise InvalidArgument("a behaviour rule needs a label")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label}
        for name in sorted(_CONDITIONS):
            value = getattr(self, name)
            if value in (None, (), {}):
                continue
            out[name] = list(value) if isinstance(value, tuple) else (dict(value) if isinstance(value, Mapping) else value)
        return out

    def matches(self, journey: JourneyFacts) -> bool:
        zones = list(journey.zones_visited)
        distinct = set(zones)
        dwell = journey.dwell_times
        duration = journey.total_duration or 0.0
        if self.min_duration is not None and duration < self.min_duration:
            return False
        if self.max_duration is not None and duration >= self.max_duration:
            return False
        if self.min_zones is not None and len(distinct) < self.min_zones:
            return False
        if self.max_zones is not None and len(distinct) > self.max_zones:
            return False
        if self.zones_all and not all(z in distinct for z in self.zones_all):
            return False
        if self.zones_any and not any(z in distinct for z in self.zones_any):
            return False
        if self.zones_none and any(z in distinct for z in self.zones_none):
            return False
        if self.sequence and not _is_subsequence(self.sequence, zones):
            return False
        for zone, seconds in self.min_dwell.items():
            if _dwell(dwell, zone) < seconds:
                return False
        for zone, seconds in self.max_dwell.items():
            if _dwell(dwell, zone) >= seconds:
                return False
        return True


def _dwell(dwell: Mapping[str, float], zone: str) -> float:
    if zone == "*":
        return max(dwell.values(), default=0.0)
    return float(dwell.get(zone, 0.0))


def _is_subsequence(wanted: Sequence[str], zones: Sequence[str]) -> bool:
    it = iter(zones)
    return all(any(z == w for z in it) for w in wanted)


RuleLike = BehaviorRule | Callable[[Any], "str | None"]


@dataclass(frozen=True)
class BehaviorRules:
    """An ordered rule set with a fallback label."""

    rules: tuple[RuleLike, ...]
    default: str = "browser"

    def classify(self, journey: JourneyFacts) -> str:
        for rule in self.rules:
            if isinstance(rule, BehaviorRule):
                if rule.matches(journey):
                    return rule.label
            else:
                label = rule(journey)
                if label:
                    return str(label)
        return self.default

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BehaviorRules:
        unknown = set(data) - {"rules", "default"}
        if unknown:
            raise InvalidArgument(f"unknown behaviour rule set keys: {', '.join(sorted(unknown))}")
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            raise InvalidArgument("`rules` must be a list")
        default = data.get("default", "browser")
        if not isinstance(default, str) or not default:
            raise InvalidArgument("`default` must be a non-empty label")
        return cls(tuple(BehaviorRule.from_dict(r) for r in rules), default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "default": self.default,
            "rules": [r.to_dict() for r in self.rules if isinstance(r, BehaviorRule)],
        }

    @classmethod
    def load(cls, path: str | Path) -> BehaviorRules:
        """Rules from a `.json` or `.toml` file."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            raise InvalidArgument(f"behaviour rules must be .json or .toml, not {path.name}")
        return cls.from_dict(data)

    @classmethod
    def parse(cls, text: str, fmt: str = "json") -> BehaviorRules:
        data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
        return cls.from_dict(data)


#: The defaults: checked in this order, a journey matching none is a "browser".
DEFAULT_RULES = BehaviorRules(
    rules=(
        # In and out within a minute: passing through, a quick look, a forgotten item.
        BehaviorRule("quick visit", max_duration=60),
        # Long visit across several areas.
        BehaviorRule("engaged", min_duration=600, min_zones=3),
        # Went to one or two areas and spent most of the visit there (>= 2 minutes in one zone).
        BehaviorRule("destination shopper", max_zones=2, min_zones=1, min_dwell={"*": 120}),
    ),
    default="browser",
)


def resolve_rules(rules: BehaviorRules | str | Path | Mapping[str, Any] | Sequence[RuleLike] | None) -> BehaviorRules:
    """Accept a rule set, a path to a JSON/TOML file, a dict, or a list of rules/callables."""
    if rules is None:
        return DEFAULT_RULES
    if isinstance(rules, BehaviorRules):
        return rules
    if isinstance(rules, (str, Path)):
        return BehaviorRules.load(rules)
    if isinstance(rules, Mapping):
        return BehaviorRules.from_dict(rules)
    if callable(rules):
        return BehaviorRules((rules,), DEFAULT_RULES.default)  # type: ignore[arg-type]
    return BehaviorRules(tuple(rules), DEFAULT_RULES.default)
