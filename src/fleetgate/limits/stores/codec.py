"""The wire layout between the Redis store and its Lua script (pure): arguments out, replies in.

`encode_*` turn rules, costs and charges into JSON arguments (orjson writes the shortest
round-tripping form of each float; the script's cjson reads it back exactly); `decode_*` turn
the script's reply, one newline-separated string (numbers as ``%.17g``, also exact; an empty
token is a missing value), back into the core's value types. One string each way keeps the
per-element work of redis-py and of Lua off the hot path. The layout is documented at the top
of ``lua/limits.lua``; both sides change together.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import NamedTuple

import orjson

from fleetgate.limits import core
from fleetgate.limits.rules import (
    DIMENSIONS,
    Charge,
    Costs,
    Decision,
    KeyState,
    Rule,
    RuleStatus,
    Settlement,
)

Reply = Sequence[bytes]
SEPARATOR = "\n"

DIMENSION_NUMBER = {dimension: index + 1 for index, dimension in enumerate(DIMENSIONS)}
LOG = logging.getLogger("fleetgate.limits")


def _name(text: str) -> str:
    if not text or SEPARATOR in text or text != text.strip():
        raise ValueError(f"a limit rule or multiplier name must be one word, got {text!r}")
    return text


def encode_rule(rule: Rule) -> list[object]:
    """One rule as the script reads it (fields, kind, numbers, flags, peak spans, names)."""
    return [
        _name(rule.field_a),
        _name(rule.field_b),
        rule.kind,
        DIMENSION_NUMBER[rule.dimension],
        float(rule.capacity),
        float(rule.rate),
        float(rule.period),
        float(rule.phase),
        rule.floor_to_hour,
        rule.overage,
        rule.shadow,
        float(rule.peak_factor),
        [float(edge) for span in rule.peak_spans for edge in span],
        [_name(name) for name in rule.multiplier_keys],
    ]


def encode_rules(rules: Sequence[Rule]) -> bytes:
    """Every rule, as one JSON argument."""
    return orjson.dumps([encode_rule(rule) for rule in rules])


def _finite(value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a limit cost must be a finite number, got {value!r}")
    return number


def encode_costs(costs: Costs, charges: Sequence[Charge] = ()) -> bytes:
    """The four costs in `DIMENSIONS` order and the charges to settle, as one JSON argument."""
    amounts = [_finite(costs.of(dimension)) for dimension in DIMENSIONS]
    rows = [
        [charge.rule_index, float(charge.amount), float(charge.factor), float(charge.period_start)]
        for charge in charges
    ]
    return orjson.dumps([amounts, rows])


NO_COSTS = encode_costs(Costs())


def split_reply(reply: object) -> list[bytes]:
    """The tokens of one script reply."""
    if not isinstance(reply, bytes):
        raise ValueError(f"unexpected reply from the limits script: {reply!r:.200}")
    return reply.split(b"\n")


def multiplier_names(rules: Sequence[Rule]) -> list[str]:
    """The distinct multiplier names of `rules`, in the order the script reads them."""
    names: dict[str, None] = {}
    for rule in rules:
        for name in rule.multiplier_keys:
            names.setdefault(name, None)
    return list(names)


class Header(NamedTuple):
    """What every reply starts with: the time used, the stored fields before the operation and
    the multipliers read; `next` is where the operation's own outcome starts."""

    now: float
    state: KeyState
    multipliers: dict[str, float]
    next: int


def _text(value: bytes) -> str:
    if not value:
        raise ValueError("the limits script replied with a missing value")
    return value.decode()


def _number(value: bytes) -> float:
    if not value:
        raise ValueError("the limits script replied with a missing number")
    return float(value)


def decode_header(reply: Reply, rules: Sequence[Rule]) -> Header:
    """The common start of every reply."""
    state: KeyState = {}
    position = 1
    for rule in rules:
        for name in (rule.field_a, rule.field_b):
            value = reply[position]
            if value:
                state[name] = float(value)
            position += 1
    multipliers: dict[str, float] = {}
    for name in multiplier_names(rules):
        value = reply[position]
        if value:
            multipliers[name] = float(value)
        position += 1
    return Header(_number(reply[0]), state, multipliers, position)


def _indexes(reply: Reply, position: int) -> tuple[tuple[int, ...], int]:
    count = int(_number(reply[position]))
    found = tuple(int(_number(reply[position + 1 + k])) for k in range(count))
    return found, position + 1 + count


def _updates(reply: Reply, position: int) -> tuple[KeyState, int]:
    count = int(_number(reply[position]))
    updates: KeyState = {}
    for k in range(count):
        base = position + 1 + 2 * k
        updates[_text(reply[base])] = _number(reply[base + 1])
    return updates, position + 1 + 2 * count


class Disagreement(ValueError):
    """The script and the Python core reached different decisions on the same numbers."""


def decode_admission(
    reply: Reply, rules: Sequence[Rule], costs: Costs, full: bool = False
) -> Decision:
    """The decision the script applied. The core explains it (statuses, retry-after, charges)
    from the numbers the script read; with `full`, every figure is the script's own."""
    header = decode_header(reply, rules)
    admitted = reply[header.next] == b"1"
    reference = core.decide(rules, header.state, header.multipliers, costs, header.now)
    if reference.admitted != admitted:
        LOG.error(
            "limits: the Redis script %s a request the Python core %s (fields %s)",
            "admitted" if admitted else "refused",
            "admits" if reference.admitted else "refuses",
            sorted(header.state),
        )
        raise Disagreement("the limits script and the Python core disagree")
    if not full:
        return reference
    position = header.next
    on_overage = reply[position + 1] == b"1"
    retry_after = _number(reply[position + 2])
    blocking, position = _indexes(reply, position + 3)
    shadow_refused, position = _indexes(reply, position)
    count = int(_number(reply[position]))
    charges = []
    for k in range(count):
        base = position + 1 + 4 * k
        charges.append(
            Charge(
                int(_number(reply[base])),
                _number(reply[base + 1]),
                _number(reply[base + 2]),
                _number(reply[base + 3]),
            )
        )
    updates, _ = _updates(reply, position + 1 + 4 * count)
    return Decision(
        admitted,
        reference.statuses,
        tuple(charges),
        updates,
        retry_after,
        blocking,
        shadow_refused,
        on_overage,
        header.now,
    )


def decode_settlement(
    reply: Reply,
    rules: Sequence[Rule],
    charges: Sequence[Charge],
    actual: Costs,
    full: bool = False,
) -> Settlement:
    """The settlement the script applied (with `full`: its own figures; else the core's on the
    numbers the script read)."""
    header = decode_header(reply, rules)
    if not full:
        return core.settle(rules, header.state, charges, actual, header.now)
    updates, position = _updates(reply, header.next)
    adjustments = tuple(_number(reply[position + k]) for k in range(len(charges)))
    return Settlement(updates, adjustments, header.now)


def decode_snapshot(reply: Reply, rules: Sequence[Rule]) -> tuple[RuleStatus, ...]:
    """Every rule's status at the `now` the script was given."""
    header = decode_header(reply, rules)
    return core.snapshot(rules, header.state, header.multipliers, header.now)
