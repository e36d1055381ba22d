"""Fleet files: the examples load, and every mistake names its key path and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleetgate.errors import ConfigurationError
from fleetgate.settings import load_settings, settings_from_mapping

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def base() -> dict[str, Any]:
    return {
        "models": [{"id": "m", "family": "sonnet"}],
        "sites": [
            {"id": "a", "provider": "p", "owner": "o", "location": "x-us", "power_mw": 5},
            {
                "id": "b",
                "provider": "p",
                "owner": "o",
                "location": "y-us",
                "power_mw": 5,
                "pools": [
                    {
                        "id": "pool",
                        "gpu": "h100-sxm",
                        "gpus": 8,
                        "model": "m",
                        "backends": [{"url": "http://127.0.0.1:9"}],
                    }
                ],
            },
        ],
        "tenants": [{"id": "t", "plan": "pro"}],
    }


@pytest.mark.parametrize("name", ["fleet-small.yaml", "fleet-colossus.yaml"])
def test_examples_load(name: str) -> None:
    settings = load_settings(EXAMPLES / name)
    assert settings.sites


def test_colossus_example_is_the_story_fleet() -> None:
    settings = load_settings(EXAMPLES / "fleet-colossus.yaml")
    colossus = next(site for site in settings.sites if site.owner == "xai")
    gpus = {pool.gpu for pool in colossus.pools}
    assert sum(pool.gpus for pool in colossus.pools) == 220_000
    assert {"h100-sxm", "h200", "gb200"} <= gpus
    assert 290 <= colossus.power_mw <= 340
    assert all(t.id != "xai" for t in settings.tenants)


def test_settings_are_frozen() -> None:
    settings = settings_from_mapping(base())
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        settings.sites[0].power_mw = 1  # type: ignore[misc]


def mutate(path: list[Any], value: Any) -> dict[str, Any]:
    data = base()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["sites", 1, "pools", 0, "gpus"],
            "lots",
            "sites[1].pools[0].gpus: expected a positive integer, got 'lots'",
        ),
        (
            ["sites", 1, "pools", 0, "gpus"],
            -4,
            "sites[1].pools[0].gpus: expected a positive integer, got -4",
        ),
        (["sites", 0, "power_mw"], 0, "sites[0].power_mw: expected a positive number, got 0"),
        (["sites", 0, "pue"], 0.9, "sites[0].pue: expected a PUE of at least 1.0, got 0.9"),
        (
            ["sites", 0, "kind"],
            "lunar",
            "sites[0].kind: expected one of 'terrestrial' or 'orbital'",
        ),
        (
            ["sites", 1, "pools", 0, "backends", 0, "url"],
            "ftp://x",
            "sites[1].pools[0].backends[0].url: expected an http:// or https:// URL",
        ),
        (
            ["sites", 1, "pools", 0, "model"],
            "nope",
            "sites[1].pools[0].model: expected one of ['m'], got 'nope'",
        ),
        (["sites", 0, "colour"], "red", "sites[0].colour: unknown key"),
        (["tenants", 0, "tier"], "tier-4", "tenants[0]: give a plan or a tier, not both"),
    ],
)
def test_errors_name_the_key_path(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings_from_mapping(mutate(path, value))
    assert message in caught.value.message


def test_missing_key_and_duplicates() -> None:
    data = base()
    del data["sites"][0]["owner"]
    data["models"].append({"id": "m", "family": "opus"})
    with pytest.raises(ConfigurationError) as caught:
        settings_from_mapping(data)
    assert "sites[0].owner: required key is missing" in caught.value.message
    data = base()
    data["models"].append({"id": "m", "family": "opus"})
    with pytest.raises(ConfigurationError) as caught:
        settings_from_mapping(data)
    assert "models[1].id: duplicate id 'm'" in caught.value.message


def test_unreadable_and_non_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: [\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_settings(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigurationError, match="expected a mapping"):
        load_settings(bad)
