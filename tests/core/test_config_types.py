"""The shared config helpers: bounded numbers, key paths, validation and duplicate-id reports."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from fleetgate.config_types import (
    Frozen,
    PositiveInt,
    PositiveShare,
    duplicate_ids,
    format_validation_error,
    key_path,
    number_in_range,
)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (0.0, False),
        (1e-9, True),
        (0.5, True),
        (1.0, True),
        (1.5, False),
        (math.nan, False),
        (True, False),
        ("0.5", False),
        (None, False),
    ],
)
def test_number_in_range_honours_open_and_closed_ends(value: Any, accepted: bool) -> None:
    check = number_in_range("a share above 0 and at most 1", low=0, high=1, low_open=True)
    if accepted:
        assert check(value) == value
    else:
        with pytest.raises(PydanticCustomError, match="expected a share above 0 and at most 1"):
            check(value)


def test_integer_ranges_take_whole_floats_only() -> None:
    hour = number_in_range("an hour", low=0, high=24, integer=True)
    assert hour(3.0) == 3 and isinstance(hour(3.0), int)
    assert hour(24) == 24
    for bad in (3.5, 25, -1, math.inf):
        with pytest.raises(PydanticCustomError, match="expected an hour"):
            hour(bad)


def test_key_paths_read_like_yaml() -> None:
    assert key_path(("sites", 1, "pools", 0, "gpus")) == "sites[1].pools[0].gpus"
    assert key_path((2, "subscribers"), prefix="plans") == "plans[2].subscribers"
    assert key_path(()) == "(top level)"


class _Pool(Frozen):
    gpus: PositiveInt
    share: PositiveShare = 1.0
    name: str = "pool"
    replicas: int = 1


def test_validation_errors_list_every_key_path_with_what_was_expected() -> None:
    with pytest.raises(ValidationError) as caught:
        _Pool.model_validate({"gpus": "lots", "share": 2, "name": 5, "replicas": "x", "extra": 1})
    message = format_validation_error(caught.value, "fleet.yaml", prefix="pools[0]")
    assert message.splitlines() == [
        "fleet.yaml: invalid settings",
        "  pools[0].gpus: expected a positive integer, got 'lots'",
        "  pools[0].share: expected a share above 0 and at most 1, got 2",
        "  pools[0].name: expected a string, got 5",
        "  pools[0].replicas: expected an integer, got 'x'",
        "  pools[0].extra: unknown key",
    ]


def test_duplicate_ids_name_every_repeat() -> None:
    assert duplicate_ids("sites", ["a", "b", "a", "a"]) == [
        "sites[2].id: duplicate id 'a'",
        "sites[3].id: duplicate id 'a'",
    ]
